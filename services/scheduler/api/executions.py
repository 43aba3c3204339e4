"""Read-only: how the scheduler sees a run (`/scheduler/v1/runs/{uuid}`)."""

from __future__ import annotations

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

router = APIRouter(prefix="/scheduler/v1", tags=["scheduler"])
Caller = Annotated[str, Depends(token_guard(known_tokens))]


class ExecutionRead(BaseModel):
    uuid: str
    status: RunStatus
    status_conditions: list[StatusCondition]
    queue: str
    position: int | None
    """1-based place in the queue while queued."""
    submission: int
    runner: str | None
    handle: dict[str, Any] | None
    stop_requested: bool
    exit_code: int | None


@router.get("/runs/{uuid}", response_model=ExecutionRead)
async def get_execution(uuid: str, request: Request, _: Caller) -> ExecutionRead:
    try:
        key = UUID(uuid)
    except ValueError:
        raise ApiError(
            422, f"{uuid!r} is not a run uuid", loc=("path", "uuid"), type="uuid_parsing"
        ) from None
    async with runtime_of(request).db.session() as session:
        execution = await queries.get_execution(session, key)
        if execution is None:
            raise not_found(f"run {key.hex} in the scheduler", ("path", "uuid"))
        position = await queries.queue_position(session, execution)
    return ExecutionRead(
        uuid=execution.uuid.hex,
        status=RunStatus(execution.status),
        status_conditions=[StatusCondition.model_validate(c) for c in execution.status_conditions],
        queue=execution.queue,
        position=position,
        submission=execution.submission,
        runner=execution.runner,
        handle=execution.handle,
        stop_requested=execution.stop_requested,
        exit_code=execution.exit_code,
    )
