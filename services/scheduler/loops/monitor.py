"""The monitor: watches every execution that holds (or should hold) a runner and moves it along.

- starting -> running once the run's process started; exited -> succeeded / failed / stopped;
  gone without an exit code -> failed (or stopped, if a stop was asked for);
- a requested stop is signalled (SIGTERM), then forced after the grace period;
- a claim that never started (the scheduler died between claim and start) is adopted if the
  runner has the execution, and queued again otherwise.
It reads only the database and the runner, so after a scheduler restart it picks up where the
previous process left off.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.ids import as_utc, utcnow
from libs.common.lifecycle import DONE, RunStatus
from libs.common.loops import Loop
from libs.common.runtime import Runtime
from services.scheduler.db import queries
from services.scheduler.db.tables import Execution
from services.scheduler.domain.status import set_execution_status
from services.scheduler.loops.dispatcher import Dispatcher
from services.scheduler.runners.base import Handle, Observation, Runner, State
from services.scheduler.settings import SchedulerSettings

log = logging.getLogger(__name__)


def verdict(observation: Observation, *, stop_requested: bool) -> tuple[RunStatus, str, str]:
    """The final status of an execution that is over, with reason and message."""
    if stop_requested:
        return RunStatus.STOPPED, "StopRequested", "Stopped on request"
    if observation.state == State.GONE:
        return RunStatus.FAILED, "ProcessGone", observation.message or "the run's process vanished"
    code = observation.exit_code
    if code == 0:
        return RunStatus.SUCCEEDED, "ExitCode", "exited with code 0"
    detail = f": {observation.message}" if observation.message else ""
    return RunStatus.FAILED, "ExitCode", f"exited with code {code}{detail}"


class Monitor(Loop):
    name = "monitor"

    def __init__(
        self, runtime: Runtime, settings: SchedulerSettings, runner: Runner, dispatcher: Dispatcher
    ) -> None:
        super().__init__(settings.poll_interval)
        self.runtime = runtime
        self.settings = settings
        self.runner = runner
        self.dispatcher = dispatcher

    async def run_once(self) -> None:
        async with self.runtime.db.session() as session:
            uuids = await queries.watched(session)
        adoptable: dict[str, Handle] | None = None
        for uuid in uuids:
            if uuid in self.dispatcher.starting:
                continue
            async with self.runtime.db.session() as session, session.begin():
                execution = await queries.get_execution(session, uuid, lock=True)
                if execution is None or RunStatus(execution.status) in DONE:
                    continue
                if execution.handle is None:
                    if adoptable is None:
                        adoptable = {h["run_uuid"]: h for h in await self.runner.list_active()}
                    await self._unstarted(session, execution, adoptable)
                else:
                    await self._check(session, execution, execution.handle)

    async def _check(self, session: AsyncSession, execution: Execution, handle: Handle) -> None:
        outbox = self.runtime.outbox
        now = utcnow()
        if execution.stop_requested:
            if execution.stop_sent_at is None:
                await self.runner.stop(handle)
                execution.stop_sent_at = now
            elif now - as_utc(execution.stop_sent_at) > timedelta(
                seconds=self.settings.stop_grace_period
            ):
                await self.runner.stop(handle, force=True)
        observation = await self.runner.status(handle)
        status = RunStatus(execution.status)
        if observation.state == State.RUNNING and status in (
            RunStatus.SCHEDULED,
            RunStatus.STARTING,
        ):
            await set_execution_status(
                session,
                outbox,
                execution,
                RunStatus.RUNNING,
                reason="Runner",
                message="the run's process started",
            )
        elif observation.state in (State.EXITED, State.GONE):
            if observation.started and status in (RunStatus.SCHEDULED, RunStatus.STARTING):
                await set_execution_status(
                    session,
                    outbox,
                    execution,
                    RunStatus.RUNNING,
                    reason="Runner",
                    message="the run's process started",
                )
            final, reason, message = verdict(observation, stop_requested=execution.stop_requested)
            execution.exit_code = observation.exit_code
            await set_execution_status(
                session, outbox, execution, final, reason=reason, message=message
            )

    async def _unstarted(
        self, session: AsyncSession, execution: Execution, adoptable: dict[str, Handle]
    ) -> None:
        if execution.status != RunStatus.SCHEDULED.value or execution.claimed_at is None:
            return
        if utcnow() - as_utc(execution.claimed_at) < timedelta(seconds=self.settings.claim_timeout):
            return
        outbox = self.runtime.outbox
        handle = adoptable.get(execution.uuid.hex)
        if handle is not None:
            execution.handle = handle
            execution.runner = self.runner.kind
            await set_execution_status(
                session,
                outbox,
                execution,
                RunStatus.STARTING,
                reason="Reconciler",
                message="adopted a started run",
            )
        elif execution.stop_requested:
            await set_execution_status(
                session,
                outbox,
                execution,
                RunStatus.STOPPED,
                reason="StopRequested",
                message="stopped before it started",
            )
        else:
            execution.claimed_by = None
            execution.claimed_at = None
            execution.queued_at = utcnow()
            await set_execution_status(
                session,
                outbox,
                execution,
                RunStatus.QUEUED,
                reason="ClaimExpired",
                message="claimed but never started; queued again",
            )
