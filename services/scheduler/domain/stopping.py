"""Stopping an execution: at once if nothing runs yet, else through `stopping` and the runner."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.lifecycle import DONE, RunStatus
from libs.common.outbox import Outbox
from services.scheduler.db.tables import Execution
from services.scheduler.domain.status import set_execution_status

NOT_STARTED = frozenset(
    {RunStatus.COMPILED, RunStatus.QUEUED, RunStatus.RETRYING, RunStatus.CREATED}
)


async def request_stop(
    session: AsyncSession, outbox: Outbox, execution: Execution, message: str
) -> None:
    status = RunStatus(execution.status)
    if status in DONE:
        return
    execution.stop_requested = True
    if status in NOT_STARTED:
        await set_execution_status(
            session, outbox, execution, RunStatus.STOPPED, reason="StopRequested", message=message
        )
    else:
        # The monitor signals the runner once this commits; the run ends as stopped.
        await set_execution_status(
            session, outbox, execution, RunStatus.STOPPING, reason="StopRequested", message=message
        )
