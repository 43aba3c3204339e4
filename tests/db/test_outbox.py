"""The transactional outbox and the inbox, on SQLite and on Postgres."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest
from sqlalchemy import func, select

from libs.common.bus import BusOptions, InMemoryBus, RabbitMQBus
from libs.common.db.database import Database, request_commit_hooks
from libs.common.events import Envelope
from libs.common.events.contracts import ProjectCreated, RunStopRequested
from libs.common.events.topology import Binding
from libs.common.inbox import idempotent, idempotent_batch
from libs.common.outbox import Outbox, OutboxRelay
from libs.common.runtime import background
from services.api.app import MIGRATIONS
from services.api.db.tables import Project, inbox, outbox
from tests.conftest import Infra
from tests.support.databases import service_database
from tests.support.proxy import CuttableProxy
from tests.support.waiting import eventually

TOPOLOGY = (Binding("probe", "projects", (ProjectCreated.routing_key(),)),)


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, infra: Infra) -> AsyncIterator[Database]:
    async with service_database(infra, request.param, "api", MIGRATIONS) as database:
        yield database


async def add_project(db: Database, box: Outbox, name: str, *, fail: bool = False) -> Envelope:
    from libs.common.ids import new_id, utcnow

    async with db.session() as session, session.begin():
        project = Project(
            uuid=new_id(),
            owner="default",
            name=name,
            user="t",
            tags=[],
            is_public=False,
            settings={},
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        session.add(project)
        await session.flush()
        envelope = await box.emit(
            session,
            ProjectCreated(uuid=project.uuid, owner="default", name=name),
            subject=f"project:default/{name}",
        )
        if fail:
            raise RuntimeError("the change fails after the event was written")
    return envelope


async def count(db: Database, table: object) -> int:
    async with db.session() as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]


async def test_event_commits_and_rolls_back_with_its_change(db: Database) -> None:
    box = Outbox(outbox)
    await add_project(db, box, "kept")
    with pytest.raises(RuntimeError):
        await add_project(db, box, "lost", fail=True)
    assert await count(db, Project) == 1
    assert await count(db, outbox) == 1


async def test_relay_publishes_in_order_and_empties_the_outbox(db: Database) -> None:
    bus = InMemoryBus(BusOptions(), TOPOLOGY)
    await bus.start()
    received: list[str] = []

    async def handler(e: Envelope) -> None:
        received.append(e.open(ProjectCreated).name)

    await bus.subscribe("probe", "projects", handler)
    box = Outbox(outbox)
    relay = OutboxRelay(db, box, bus, poll_interval=60)
    for i in range(5):
        await add_project(db, box, f"p{i}")
    assert await relay.drain() == 5
    await eventually(lambda: len(received) == 5)
    assert received == [f"p{i}" for i in range(5)]
    assert await count(db, outbox) == 0
    await bus.close()


async def test_relay_is_woken_by_the_commit_not_the_timer(db: Database) -> None:
    bus = InMemoryBus(BusOptions(), TOPOLOGY)
    await bus.start()
    received: list[Envelope] = []

    async def handler(e: Envelope) -> None:
        received.append(e)

    await bus.subscribe("probe", "projects", handler)
    box = Outbox(outbox)
    relay = OutboxRelay(db, box, bus, poll_interval=60)
    async with background(relay.run(), "relay"):
        await asyncio.sleep(0.1)
        envelope = await add_project(db, box, "woken")
        await eventually(lambda: received == [envelope], timeout=3)
    await bus.close()


async def test_events_wait_while_rabbitmq_is_down_then_flow(db: Database, infra: Infra) -> None:
    options = BusOptions(prefix=infra.prefix, retry_delay=0.2)
    proxy = CuttableProxy("127.0.0.1", 5672)
    await proxy.start()
    publisher = RabbitMQBus(
        f"amqp://guest:guest@127.0.0.1:{proxy.port}/", options, TOPOLOGY, publish_timeout=1.0
    )
    consumer = RabbitMQBus(infra.rabbitmq_url, options, TOPOLOGY)
    await publisher.start()
    await consumer.start()
    received: list[str] = []

    async def handler(e: Envelope) -> None:
        received.append(e.open(ProjectCreated).name)

    await consumer.subscribe("probe", "projects", handler)
    box = Outbox(outbox)
    relay = OutboxRelay(db, box, publisher, poll_interval=0.2, max_backoff=0.5)
    try:
        async with background(relay.run(), "relay"):
            await add_project(db, box, "before")
            await eventually(lambda: received == ["before"])
            proxy.cut()
            for i in range(10):
                await add_project(db, box, f"during{i}")
            await asyncio.sleep(1.5)
            assert await count(db, outbox) == 10
            assert received == ["before"]
            proxy.restore()
            await eventually(lambda: len(set(received)) == 11, timeout=30)
            await eventually(lambda: _empty(db), timeout=10)
        assert sorted(set(received)) == sorted(["before", *[f"during{i}" for i in range(10)]])
    finally:
        await publisher.close()
        await consumer.delete_topology()
        await consumer.close()
        await proxy.close()


async def _empty(db: Database) -> bool:
    return await count(db, outbox) == 0


async def test_inbox_handles_each_event_once(db: Database) -> None:
    calls: list[Envelope] = []
    failures = {"left": 1}

    async def handler(session: object, envelope: Envelope) -> None:
        calls.append(envelope)
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("first attempt fails after doing its work")

    handle = idempotent(db, inbox, "probe.handler", handler)  # type: ignore[arg-type]
    event = Envelope.wrap(RunStopRequested(uuid=uuid4()), subject="run:x")
    with pytest.raises(RuntimeError):
        await handle(event)
    await handle(event)  # the failed attempt recorded nothing: it runs again
    await handle(event)  # a redelivery of a handled event: skipped
    assert len(calls) == 2
    assert await count(db, inbox) == 1


async def test_commit_hooks_run_for_the_topics_a_transaction_asked_for(db: Database) -> None:
    calls: list[str] = []
    db.on_commit(lambda: calls.append("any"))
    db.on_commit(lambda: calls.append("dispatch"), topic="dispatch")
    db.on_commit(lambda: calls.append("monitor"), topic="monitor")

    async def commit(*topics: str, untargeted: bool = False, fail: bool = False) -> None:
        with contextlib.suppress(RuntimeError):
            async with db.session() as session, session.begin():
                if untargeted:
                    request_commit_hooks(session)
                if topics:
                    request_commit_hooks(session, *topics)
                if fail:
                    raise RuntimeError("rolled back")

    await commit()
    assert calls == []
    await commit("dispatch")
    assert calls == ["dispatch"]
    await commit("monitor", untargeted=True)
    assert calls == ["dispatch", "any", "monitor"]
    await commit("dispatch", "monitor", fail=True)
    assert calls == ["dispatch", "any", "monitor"]


async def test_idempotent_batch_is_all_or_nothing_and_skips_handled_events(db: Database) -> None:
    calls: list[Envelope] = []
    failing: set[object] = set()

    async def handler(session: object, envelope: Envelope) -> None:
        calls.append(envelope)
        if envelope.id in failing:
            raise RuntimeError("this event fails after the others' work")

    one = idempotent(db, inbox, "probe.handler", handler)  # type: ignore[arg-type]
    several = idempotent_batch(db, inbox, "probe.handler", handler)  # type: ignore[arg-type]
    events = [Envelope.wrap(RunStopRequested(uuid=uuid4()), subject="run:x") for _ in range(3)]
    await one(events[0])
    failing.add(events[2].id)
    with pytest.raises(RuntimeError):
        await several(events)
    assert await count(db, inbox) == 1  # the failed batch recorded nothing
    failing.clear()
    calls.clear()
    await several(events)
    assert calls == events[1:]  # the first was handled already
    assert await count(db, inbox) == 3
