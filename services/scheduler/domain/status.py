"""Applying statuses to executions through the shared transition table; every accepted
transition is published as `scheduler.run.status_changed` for the api to mirror."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from libs.common.db.database import request_commit_hooks
from libs.common.events.contracts import SchedulerRunStatusChanged, run_subject
from libs.common.ids import as_utc, utcnow
from libs.common.lifecycle import ACTIVE, Change, RunStatus, StatusCondition, Timeline, set_status
from libs.common.outbox import Outbox
from services.scheduler.db.tables import Execution

log = logging.getLogger(__name__)

DISPATCH = "scheduler.dispatch"
"""Commit topic: a run was queued or gave up its slot, so the dispatcher may start something."""
MONITOR = "scheduler.monitor"
"""Commit topic: the monitor has something to act on now (a start to follow, a stop to send)."""


def wake_for(session: AsyncSession, status: RunStatus) -> None:
    """Wake, once this commits, the loops that a move to `status` gives work: not on every commit,
    which ran a dispatcher and a monitor round for each of their own writes."""
    if status == RunStatus.QUEUED or status not in ACTIVE:
        request_commit_hooks(session, DISPATCH)
    if status in (RunStatus.STARTING, RunStatus.STOPPING):
        request_commit_hooks(session, MONITOR)


def timeline_of(execution: Execution) -> Timeline:
    return Timeline(
        status=RunStatus(execution.status),
        created_at=as_utc(execution.created_at),
        conditions=tuple(StatusCondition.model_validate(c) for c in execution.status_conditions),
        started_at=as_utc(execution.started_at) if execution.started_at else None,
        finished_at=as_utc(execution.finished_at) if execution.finished_at else None,
    )


async def set_execution_status(
    session: AsyncSession,
    outbox: Outbox,
    execution: Execution,
    status: RunStatus,
    *,
    reason: str,
    message: str | None = None,
    at: datetime | None = None,
    force: bool = False,
) -> Change:
    at = at or utcnow()
    change = set_status(
        timeline_of(execution), status, at=at, reason=reason, message=message, force=force
    )
    if not change.decision.accepted:
        log.info(
            "run %s: refused %s -> %s: %s",
            execution.uuid,
            execution.status,
            status,
            change.decision.reason,
        )
        return change
    timeline = change.timeline
    execution.status = timeline.status.value
    execution.status_conditions = [c.model_dump(mode="json") for c in timeline.conditions]
    execution.started_at = timeline.started_at
    execution.finished_at = timeline.finished_at
    execution.updated_at = utcnow()
    if change.decision.outcome == "transition":
        wake_for(session, status)
        await outbox.emit(
            session,
            SchedulerRunStatusChanged(
                uuid=execution.uuid,
                status=status,
                previous=change.previous,
                reason=reason,
                message=message,
                transitioned_at=at,
                submission=execution.submission,
            ),
            subject=run_subject(execution.uuid),
        )
    return change


async def claim(
    session: AsyncSession,
    outbox: Outbox,
    execution: Execution,
    *,
    by: str,
    at: datetime | None = None,
) -> bool:
    """queued -> scheduled as a compare-and-set: of two replicas claiming one run, one wins."""
    at = at or utcnow()
    return await compare_and_set(
        session,
        outbox,
        execution,
        RunStatus.QUEUED,
        RunStatus.SCHEDULED,
        reason="Scheduler",
        message=f"claimed by {by}",
        values={"claimed_by": by, "claimed_at": at},
        at=at,
    )


async def compare_and_set(
    session: AsyncSession,
    outbox: Outbox,
    execution: Execution,
    expected: RunStatus,
    status: RunStatus,
    *,
    reason: str,
    message: str,
    values: dict[str, Any] | None = None,
    also: tuple[ColumnElement[bool], ...] = (),
    at: datetime | None = None,
) -> bool:
    """`expected` -> `status` in one UPDATE that only applies if the row still has `expected`
    (and meets `also`), whatever `execution` was read as: no read and no row lock first. False
    if it did not apply."""
    at = at or utcnow()
    if execution.status != expected.value:
        return False
    change = set_status(timeline_of(execution), status, at=at, reason=reason, message=message)
    if change.decision.outcome != "transition":
        return False
    timeline = change.timeline
    values = {
        **(values or {}),
        "status": status.value,
        "status_conditions": [c.model_dump(mode="json") for c in timeline.conditions],
        "started_at": timeline.started_at,
        "finished_at": timeline.finished_at,
        "updated_at": at,
    }
    result = await session.execute(
        update(Execution)
        .where(Execution.uuid == execution.uuid, Execution.status == expected.value, *also)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    for key, value in values.items():
        set_committed_value(execution, key, value)
    wake_for(session, status)
    await outbox.emit(
        session,
        SchedulerRunStatusChanged(
            uuid=execution.uuid,
            status=status,
            previous=expected,
            reason=reason,
            message=message,
            transitioned_at=at,
            submission=execution.submission,
        ),
        subject=run_subject(execution.uuid),
    )
    return True
