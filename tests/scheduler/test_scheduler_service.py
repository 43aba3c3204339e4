"""The scheduler service on Postgres, RabbitMQ and Redis, fed events as the api sends them."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from libs.common.events import Envelope
from libs.common.events.contracts import (
    RunDeleted,
    RunStopRequested,
    RunSubmitted,
    RunTransferred,
    SchedulerRunStatusChanged,
)
from libs.common.ids import utcnow
from libs.common.lifecycle import ACTIVE, RunStatus
from libs.common.runtime import Runtime
from libs.common.spec import RunContext, compile_operation, load_operation
from services.scheduler.app import create_app
from services.scheduler.db import queries
from services.scheduler.domain.status import claim
from services.scheduler.loops.monitor import Monitor
from services.scheduler.settings import SchedulerSettings
from tests.conftest import Infra
from tests.support.apps import publish, publish_raw, published, serve
from tests.support.waiting import eventually


@pytest.fixture
async def scheduler(infra: Infra) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    settings = infra.settings(
        SchedulerSettings,
        poll_interval=0.1,
        concurrency=2,
        stop_grace_period=1.0,
        claim_timeout=1.0,
    )
    app = create_app(settings)
    async with serve(app) as client:
        yield client, app


def content(code: str | None, **container: Any) -> dict[str, Any]:
    command = {"command": [sys.executable, "-c", code]} if code is not None else {}
    component = {
        "kind": "component",
        "run": {"kind": "job", "container": {"image": "python:3.11", **command, **container}},
    }
    context = RunContext(
        uuid=uuid4(),
        owner="default",
        project="demo",
        username="t",
        namespace="ganglion",
        artifacts_root="/x",
    )
    return compile_operation(load_operation(component), context).dump()


async def submit(
    infra: Infra, code: str | None, *, uuid: UUID | None = None, **container: Any
) -> UUID:
    uuid = uuid or uuid4()
    event = RunSubmitted(
        uuid=uuid,
        owner="default",
        project="demo",
        namespace="ganglion",
        content=content(code, **container),
    )
    await publish(infra, Envelope.wrap(event, subject=f"run:{uuid}"))
    return uuid


async def status_of(client: httpx.AsyncClient, uuid: UUID) -> str | None:
    response = await client.get(f"/scheduler/v1/runs/{uuid.hex}")
    return None if response.status_code == 404 else str(response.json()["status"])


async def reaches(client: httpx.AsyncClient, uuid: UUID, status: str, timeout: float = 20) -> None:
    async def check() -> bool:
        return await status_of(client, uuid) == status

    await eventually(check, timeout=timeout)


async def reported(infra: Infra, uuid: UUID) -> list[str]:
    """The statuses the scheduler published for the api, in order."""
    events = await published(infra, "api.mirror_scheduler_status")
    return [
        e.open(SchedulerRunStatusChanged).status.value for e in events if e.subject == f"run:{uuid}"
    ]


async def test_a_submitted_run_executes_and_reports_every_status(
    scheduler: tuple[httpx.AsyncClient, FastAPI], infra: Infra
) -> None:
    client, _ = scheduler
    uuid = await submit(infra, "print('hi from the run')")
    await reaches(client, uuid, "succeeded")
    await eventually(lambda: _reported_final(infra, uuid))
    assert await reported(infra, uuid) == [
        "queued",
        "scheduled",
        "starting",
        "running",
        "succeeded",
    ]
    body = (await client.get(f"/scheduler/v1/runs/{uuid.hex}")).json()
    assert (
        body["exit_code"] == 0
        and body["runner"] == "local"
        and body["handle"]["image"] == "python:3.11"
    )


async def _reported_final(infra: Infra, uuid: UUID) -> bool:
    return bool((await reported(infra, uuid))[-1:] == ["succeeded"])


async def test_a_failing_run_fails_with_its_exit_code(
    scheduler: tuple[httpx.AsyncClient, FastAPI], infra: Infra
) -> None:
    client, _ = scheduler
    uuid = await submit(infra, "import sys; sys.exit(3)")
    await reaches(client, uuid, "failed")
    last = (await client.get(f"/scheduler/v1/runs/{uuid.hex}")).json()["status_conditions"][-1]
    assert last["reason"] == "ExitCode" and last["message"] == "exited with code 3"


async def test_concurrency_limit_holds(
    scheduler: tuple[httpx.AsyncClient, FastAPI], infra: Infra
) -> None:
    client, app = scheduler
    runtime: Runtime = app.state.runtime
    uuids = [await submit(infra, "import time; time.sleep(0.6)") for _ in range(5)]
    most = 0
    while True:
        async with runtime.db.session() as session:
            active = await queries.count_in(session, ACTIVE)
        most = max(most, active)
        statuses = [await status_of(client, u) for u in uuids]
        if all(s == "succeeded" for s in statuses):
            break
        assert not any(s == "failed" for s in statuses), statuses
        await asyncio.sleep(0.05)
    assert most == 2


async def test_stop_ends_a_running_run(
    scheduler: tuple[httpx.AsyncClient, FastAPI], infra: Infra
) -> None:
    client, _ = scheduler
    code = "import signal, sys, time\nsignal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\nprint('up', flush=True)\ntime.sleep(60)"
    uuid = await submit(infra, code)
    await reaches(client, uuid, "running")
    await publish(
        infra, Envelope.wrap(RunStopRequested(uuid=uuid, submission=1), subject=f"run:{uuid}")
    )
    await reaches(client, uuid, "stopped")
    assert (await reported(infra, uuid))[-2:] == ["stopping", "stopped"]


async def test_stop_forces_a_run_that_ignores_sigterm(
    scheduler: tuple[httpx.AsyncClient, FastAPI], infra: Infra
) -> None:
    client, _ = scheduler
    uuid = await submit(
        infra, "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    )
    await reaches(client, uuid, "running")
    await publish(
        infra, Envelope.wrap(RunStopRequested(uuid=uuid, submission=1), subject=f"run:{uuid}")
    )
    await reaches(client, uuid, "stopped", timeout=20)


async def test_a_stop_that_overtakes_its_submission_wins(
    scheduler: tuple[httpx.AsyncClient, FastAPI], infra: Infra
) -> None:
    client, _ = scheduler
    uuid = uuid4()
    await publish(
        infra, Envelope.wrap(RunStopRequested(uuid=uuid, submission=1), subject=f"run:{uuid}")
    )
    await reaches(client, uuid, "stopped")
    await submit(infra, "print('must not run')", uuid=uuid)
    await asyncio.sleep(1.0)
    assert await status_of(client, uuid) == "stopped"
    assert "running" not in await reported(infra, uuid)


async def test_deleting_a_running_run_stops_it(
    scheduler: tuple[httpx.AsyncClient, FastAPI], infra: Infra
) -> None:
    client, _ = scheduler
    uuid = await submit(infra, "import time; time.sleep(60)")
    await reaches(client, uuid, "running")
    await publish(
        infra,
        Envelope.wrap(
            RunDeleted(uuid=uuid, owner="default", project="demo"), subject=f"run:{uuid}"
        ),
    )
    await reaches(client, uuid, "stopped")


async def test_a_spec_with_nothing_to_run_fails_with_the_reason(
    scheduler: tuple[httpx.AsyncClient, FastAPI], infra: Infra
) -> None:
    client, _ = scheduler
    uuid = await submit(infra, None)
    await reaches(client, uuid, "failed")
    last = (await client.get(f"/scheduler/v1/runs/{uuid.hex}")).json()["status_conditions"][-1]
    assert (
        last["reason"] == "NotExecutable" and "command and args are both empty" in last["message"]
    )


async def test_duplicate_and_broken_submissions(
    scheduler: tuple[httpx.AsyncClient, FastAPI], infra: Infra
) -> None:
    client, app = scheduler
    runtime: Runtime = app.state.runtime
    uuid = uuid4()
    event = Envelope.wrap(
        RunSubmitted(
            uuid=uuid,
            owner="default",
            project="demo",
            namespace="ganglion",
            content=content("print(1)"),
        ),
        subject=f"run:{uuid}",
    )
    await publish(infra, event)
    await publish(infra, event)  # a redelivery of the same event
    await publish(
        infra, Envelope.wrap(event.open(RunSubmitted).model_copy(), subject=f"run:{uuid}")
    )  # same run, new event id
    await reaches(client, uuid, "succeeded")
    assert (await reported(infra, uuid)).count("running") == 1
    await publish_raw(infra, "api", RunSubmitted.routing_key(), b"{broken")
    bad = Envelope(
        name="api.run.submitted", version=1, subject="run:x", payload={"uuid": "not-a-uuid"}
    )
    await publish(infra, bad)
    dead = await eventually(
        lambda: _dead_count(runtime, "scheduler.enqueue_submitted", 2), timeout=15
    )
    assert dead


async def _dead_count(runtime: Runtime, queue: str, expected: int) -> bool:
    return len(await runtime.bus.dead_letters(queue)) == expected


async def test_claims_are_compare_and_set(
    scheduler: tuple[httpx.AsyncClient, FastAPI], infra: Infra
) -> None:
    client, app = scheduler
    runtime: Runtime = app.state.runtime
    # Park a run in the queue by asking for more than the scheduler runs at once.
    blockers = [await submit(infra, "import time; time.sleep(3)") for _ in range(2)]
    for blocker in blockers:
        await reaches(client, blocker, "running")
    uuid = await submit(infra, "print(1)")
    await reaches(client, uuid, "queued")

    async def try_claim(replica: str) -> bool:
        async with runtime.db.session() as session, session.begin():
            execution = await queries.get_execution(session, uuid)
            assert execution is not None
            await asyncio.sleep(0.05)  # both replicas read "queued" before either writes
            return await claim(session, runtime.outbox, execution, by=replica)

    results = await asyncio.gather(try_claim("replica-a"), try_claim("replica-b"))
    assert sorted(results) == [False, True]


async def test_a_claim_that_never_started_is_queued_again(
    scheduler: tuple[httpx.AsyncClient, FastAPI], infra: Infra
) -> None:
    client, app = scheduler
    runtime: Runtime = app.state.runtime
    blockers = [await submit(infra, "import time; time.sleep(2)") for _ in range(2)]
    for blocker in blockers:
        await reaches(client, blocker, "running")
    uuid = await submit(infra, "print(1)")
    await reaches(client, uuid, "queued")
    # As if a scheduler had claimed it and died before starting it.
    async with runtime.db.session() as session, session.begin():
        execution = await queries.get_execution(session, uuid)
        assert execution is not None
        assert await claim(
            session,
            runtime.outbox,
            execution,
            by="dead-replica",
            at=utcnow() - timedelta(seconds=60),
        )
    monitor: Monitor = runtime.extras["monitor"]  # type: ignore[assignment]
    await monitor.run_once()
    await reaches(client, uuid, "succeeded")
    statuses = await reported(infra, uuid)
    assert statuses[:4] == ["queued", "scheduled", "queued", "scheduled"]


async def test_read_route_bad_input(scheduler: tuple[httpx.AsyncClient, FastAPI]) -> None:
    client, _ = scheduler
    assert (await client.get(f"/scheduler/v1/runs/{uuid4().hex}")).status_code == 404
    malformed = await client.get("/scheduler/v1/runs/zzz")
    assert malformed.status_code == 422 and malformed.json()["detail"][0]["loc"] == ["path", "uuid"]
    anonymous = await client.get(f"/scheduler/v1/runs/{uuid4().hex}", headers={"Authorization": ""})
    assert anonymous.status_code == 401


def test_status_names_cover_the_table() -> None:
    assert {s.value for s in RunStatus} >= {
        "queued",
        "scheduled",
        "starting",
        "running",
        "stopping",
    }


async def test_a_transferred_run_execution_follows_it_to_its_new_project(
    scheduler: tuple[httpx.AsyncClient, FastAPI], infra: Infra
) -> None:
    client, app = scheduler
    uuid = await submit(infra, "print('done')")
    await reaches(client, uuid, "succeeded")
    moved = RunTransferred(uuid=uuid, owner="default", project="other", previous_project="demo")
    await publish(infra, Envelope.wrap(moved, subject=f"run:{uuid}"))
    runtime: Runtime = app.state.runtime

    async def followed() -> bool:
        async with runtime.db.session() as session:
            execution = await queries.get_execution(session, uuid)
            return execution is not None and execution.project == "other"

    await eventually(followed)
