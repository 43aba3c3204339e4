"""The bus contract, shared by every implementation and proven by one conformance suite.

- `publish` returns only once the event is held durably by the transport (a confirmed publish
  on RabbitMQ); it raises if it cannot, and the caller (the outbox relay) tries again later.
- Delivery is at least once. A handler that returns has consumed the event; one that raises gets
  it again after `retry_delay`, and after `max_deliveries` failed deliveries the event is moved
  to the queue's dead letters, kept for inspection.
- Each handler has its own queue; within one queue, events are handled one at a time in order.
  Replicas of a service attach to the same queue and compete for its events.
- Handlers must be idempotent (see `libs.common.inbox`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from libs.common.events.envelope import Envelope
from libs.common.events.topology import TOPOLOGY, Binding

Handler = Callable[[Envelope], Awaitable[None]]
BatchHandler = Callable[[list[Envelope]], Awaitable[None]]
"""Handles several events of one queue, in order, all or nothing (one transaction)."""


@dataclass(frozen=True)
class BusOptions:
    prefix: str = "ganglion"
    """Namespaces every exchange and queue, so several installations (or tests) share a broker."""
    max_deliveries: int = 5
    retry_delay: float = 2.0
    prefetch: int = 32


@dataclass(frozen=True)
class DeadLetter:
    body: bytes
    """The message as it arrived, decodable or not."""
    queue: str
    error: str
    deliveries: int

    @property
    def envelope(self) -> Envelope | None:
        try:
            return Envelope.from_bytes(self.body)
        except ValueError:
            return None


class Bus(ABC):
    def __init__(self, options: BusOptions | None = None, topology: tuple[Binding, ...] = TOPOLOGY):
        self.options = options or BusOptions()
        self.topology = {b.queue: b for b in topology}

    def binding(self, consumer: str, handler: str) -> Binding:
        queue = f"{consumer}.{handler}"
        try:
            return self.topology[queue]
        except KeyError:
            raise LookupError(f"no queue {queue!r} in the topology") from None

    @abstractmethod
    async def start(self) -> None:
        """Connect and declare the whole topology."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def publish(self, envelope: Envelope) -> None: ...

    @abstractmethod
    async def subscribe(
        self, consumer: str, handler: str, callback: Handler, *, batch: BatchHandler | None = None
    ) -> None:
        """Start handling the events of the queue `<consumer>.<handler>`. With `batch`, a bus may
        hand it several waiting events at once; if it fails, each goes to `callback` alone."""

    @abstractmethod
    async def dead_letters(self, queue: str) -> list[DeadLetter]:
        """The events this queue gave up on, oldest first, without removing them."""

    @abstractmethod
    async def check(self) -> None:
        """Raise if the transport cannot take a publish right now (for readiness probes)."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
