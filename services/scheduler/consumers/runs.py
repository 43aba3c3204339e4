"""What the scheduler does with the api's run events: queue submissions, stop, forget."""

from __future__ import annotations

import logging
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.events.contracts import (
    RunDeleted,
    RunStopRequested,
    RunSubmitted,
    RunTransferred,
)
from libs.common.events.envelope import Envelope
from libs.common.ids import utcnow
from libs.common.inbox import SessionHandler
from libs.common.lifecycle import DONE, RunStatus
from libs.common.outbox import Outbox
from libs.common.queues import DEFAULT_QUEUE
from services.scheduler.db import queries
from services.scheduler.db.tables import Execution
from services.scheduler.domain.status import set_execution_status
from services.scheduler.domain.stopping import request_stop
from services.scheduler.domain.submission import apply_submission, reopen

log = logging.getLogger(__name__)


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
        priority=0,
        cpu=0.0,
        memory=0.0,
        gpu=0.0,
        max_retries=0,
        attempt=0,
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
        execution = await queries.get_execution(session, event.uuid, lock=True)
        if execution is not None:
            if execution.deleted or event.submission <= execution.submission:
                # A redelivery, or a submission that a stop or a delete overtook.
                log.info(
                    "run %s: submission %d already handled (%s)",
                    event.uuid,
                    event.submission,
                    execution.status,
                )
            elif RunStatus(execution.status) in DONE:
                await reopen(session, outbox, execution, event)
            else:
                execution.resubmission = event.model_dump(mode="json")
            return
        execution = _new_execution(
            event.uuid,
            owner=event.owner,
            project=event.project,
            namespace=event.namespace,
            submission=event.submission,
        )
        apply_submission(execution, event)
        await set_execution_status(
            session,
            outbox,
            execution,
            RunStatus.QUEUED,
            reason="Scheduler",
            message=f"queued in {execution.queue}",
        )
        # Added once queued: one INSERT at commit, not an INSERT and then an UPDATE.
        session.add(execution)

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


def run_transferred() -> SessionHandler:
    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        event = envelope.open(RunTransferred)
        execution = await queries.get_execution(session, event.uuid, lock=True)
        if execution is not None:
            execution.project = event.project

    return handle
