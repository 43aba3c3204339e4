"""The in-process bus: the bus contract inside one event loop, for the embedded default.

Events are serialised on publish exactly as on the wire, so a payload that would not survive
RabbitMQ does not survive here either. Queues exist from `start()` on, before anyone subscribes,
and buffer what is published to them. Nothing outlives the process: durability in embedded mode
comes from each service's outbox, which keeps an event until it was published.

A handler given a `batch` handler gets the first deliveries waiting in its queue together (up to
`MAX_BATCH`), so a consumer that falls behind catches up in a few transactions instead of one per
event; one event alone goes to the plain handler, so batching adds no delay.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from libs.common.bus.base import BatchHandler, Bus, BusOptions, DeadLetter, Handler
from libs.common.events.envelope import Envelope
from libs.common.events.topology import TOPOLOGY, Binding, topic_matches

log = logging.getLogger(__name__)

MAX_BATCH = 100


@dataclass
class _Queue:
    binding: Binding
    items: asyncio.Queue[tuple[bytes, int]] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None
    busy: bool = False
    pending_retries: int = 0


class InMemoryBus(Bus):
    def __init__(
        self, options: BusOptions | None = None, topology: tuple[Binding, ...] = TOPOLOGY
    ) -> None:
        super().__init__(options, topology)
        self._queues: dict[str, _Queue] = {}
        self._dead: dict[str, list[DeadLetter]] = {}
        self._retries: set[asyncio.TimerHandle] = set()
        self._closed = False

    async def start(self) -> None:
        for name, binding in self.topology.items():
            self._queues.setdefault(name, _Queue(binding))

    async def close(self) -> None:
        self._closed = True
        for timer in self._retries:
            timer.cancel()
        workers = [q.worker for q in self._queues.values() if q.worker is not None]
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)

    async def publish(self, envelope: Envelope) -> None:
        if self._closed:
            raise RuntimeError("the bus is closed")
        data = envelope.to_bytes()
        for queue in self._queues.values():
            if any(topic_matches(p, envelope.routing_key) for p in queue.binding.routing_keys):
                queue.items.put_nowait((data, 1))

    async def subscribe(
        self, consumer: str, handler: str, callback: Handler, *, batch: BatchHandler | None = None
    ) -> None:
        binding = self.binding(consumer, handler)
        queue = self._queues.setdefault(binding.queue, _Queue(binding))
        if queue.worker is not None:
            raise RuntimeError(f"{binding.queue} already has a handler in this process")
        queue.worker = asyncio.create_task(
            self._work(queue, callback, batch), name=f"bus:{binding.queue}"
        )

    async def _work(self, queue: _Queue, callback: Handler, batch: BatchHandler | None) -> None:
        while True:
            items = [await queue.items.get()]
            while batch and not queue.items.empty() and len(items) < MAX_BATCH:
                items.append(queue.items.get_nowait())
            queue.busy = True
            try:
                # Retries go alone, so that a failing event does not take others down with it.
                if batch and len(items) > 1 and all(delivery == 1 for _, delivery in items):
                    await self._deliver_batch(queue, callback, batch, items)
                else:
                    for data, delivery in items:
                        await self._deliver(queue, callback, data, delivery)
            finally:
                queue.busy = False
                for _ in items:
                    queue.items.task_done()

    async def _deliver_batch(
        self,
        queue: _Queue,
        callback: Handler,
        batch: BatchHandler,
        items: list[tuple[bytes, int]],
    ) -> None:
        try:
            await batch([Envelope.from_bytes(data) for data, _ in items])
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # All or nothing: nothing of the batch stayed; each event is delivered alone.
            log.info(
                "%s: a batch of %d failed (%r); one by one", queue.binding.queue, len(items), exc
            )
            for data, delivery in items:
                await self._deliver(queue, callback, data, delivery)

    async def _deliver(self, queue: _Queue, callback: Handler, data: bytes, delivery: int) -> None:
        envelope = Envelope.from_bytes(data)
        try:
            await callback(envelope)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            name = queue.binding.queue
            if delivery >= self.options.max_deliveries:
                log.error(
                    "%s gave up on %s after %d deliveries: %r", name, envelope.id, delivery, exc
                )
                self._dead.setdefault(name, []).append(DeadLetter(data, name, repr(exc), delivery))
                return
            log.warning(
                "%s failed on %s (delivery %d), retrying: %r", name, envelope.id, delivery, exc
            )
            self._retry_later(queue, data, delivery + 1)

    def _retry_later(self, queue: _Queue, data: bytes, delivery: int) -> None:
        queue.pending_retries += 1

        def requeue() -> None:
            self._retries.discard(timer)
            queue.pending_retries -= 1
            if not self._closed:
                queue.items.put_nowait((data, delivery))

        timer = asyncio.get_running_loop().call_later(self.options.retry_delay, requeue)
        self._retries.add(timer)

    async def dead_letters(self, queue: str) -> list[DeadLetter]:
        return list(self._dead.get(queue, []))

    async def check(self) -> None:
        if self._closed:
            raise RuntimeError("the bus is closed")

    def idle(self) -> bool:
        """Nothing queued, in flight or waiting for a retry in a queue that has a handler."""
        return all(
            q.items.empty() and not q.busy and q.pending_retries == 0
            for q in self._queues.values()
            if q.worker is not None
        )
