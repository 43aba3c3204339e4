"""Read-only: how the scheduler sees a run (`/scheduler/v1/runs/{uuid}`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from libs.common.guards import token_guard
from libs.common.health import runtime_of
from libs.common.http import ApiError, not_found
from libs.common.lifecycle import RunStatus, StatusCondition
from services.scheduler.db import queries
from services.scheduler.db.tables import known_tokens
from services.scheduler.deps import SettingsDep
from services.scheduler.domain.decisions import plan
from services.scheduler.domain.situation import load_situation
from services.scheduler.loops.monitor import run_key

router = APIRouter(prefix="/scheduler/v1", tags=["scheduler"])
Caller = Annotated[str, Depends(token_guard(known_tokens))]


class Waiting(BaseModel):
    """Why a queued run has not started: `queue_full`, `capacity`, `project_quota`,
    `user_quota`, `unknown_queue` or `behind` (it is next in line, or behind others)."""

    reason: str
    message: str
    position: int | None


class ExecutionRead(BaseModel):
    uuid: str
    status: RunStatus
    status_conditions: list[StatusCondition]
    queue: str
    priority: int
    waiting: Waiting | None
    submission: int
    attempt: int
    max_retries: int
    retry_at: datetime | None
    timeout: float | None
    resources: dict[str, float]
    runner: str | None
    handle: dict[str, Any] | None
    stop_requested: bool
    exit_code: int | None
    last_heartbeat: datetime | None


@router.get("/runs/{uuid}", response_model=ExecutionRead)
async def get_execution(
    uuid: str, request: Request, _: Caller, settings: SettingsDep
) -> ExecutionRead:
    try:
        key = UUID(uuid)
    except ValueError:
        raise ApiError(
            422, f"{uuid!r} is not a run uuid", loc=("path", "uuid"), type="uuid_parsing"
        ) from None
    runtime = runtime_of(request)
    async with runtime.db.read_session() as session:
        execution = await queries.get_execution(session, key)
        if execution is None:
            raise not_found(f"run {key.hex} in the scheduler", ("path", "uuid"))
        waiting = None
        if execution.status == RunStatus.QUEUED.value:
            decision = plan(await load_situation(session, settings, everything=True), explain=True)
            wait = decision.waits.get(key)
            if wait is not None:
                waiting = Waiting(reason=wait.reason, message=wait.message, position=wait.position)
            elif key in decision.start:
                waiting = Waiting(reason="behind", message="starts in the next round", position=1)
    beats = await runtime.coordinator.last_beats([run_key(key)])
    beat = beats.get(run_key(key))
    return ExecutionRead(
        uuid=execution.uuid.hex,
        status=RunStatus(execution.status),
        status_conditions=[StatusCondition.model_validate(c) for c in execution.status_conditions],
        queue=execution.queue,
        priority=execution.priority,
        waiting=waiting,
        submission=execution.submission,
        attempt=execution.attempt,
        max_retries=execution.max_retries,
        retry_at=execution.retry_at,
        timeout=execution.timeout,
        resources={"cpu": execution.cpu, "memory": execution.memory, "gpu": execution.gpu},
        runner=execution.runner,
        handle=execution.handle,
        stop_requested=execution.stop_requested,
        exit_code=execution.exit_code,
        last_heartbeat=datetime.fromtimestamp(beat, UTC) if beat else None,
    )
