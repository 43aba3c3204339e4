"""The bus: one small interface, an in-process and a RabbitMQ implementation."""

from libs.common.bus.base import Bus, BusOptions, DeadLetter, Handler
from libs.common.bus.memory import InMemoryBus
from libs.common.bus.rabbitmq import RabbitMQBus

__all__ = ["Bus", "BusOptions", "DeadLetter", "Handler", "InMemoryBus", "RabbitMQBus"]
