"""What the scheduler does with the api's run events: queue submissions, stop, forget."""

from __future__ import annotations

import logging
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.events.contracts import RunDeleted, RunStopRequested, RunSubmitted
from libs.common.events.envelope import Envelope
from libs.common.ids import utcnow
from libs.common.inbox import SessionHandler
from libs.common.lifecycle import RunStatus
from libs.common.outbox import Outbox
from services.scheduler.db import queries
from services.scheduler.db.tables import Execution
from services.scheduler.domain.status import set_execution_status
from services.scheduler.domain.stopping import request_stop

log = logging.getLogger(__name__)
DEFAULT_QUEUE = "default"


def _new_execution(
    uuid: UUID, *, owner: str, project: str, namespace: str, submission: int
) -> Execution:
    now = utcnow()
    return Execution(
        uuid=uuid,
        owner=owner,
        project=project,
        name=None,
        namespace=namespace,
        queue=DEFAULT_QUEUE,
        content={},
        submission=submission,
        status=RunStatus.COMPILED.value,
        status_conditions=[],
        stop_requested=False,
        deleted=False,
        created_at=now,
        updated_at=now,
    )


def enqueue_submitted(outbox: Outbox) -> SessionHandler:
    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        event = envelope.open(RunSubmitted)
        existing = await queries.get_execution(session, event.uuid, lock=True)
        if existing is not None:
            # A redelivery, a submission that a stop or delete overtook, or a later one
            # (resuming a run comes with the scheduler issue).
            log.info(
                "run %s: submission %d already known (have %d, %s)",
                event.uuid,
                event.submission,
                existing.submission,
                existing.status,
            )
            return
        execution = _new_execution(
            event.uuid,
            owner=event.owner,
            project=event.project,
            namespace=event.namespace,
            submission=event.submission,
        )
        execution.name = event.name
        execution.content = event.content
        # Named queues come with the scheduler issue; until then every run shares the default one.
        execution.queue = DEFAULT_QUEUE
        execution.queued_at = utcnow()
        session.add(execution)
        await session.flush()
        requested = (
            f" (asked for {event.queue!r})" if event.queue and event.queue != DEFAULT_QUEUE else ""
        )
        await set_execution_status(
            session,
            outbox,
            execution,
            RunStatus.QUEUED,
            reason="Scheduler",
            message=f"queued in {DEFAULT_QUEUE}{requested}",
        )

    return handle


async def _stop_or_tombstone(
    session: AsyncSession,
    outbox: Outbox,
    uuid: UUID,
    submission: int,
    message: str,
    *,
    deleted: bool,
) -> None:
    execution = await queries.get_execution(session, uuid, lock=True)
    if execution is None:
        # The stop overtook the submission: remember it, so the submission finds a stopped run.
        execution = _new_execution(uuid, owner="", project="", namespace="", submission=submission)
        session.add(execution)
        await session.flush()
    execution.deleted = execution.deleted or deleted
    await request_stop(session, outbox, execution, message)


def stop_requested(outbox: Outbox) -> SessionHandler:
    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        event = envelope.open(RunStopRequested)
        await _stop_or_tombstone(
            session,
            outbox,
            event.uuid,
            event.submission,
            event.reason or "Stopped by the user",
            deleted=False,
        )

    return handle


def run_deleted(outbox: Outbox) -> SessionHandler:
    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        event = envelope.open(RunDeleted)
        # A deleted run never runs again, whatever submission may still be on its way.
        await _stop_or_tombstone(
            session, outbox, event.uuid, 1 << 30, "The run was deleted", deleted=True
        )

    return handle
