"""Applying statuses to the api's runs through the shared transition table; every accepted
transition is published as `api.run.status_changed`."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.events.contracts import RunStatusChanged, run_subject
from libs.common.ids import as_utc, utcnow
from libs.common.lifecycle import Change, RunStatus, StatusCondition, Timeline, set_status
from libs.common.outbox import Outbox
from services.api.db.tables import Run

log = logging.getLogger(__name__)


def timeline_of(run: Run) -> Timeline:
    return Timeline(
        status=RunStatus(run.status),
        created_at=as_utc(run.created_at),
        conditions=tuple(StatusCondition.model_validate(c) for c in run.status_conditions),
        started_at=as_utc(run.started_at) if run.started_at else None,
        finished_at=as_utc(run.finished_at) if run.finished_at else None,
    )


def store_timeline(run: Run, timeline: Timeline) -> None:
    run.status = timeline.status.value
    run.status_conditions = [c.model_dump(mode="json") for c in timeline.conditions]
    run.started_at = timeline.started_at
    run.finished_at = timeline.finished_at


async def set_run_status(
    session: AsyncSession,
    outbox: Outbox,
    run: Run,
    status: RunStatus,
    *,
    reason: str | None = None,
    message: str | None = None,
    at: datetime | None = None,
    force: bool = False,
    meta_info: dict[str, Any] | None = None,
    causation_id: UUID | None = None,
) -> Change:
    at = at or utcnow()
    change = set_status(
        timeline_of(run),
        status,
        at=at,
        reason=reason,
        message=message,
        meta_info=meta_info,
        force=force,
    )
    if not change.decision.accepted:
        log.info(
            "run %s: refused %s -> %s: %s", run.uuid, run.status, status, change.decision.reason
        )
        return change
    store_timeline(run, change.timeline)
    run.updated_at = utcnow()
    if change.decision.outcome == "transition":
        await outbox.emit(
            session,
            RunStatusChanged(
                uuid=run.uuid,
                owner=run.owner,
                project=run.project,
                status=status,
                previous=change.previous,
                reason=reason,
                message=message,
                transitioned_at=at,
            ),
            subject=run_subject(run.uuid),
            causation_id=causation_id,
        )
    return change
