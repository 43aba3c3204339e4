"""A dispatcher reads only the heads of each project's line; it must decide as if it read all."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from libs.common.db.database import Database
from libs.common.lifecycle import RunStatus
from services.scheduler.app import MIGRATIONS
from services.scheduler.db import queries
from services.scheduler.db.tables import Execution, QueueDefinition, Quota
from services.scheduler.domain.decisions import plan
from services.scheduler.domain.situation import QUOTA_MARGIN, DefinitionsCache, load_situation
from services.scheduler.settings import SchedulerSettings
from tests.conftest import Infra

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
async def db(infra: Infra) -> AsyncIterator[Database]:
    settings = infra.settings(SchedulerSettings)
    database = Database(
        settings.resolved_database_url, schema=settings.resolved_schema, migrations=MIGRATIONS
    )
    await database.connect()
    yield database
    await database.dispose()


def execution(i: int, status: RunStatus, rng: random.Random) -> dict[str, Any]:
    return {
        "uuid": uuid4(), "owner": "default", "project": f"p{rng.randrange(6)}",
        "user": f"u{rng.randrange(3)}", "name": None, "namespace": "ganglion",
        "queue": rng.choice(["default", "gpu", "batch"]), "priority": rng.randrange(3),
        "cpu": rng.choice([0.5, 1.0, 4.0]), "memory": 0.0, "gpu": rng.choice([0.0, 0.0, 1.0]),
        "max_retries": 0, "attempt": 0, "content": {}, "submission": 1, "status": status.value,
        "status_conditions": [], "queued_at": T0 + timedelta(seconds=i), "stop_requested": False,
        "deleted": False, "created_at": T0, "updated_at": T0,
    }  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_heads_decide_as_everything_does(db: Database, seed: int) -> None:
    rng = random.Random(seed)
    queued = [execution(i, RunStatus.QUEUED, rng) for i in range(3000)]
    running = [execution(i, RunStatus.RUNNING, rng) for i in range(rng.randrange(5, 25))]
    async with db.session() as session, session.begin():
        await session.execute(Execution.__table__.insert(), queued + running)
        session.add(QueueDefinition(name="gpu", priority=5, concurrency=4))
        session.add(QueueDefinition(name="batch", priority=0, concurrency=12))
        session.add(Quota(kind="project", subject="p1", runs=3, cpu=4.0, share=1.0))
        session.add(Quota(kind="project", subject="p2", runs=None, cpu=None, share=3.0))
        session.add(Quota(kind="user", subject="u0", runs=None, gpu=2.0, share=1.0))
    settings = SchedulerSettings(concurrency=30, capacity_cpu=40.0)
    async with db.read_session() as session:
        heads = await load_situation(session, settings, DefinitionsCache(ttl=60))
        everything = await load_situation(session, settings, everything=True)
    assert len(everything.waiting) == len(queued)
    # Each project's line per queue is cut to at most what could start plus the margin.
    assert len(heads.waiting) <= 6 * 3 * (30 + QUOTA_MARGIN) < len(queued)
    assert plan(heads).start == plan(everything).start
    assert plan(heads).start  # the case is not vacuous


async def test_full_queues_read_no_queued_rows(db: Database) -> None:
    rng = random.Random(7)
    async with db.session() as session, session.begin():
        rows = [execution(i, RunStatus.RUNNING, rng) for i in range(4)]
        rows += [execution(i, RunStatus.QUEUED, rng) for i in range(50)]
        await session.execute(Execution.__table__.insert(), rows)
    settings = SchedulerSettings(concurrency=4, capacity_runs=4)
    async with db.read_session() as session:
        situation = await load_situation(session, settings)
        assert situation.waiting == [] and len(situation.active) == 4
        assert len(await queries.queued(session)) == 50
        assert plan(situation).start == []
