"""What a service's lifespan opens, in one place: its database, the bus, the outbox relay and the
coordinator. Everything is entered on an `AsyncExitStack` and closed in reverse order."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Table

from libs.common.bus.base import Bus
from libs.common.bus.memory import InMemoryBus
from libs.common.bus.rabbitmq import RabbitMQBus
from libs.common.coordination import Coordinator, LocalCoordinator, RedisCoordinator
from libs.common.db.database import Database
from libs.common.inbox import SessionHandler, idempotent, idempotent_batch
from libs.common.outbox import Outbox, OutboxRelay
from libs.common.settings import ServiceSettings

log = logging.getLogger(__name__)


@asynccontextmanager
async def background(
    coro: Coroutine[Any, Any, None], name: str
) -> AsyncIterator[asyncio.Task[None]]:
    """Run `coro` as a task for the lifetime of the context; a crash is logged, not swallowed."""
    task = asyncio.create_task(coro, name=name)

    def _report(done: asyncio.Task[None]) -> None:
        if not done.cancelled() and done.exception() is not None:
            log.error("background task %s crashed", name, exc_info=done.exception())

    task.add_done_callback(_report)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def make_bus(settings: ServiceSettings) -> Bus:
    if settings.rabbitmq_url:
        return RabbitMQBus(
            settings.rabbitmq_url,
            settings.bus_options,
            connection_name=f"ganglion-{settings.SERVICE}",
        )
    return InMemoryBus(settings.bus_options)


def make_coordinator(settings: ServiceSettings) -> Coordinator:
    if settings.redis_url:
        return RedisCoordinator(settings.redis_url, prefix=settings.bus_prefix)
    return LocalCoordinator()


@dataclass
class Runtime:
    """A service's open connections. Routes and consumers reach them through typed deps."""

    settings: ServiceSettings
    db: Database
    bus: Bus
    outbox: Outbox
    relay: OutboxRelay
    inbox: Table
    coordinator: Coordinator
    stack: AsyncExitStack
    extras: dict[str, object] = field(default_factory=dict)

    @property
    def service(self) -> str:
        return self.settings.SERVICE

    async def consume(self, handler: str, fn: SessionHandler) -> None:
        """Handle the queue `<service>.<handler>`, once per event id, in one transaction (on the
        in-process bus, events waiting together share one)."""
        name = f"{self.service}.{handler}"
        await self.bus.subscribe(
            self.service,
            handler,
            idempotent(self.db, self.inbox, name, fn),
            batch=idempotent_batch(self.db, self.inbox, name, fn),
        )

    def settle_heap(self) -> None:
        """Call once the service has started. What startup allocated (modules, apps, pools) lives
        as long as the service; moved out of the collector's sight, a full collection no longer
        walks all of it, which paused the event loop for 100-200 ms at random moments. Released
        at shutdown, so that a process starting services over and over (tests) does not keep
        their garbage for ever."""
        gc.collect()
        gc.freeze()
        self.stack.callback(gc.unfreeze)

    async def run_in_background(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        await self.stack.enter_async_context(background(coro, f"{self.service}:{name}"))

    async def readiness(self) -> dict[str, str]:
        """What each dependency says; empty strings are healthy."""
        checks: dict[str, Callable[[], Awaitable[None]]] = {
            "database": self.db.ping,
            "bus": self.bus.check,
            "coordinator": self.coordinator.ping,
        }
        report: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await asyncio.wait_for(check(), timeout=3)
                report[name] = ""
            except Exception as exc:
                report[name] = repr(exc)
        return report


async def open_runtime(
    stack: AsyncExitStack,
    settings: ServiceSettings,
    *,
    migrations: Path,
    outbox_table: Table,
    inbox_table: Table,
    bus: Bus | None = None,
    coordinator: Coordinator | None = None,
) -> Runtime:
    """Connect, migrate, start the outbox relay. A `bus` or `coordinator` passed in belongs to
    the caller (embedded mode shares one of each between services) and is not closed here."""
    db = Database(
        settings.resolved_database_url, schema=settings.resolved_schema, migrations=migrations
    )
    await db.connect()
    stack.push_async_callback(db.dispose)
    if bus is None:
        bus = make_bus(settings)
        await bus.start()
        stack.push_async_callback(bus.close)
    if coordinator is None:
        coordinator = make_coordinator(settings)
        stack.push_async_callback(coordinator.close)
    outbox = Outbox(outbox_table)
    relay = OutboxRelay(db, outbox, bus)
    runtime = Runtime(settings, db, bus, outbox, relay, inbox_table, coordinator, stack)
    await runtime.run_in_background(relay.run(), "outbox-relay")
    return runtime
