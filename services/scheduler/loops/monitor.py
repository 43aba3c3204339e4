"""The monitor: moves each execution this replica owns along, from what the runner observes.

- starting -> running once the run's process started; exited -> succeeded / failed / stopped;
  gone without an exit code -> failed; a failure with retries left -> retrying, then queued again
  after an exponential back-off (termination.maxRetries);
- a requested stop is signalled (SIGTERM), then forced after the grace period; a run past its
  termination.timeout is stopped with that reason; a process that never starts is failed;
- a claim whose start never happened is adopted if the runner has it, and queued again otherwise.

Each replica watches the executions it claimed, and adopts those of a replica whose heartbeat is
gone (for a runner bound to its host, only those started on this host). Everything it needs is
in the database and the runtime, so a restarted scheduler picks up where the previous left off.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.ids import as_utc, utcnow
from libs.common.lifecycle import ACTIVE, DONE, RunStatus
from libs.common.loops import Loop
from libs.common.runtime import Runtime
from services.scheduler.db import queries
from services.scheduler.db.tables import Execution
from services.scheduler.domain.status import set_execution_status
from services.scheduler.domain.submission import reopen_if_resubmitted
from services.scheduler.loops.dispatcher import Dispatcher, Replica, replica_key
from services.scheduler.runners.base import Handle, Observation, Runner, State
from services.scheduler.settings import SchedulerSettings

log = logging.getLogger(__name__)

WATCHED = frozenset(ACTIVE | {RunStatus.UNSCHEDULABLE, RunStatus.RETRYING})
MAX_BACKOFF = 300.0


def run_key(uuid: object) -> str:
    return f"run:{uuid}"


def verdict(observation: Observation, *, stop_reason: str | None) -> tuple[RunStatus, str, str]:
    """The final status of an execution that is over, with reason and message."""
    if stop_reason is not None:
        return RunStatus.STOPPED, "StopRequested", f"Stopped: {stop_reason}"
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

    @property
    def replica(self) -> Replica:
        return self.dispatcher.replica

    async def run_once(self) -> None:
        coordinator = self.runtime.coordinator
        await coordinator.beat(self.replica.beat_key, self.settings.heartbeat_ttl)
        # Look first, on a read session; take the write lock only for executions that need it.
        async with self.runtime.db.read_session() as session:
            query = select(Execution).where(Execution.status.in_([s.value for s in WATCHED]))
            executions = list((await session.execute(query)).scalars())
        owners = {
            e.claimed_by for e in executions if e.claimed_by and e.claimed_by != self.replica.id
        }
        alive = {
            key.removeprefix("scheduler:")
            for key in await coordinator.last_beats([replica_key(o) for o in owners])
        }
        adoptable: dict[str, Handle] | None = None
        for seen in executions:
            mine = seen.claimed_by in (None, self.replica.id)
            if seen.uuid in self.dispatcher.starting or (not mine and seen.claimed_by in alive):
                continue
            if not mine and not self._can_observe(seen.handle):
                continue  # a gone replica's run on another machine: only that machine can see it
            if mine and not await self._needs_attention(seen):
                continue
            async with self.runtime.db.session() as session, session.begin():
                execution = await queries.get_execution(session, seen.uuid, lock=True)
                if execution is None or RunStatus(execution.status) in DONE:
                    continue
                if execution.claimed_by not in (None, self.replica.id):
                    log.info(
                        "run %s: adopting it from replica %s, which is gone",
                        execution.uuid,
                        execution.claimed_by,
                    )
                    execution.claimed_by = self.replica.id
                if execution.status == RunStatus.RETRYING.value:
                    await self._retry_when_due(session, execution)
                elif execution.handle is None:
                    if adoptable is None:
                        adoptable = {h["run_uuid"]: h for h in await self.runner.list_active()}
                    await self._unstarted(session, execution, adoptable)
                else:
                    await self._check(session, execution, execution.handle)

    async def _needs_attention(self, execution: Execution) -> bool:
        """Whether this round has anything to do for `execution` (else no write lock is taken)."""
        now = utcnow()
        if execution.status == RunStatus.RETRYING.value:
            return execution.retry_at is None or now >= as_utc(execution.retry_at)
        if execution.handle is None:
            claimed = execution.claimed_at
            return claimed is not None and now - as_utc(claimed) >= timedelta(
                seconds=self.settings.claim_timeout
            )
        if execution.stop_requested:
            return True
        started, timeout = execution.started_at, execution.timeout
        if (
            timeout is not None
            and started is not None
            and now - as_utc(started) > timedelta(seconds=timeout)
        ):
            return True
        observation = await self.runner.status(execution.handle)
        if observation.state == State.RUNNING:
            await self.runtime.coordinator.beat(
                run_key(execution.uuid), self.settings.heartbeat_ttl
            )
            return execution.status in (RunStatus.SCHEDULED.value, RunStatus.STARTING.value)
        if observation.state == State.PENDING:
            since = as_utc(execution.claimed_at or execution.updated_at)
            return now - since > timedelta(seconds=self.settings.start_timeout)
        return True

    def _can_observe(self, handle: Handle | None) -> bool:
        return (
            handle is None or not self.runner.host_bound or handle.get("host") == self.replica.host
        )

    async def _check(self, session: AsyncSession, execution: Execution, handle: Handle) -> None:
        outbox = self.runtime.outbox
        now = utcnow()
        status = RunStatus(execution.status)
        if (
            execution.timeout is not None
            and not execution.stop_requested
            and execution.started_at is not None
            and now - as_utc(execution.started_at) > timedelta(seconds=execution.timeout)
        ):
            execution.stop_requested = True
            execution.stop_reason = f"timeout after {execution.timeout:g}s"
            await set_execution_status(
                session,
                outbox,
                execution,
                RunStatus.STOPPING,
                reason="Timeout",
                message=f"ran longer than {execution.timeout:g}s",
            )
        if execution.stop_requested:
            if execution.stop_sent_at is None:
                await self.runner.stop(handle)
                execution.stop_sent_at = now
            elif now - as_utc(execution.stop_sent_at) > timedelta(
                seconds=self.settings.stop_grace_period
            ):
                await self.runner.stop(handle, force=True)
        observation = await self.runner.status(handle)
        if observation.state == State.RUNNING:
            await self.runtime.coordinator.beat(
                run_key(execution.uuid), self.settings.heartbeat_ttl
            )
            if status in (RunStatus.SCHEDULED, RunStatus.STARTING):
                await set_execution_status(
                    session,
                    outbox,
                    execution,
                    RunStatus.RUNNING,
                    reason="Runner",
                    message="the run's process started",
                )
        elif observation.state == State.PENDING:
            since = as_utc(execution.claimed_at or execution.updated_at)
            if now - since > timedelta(seconds=self.settings.start_timeout):
                await self.runner.stop(handle, force=True)
                stuck = Observation(
                    State.GONE, message=f"did not start within {self.settings.start_timeout:g}s"
                )
                await self._ended(session, execution, stuck)
        else:
            if observation.state == State.GONE:
                # The supervisor died; whatever it started must not live on unwatched.
                await self.runner.stop(handle, force=True)
            await self._ended(session, execution, observation)

    async def _ended(
        self, session: AsyncSession, execution: Execution, observation: Observation
    ) -> None:
        outbox = self.runtime.outbox
        if observation.started and RunStatus(execution.status) in (
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
        stop_reason = (execution.stop_reason or "requested") if execution.stop_requested else None
        final, reason, message = verdict(observation, stop_reason=stop_reason)
        execution.exit_code = observation.exit_code
        if final == RunStatus.FAILED and execution.attempt < execution.max_retries:
            execution.attempt += 1
            delay = min(self.settings.retry_backoff * 2 ** (execution.attempt - 1), MAX_BACKOFF)
            execution.retry_at = utcnow() + timedelta(seconds=delay)
            message = (
                f"{message}; retry {execution.attempt} of {execution.max_retries} in {delay:g}s"
            )
            await set_execution_status(
                session, outbox, execution, RunStatus.RETRYING, reason=reason, message=message
            )
            return
        await set_execution_status(
            session, outbox, execution, final, reason=reason, message=message
        )
        await reopen_if_resubmitted(session, outbox, execution)

    async def _retry_when_due(self, session: AsyncSession, execution: Execution) -> None:
        if execution.retry_at is not None and utcnow() < as_utc(execution.retry_at):
            return
        _requeue(execution, utcnow())
        await set_execution_status(
            session,
            self.runtime.outbox,
            execution,
            RunStatus.QUEUED,
            reason="Retry",
            message=f"attempt {execution.attempt + 1} queued",
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
            _requeue(execution, utcnow())
            await set_execution_status(
                session,
                outbox,
                execution,
                RunStatus.QUEUED,
                reason="ClaimExpired",
                message="claimed but never started; queued again",
            )


def _requeue(execution: Execution, now: datetime) -> None:
    execution.claimed_by = None
    execution.claimed_at = None
    execution.handle = None
    execution.stop_sent_at = None
    execution.queued_at = now
