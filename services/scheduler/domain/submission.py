"""What the scheduler takes from a submission: the queue, the resources asked for, the
termination rules; and reopening a finished execution for a later submission (resume)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.events.contracts import RunSubmitted
from libs.common.ids import utcnow
from libs.common.lifecycle import DONE, RunStatus
from libs.common.outbox import Outbox
from libs.common.quantities import Resources
from libs.common.queues import queue_name
from libs.common.spec import CompiledOperation
from libs.common.spec.hooks import Termination
from services.scheduler.db.tables import Execution
from services.scheduler.domain.status import set_execution_status


def apply_submission(execution: Execution, event: RunSubmitted) -> None:
    compiled = CompiledOperation.model_validate(event.content)
    container = getattr(compiled.run, "container", None) if compiled.run else None
    resources = Resources.of_container(container.resources if container else None)
    termination = compiled.termination or Termination()
    execution.name = event.name
    execution.user = event.user
    execution.content = event.content
    execution.submission = event.submission
    execution.queue = queue_name(event.queue or compiled.queue)
    execution.priority = event.priority
    execution.cpu, execution.memory, execution.gpu = resources.cpu, resources.memory, resources.gpu
    execution.max_retries = termination.max_retries or 0
    # Zero means none, as in Polyaxon.
    execution.timeout = float(termination.timeout) if termination.timeout else None
    execution.ttl = float(termination.ttl) if termination.ttl else None
    execution.attempt = 0
    execution.retry_at = None
    execution.handle = None
    execution.runner = None
    execution.exit_code = None
    execution.stop_requested = False
    execution.stop_sent_at = None
    execution.stop_reason = None
    execution.claimed_by = None
    execution.claimed_at = None
    execution.cleaned_at = None
    execution.resubmission = None
    execution.queued_at = utcnow()


async def reopen(
    session: AsyncSession, outbox: Outbox, execution: Execution, event: RunSubmitted
) -> None:
    """Run a finished execution again for a later submission of the same run (resume)."""
    assert RunStatus(execution.status) in DONE
    apply_submission(execution, event)
    await set_execution_status(
        session,
        outbox,
        execution,
        RunStatus.RESUMING,
        reason="Scheduler",
        message=f"submission {event.submission}",
        force=True,
    )
    await set_execution_status(
        session,
        outbox,
        execution,
        RunStatus.QUEUED,
        reason="Scheduler",
        message=f"queued in {execution.queue}",
    )


async def reopen_if_resubmitted(
    session: AsyncSession, outbox: Outbox, execution: Execution
) -> None:
    """A resume that arrived while the execution was still running takes over once it ended."""
    if (
        execution.resubmission is not None
        and RunStatus(execution.status) in DONE
        and not execution.deleted
    ):
        await reopen(
            session, outbox, execution, RunSubmitted.model_validate(execution.resubmission)
        )
