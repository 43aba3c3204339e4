"""The bus on RabbitMQ (aio-pika).

Topology, all durable and namespaced by `options.prefix`:
- one topic exchange per publishing service, `<prefix>.<service>`, routing key `<name>.v<N>`;
- one queue per handler, `<prefix>.<consumer>.<handler>`, bound to the keys it consumes, whose
  rejected messages dead-letter into `<prefix>.retry` (direct) and from there into
  `<queue>.retry`, which holds them for `retry_delay` and dead-letters them back: a delayed retry
  that the broker performs, so a crash in between loses nothing;
- `<queue>.dead`, where a message lands after `max_deliveries` failed deliveries (counted by the
  broker in the `x-death` header).
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustConnection,
)
from pydantic import ValidationError

from libs.common.bus.base import BatchHandler, Bus, BusOptions, DeadLetter, Handler
from libs.common.events.contracts import CONTRACTS
from libs.common.events.envelope import Envelope
from libs.common.events.topology import TOPOLOGY, Binding

log = logging.getLogger(__name__)

_ERROR_HEADER = "x-ganglion-error"
_DELIVERIES_HEADER = "x-ganglion-deliveries"


class RabbitMQBus(Bus):
    def __init__(
        self,
        url: str,
        options: BusOptions | None = None,
        topology: tuple[Binding, ...] = TOPOLOGY,
        *,
        connection_name: str = "ganglion",
        publish_timeout: float = 10.0,
    ) -> None:
        super().__init__(options, topology)
        self.url = url
        self.connection_name = connection_name
        self.publish_timeout = publish_timeout
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._consumer_channels: list[AbstractChannel] = []

    def _name(self, *parts: str) -> str:
        return ".".join((self.options.prefix, *parts))

    def _queue_arguments(self, queue: str) -> dict[str, Any]:
        return {"x-dead-letter-exchange": self._name("retry"), "x-dead-letter-routing-key": queue}

    @property
    def _publishers(self) -> set[str]:
        keys = [c.routing_key() for c in CONTRACTS]
        keys += [k for b in self.topology.values() for k in b.routing_keys]
        return {k.split(".", 1)[0] for k in keys}

    async def connect(self) -> None:
        """Connect without declaring anything (enough to delete the topology)."""
        self._connection = await aio_pika.connect_robust(
            self.url, client_properties={"connection_name": self.connection_name}
        )
        self._channel = await self._connection.channel(publisher_confirms=True)

    async def start(self) -> None:
        await self.connect()
        assert self._channel is not None
        await self._declare(self._channel)

    async def _declare(self, channel: AbstractChannel) -> None:
        retry = await channel.declare_exchange(
            self._name("retry"), aio_pika.ExchangeType.DIRECT, durable=True
        )
        for publisher in sorted(self._publishers):
            self._exchanges[publisher] = await channel.declare_exchange(
                self._name(publisher), aio_pika.ExchangeType.TOPIC, durable=True
            )
        delay_ms = max(int(self.options.retry_delay * 1000), 1)
        for binding in self.topology.values():
            name = self._name(binding.queue)
            queue = await channel.declare_queue(
                name, durable=True, arguments=self._queue_arguments(name)
            )
            for key in binding.routing_keys:
                await queue.bind(self._exchanges[key.split(".", 1)[0]], routing_key=key)
            waiting = await channel.declare_queue(
                f"{name}.retry",
                durable=True,
                arguments={
                    "x-message-ttl": delay_ms,
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": name,
                },
            )
            await waiting.bind(retry, routing_key=name)
            await channel.declare_queue(f"{name}.dead", durable=True)

    async def close(self) -> None:
        for channel in self._consumer_channels:
            if not channel.is_closed:
                await channel.close()
        self._consumer_channels.clear()
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
            self._channel = None

    async def publish(self, envelope: Envelope) -> None:
        if self._channel is None:
            raise RuntimeError("the bus is not started")
        exchange = self._exchanges.get(envelope.publisher)
        if exchange is None:
            raise LookupError(f"no exchange for publisher {envelope.publisher!r}")
        message = aio_pika.Message(
            body=envelope.to_bytes(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=str(envelope.id),
            type=envelope.routing_key,
            timestamp=envelope.occurred_at,
        )
        # With publisher confirms on, this returns once the broker has the message on disk.
        await exchange.publish(
            message, routing_key=envelope.routing_key, timeout=self.publish_timeout
        )

    async def subscribe(
        self, consumer: str, handler: str, callback: Handler, *, batch: BatchHandler | None = None
    ) -> None:
        # Deliveries are acknowledged one by one: `batch` is not used.
        if self._connection is None:
            raise RuntimeError("the bus is not started")
        binding = self.binding(consumer, handler)
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=self.options.prefetch)
        name = self._name(binding.queue)
        queue = await channel.declare_queue(
            name, durable=True, arguments=self._queue_arguments(name)
        )
        # aio-pika runs each delivery as its own task; the lock keeps one queue's events in order.
        lock = asyncio.Lock()
        await queue.consume(partial(self._on_message, name, callback, lock))
        self._consumer_channels.append(channel)

    async def _on_message(
        self, queue: str, callback: Handler, lock: asyncio.Lock, message: AbstractIncomingMessage
    ) -> None:
        async with lock:
            try:
                envelope = Envelope.from_bytes(message.body)
            except ValidationError as exc:
                await self._bury(queue, message, f"not an event envelope: {exc}", 1)
                return
            try:
                await callback(envelope)
            except Exception as exc:
                deliveries = self._deliveries(message, queue)
                if deliveries >= self.options.max_deliveries:
                    log.error(
                        "%s gave up on %s after %d deliveries: %r",
                        queue,
                        envelope.id,
                        deliveries,
                        exc,
                    )
                    await self._bury(queue, message, repr(exc), deliveries)
                else:
                    log.warning(
                        "%s failed on %s (delivery %d), retrying: %r",
                        queue,
                        envelope.id,
                        deliveries,
                        exc,
                    )
                    await message.reject(requeue=False)
                return
            await message.ack()

    @staticmethod
    def _deliveries(message: AbstractIncomingMessage, queue: str) -> int:
        """This delivery's number: one more than the broker's count of rejections from `queue`."""
        deaths = message.headers.get("x-death") or []
        rejected = 0
        if isinstance(deaths, list | tuple):
            for death in deaths:
                if not isinstance(death, dict):
                    continue
                if _text(death.get("queue")) == queue and _text(death.get("reason")) == "rejected":
                    count = death.get("count", 1)
                    rejected += count if isinstance(count, int) else 1
        return rejected + 1

    async def _bury(
        self, queue: str, message: AbstractIncomingMessage, error: str, deliveries: int
    ) -> None:
        assert self._channel is not None
        dead = aio_pika.Message(
            body=message.body,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message.message_id,
            type=message.type,
            headers={_ERROR_HEADER: error[:2000], _DELIVERIES_HEADER: deliveries},
        )
        try:
            await self._channel.default_exchange.publish(
                dead, routing_key=f"{queue}.dead", timeout=self.publish_timeout
            )
        except Exception:
            # Could not park it: let the broker redeliver it later rather than lose it.
            await message.reject(requeue=False)
            raise
        await message.ack()

    async def dead_letters(self, queue: str) -> list[DeadLetter]:
        if self._connection is None:
            raise RuntimeError("the bus is not started")
        name = self._name(queue)
        letters: list[DeadLetter] = []
        # Unacknowledged gets return to the queue, in order, when the channel closes.
        channel = await self._connection.channel()
        try:
            dead = await channel.declare_queue(f"{name}.dead", durable=True)
            while (message := await dead.get(no_ack=False, fail=False)) is not None:
                deliveries = message.headers.get(_DELIVERIES_HEADER, 0)
                letters.append(
                    DeadLetter(
                        body=message.body,
                        queue=queue,
                        error=_text(message.headers.get(_ERROR_HEADER)) or "",
                        deliveries=deliveries if isinstance(deliveries, int) else 0,
                    )
                )
        finally:
            await channel.close()
        return letters

    async def check(self) -> None:
        connection = self._connection
        if connection is None or connection.is_closed:
            raise RuntimeError("not connected to RabbitMQ")
        transport = connection.transport
        if not connection.connected.is_set() or transport is None or transport.connection.is_closed:
            raise RuntimeError("reconnecting to RabbitMQ")

    async def delete_topology(self) -> None:
        """Remove every queue and exchange under this bus's prefix (uninstall, tests)."""
        if self._connection is None:
            raise RuntimeError("the bus is not started")
        channel = await self._connection.channel()
        try:
            for binding in self.topology.values():
                name = self._name(binding.queue)
                for queue in (name, f"{name}.retry", f"{name}.dead"):
                    await channel.queue_delete(queue)
            for publisher in self._publishers:
                await channel.exchange_delete(self._name(publisher))
            await channel.exchange_delete(self._name("retry"))
        finally:
            await channel.close()


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode()
    return value if isinstance(value, str) else None
