"""The api follows the scheduler's statuses (`api.mirror_scheduler_status`), bad events included."""

from __future__ import annotations

from uuid import uuid4

import httpx

from libs.common.events import Envelope
from libs.common.events.contracts import RunStatusChanged, SchedulerRunStatusChanged
from libs.common.ids import utcnow
from libs.common.lifecycle import RunStatus
from tests.api.test_runs import RUNS, TYPED, as_cli_posts
from tests.conftest import Infra
from tests.support.apps import publish, publish_raw
from tests.support.waiting import eventually


def scheduler_says(
    uuid: str, status: RunStatus, submission: int = 1, message: str | None = None
) -> Envelope:
    event = SchedulerRunStatusChanged(
        uuid=uuid, status=status, transitioned_at=utcnow(), submission=submission, message=message
    )
    return Envelope.wrap(event, subject=f"run:{uuid}")


async def conditions(api: httpx.AsyncClient, uuid: str) -> list[str]:
    return [c["type"] for c in (await api.get(f"{RUNS}/{uuid}")).json()["status_conditions"]]


async def test_statuses_follow_the_scheduler(
    api: httpx.AsyncClient, project: str, infra: Infra
) -> None:
    uuid = (await api.post(RUNS, json={"content": as_cli_posts(TYPED, epochs="1")})).json()["uuid"]
    for status in (RunStatus.QUEUED, RunStatus.SCHEDULED, RunStatus.STARTING, RunStatus.RUNNING):
        await publish(infra, scheduler_says(uuid, status))
    await publish(infra, scheduler_says(uuid, RunStatus.SUCCEEDED, message="exited with code 0"))
    await eventually(lambda: _last(api, uuid, "succeeded"))
    assert await conditions(api, uuid) == [
        "created",
        "compiled",
        "queued",
        "scheduled",
        "starting",
        "running",
        "succeeded",
    ]
    run = (await api.get(f"{RUNS}/{uuid}")).json()
    assert run["status_conditions"][-1]["message"] == "exited with code 0"
    assert run["wait_time"] is not None and run["duration"] is not None


async def test_refused_and_stale_statuses_change_nothing(
    api: httpx.AsyncClient, project: str, infra: Infra
) -> None:
    uuid = (await api.post(RUNS, json={"content": as_cli_posts(TYPED, epochs="1")})).json()["uuid"]
    await publish(
        infra, scheduler_says(uuid, RunStatus.QUEUED, submission=0)
    )  # an earlier execution's
    await publish(infra, scheduler_says(uuid, RunStatus.SUCCEEDED))  # compiled cannot succeed
    await publish(infra, scheduler_says(uuid, RunStatus.QUEUED))
    await eventually(lambda: _last(api, uuid, "queued"))
    assert await conditions(api, uuid) == ["created", "compiled", "queued"]


async def test_events_for_unknown_runs_are_ignored(
    api: httpx.AsyncClient, project: str, infra: Infra
) -> None:
    await publish(infra, scheduler_says(uuid4().hex, RunStatus.RUNNING))
    uuid = (await api.post(RUNS, json={"content": as_cli_posts(TYPED, epochs="1")})).json()["uuid"]
    await publish(infra, scheduler_says(uuid, RunStatus.QUEUED))
    await eventually(lambda: _last(api, uuid, "queued"))


async def test_undecodable_events_end_in_dead_letters(api: httpx.AsyncClient, infra: Infra) -> None:

    await publish_raw(
        infra, "scheduler", "scheduler.run.status_changed.v1", b"this is not an envelope"
    )
    bad_payload = Envelope(
        name="scheduler.run.status_changed", version=1, subject="run:x", payload={"uuid": "nope"}
    )
    await publish(infra, bad_payload)
    dead = await eventually(lambda: _dead(infra), timeout=15)
    assert len(dead) == 2


async def _dead(infra: Infra) -> list[object]:
    import aio_pika

    connection = await aio_pika.connect(infra.rabbitmq_url)
    try:
        channel = await connection.channel()
        queue = await channel.get_queue(f"{infra.prefix}.api.mirror_scheduler_status.dead")
        count = queue.declaration_result.message_count
        return [None] * count if count == 2 else []
    finally:
        await connection.close()


async def _last(api: httpx.AsyncClient, uuid: str, status: str) -> bool:
    return (await api.get(f"{RUNS}/{uuid}")).json()["status"] == status


def test_status_changed_event_shape() -> None:
    assert "previous" in RunStatusChanged.model_fields
