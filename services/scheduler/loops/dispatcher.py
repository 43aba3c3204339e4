"""The decision loop: plan which queued runs start (queues, quotas, fair share), claim each with
a compare-and-set, and start them on the runner.

One replica decides at a time (a coordinator lock, so limits hold across replicas); each claim
is a compare-and-set, so even without the lock no run starts twice.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from uuid import UUID

from libs.common.db.database import request_commit_hooks
from libs.common.lifecycle import RunStatus
from libs.common.loops import Loop
from libs.common.runtime import Runtime
from services.scheduler.db import queries
from services.scheduler.db.tables import Execution
from services.scheduler.domain.decisions import plan
from services.scheduler.domain.launch import NotExecutable, launch_of
from services.scheduler.domain.situation import DefinitionsCache, load_situation
from services.scheduler.domain.status import (
    MONITOR,
    claim,
    compare_and_set,
    set_execution_status,
)
from services.scheduler.runners.base import Launch, Runner
from services.scheduler.settings import SchedulerSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Replica:
    """This scheduler process: claims carry its id; its heartbeat says it is alive."""

    id: str
    host: str = socket.gethostname()

    @property
    def beat_key(self) -> str:
        return replica_key(self.id)


def replica_key(replica_id: str) -> str:
    return f"scheduler:{replica_id}"


class Dispatcher(Loop):
    name = "dispatcher"

    def __init__(
        self, runtime: Runtime, settings: SchedulerSettings, runner: Runner, replica: Replica
    ) -> None:
        super().__init__(settings.poll_interval)
        self.runtime = runtime
        self.settings = settings
        self.runner = runner
        self.replica = replica
        self.definitions = DefinitionsCache(ttl=2.0)
        self.starting: set[UUID] = set()
        """Runs this replica claimed and is starting: the monitor leaves them alone."""

    async def run_once(self) -> None:
        # Only deciding and claiming need the lock; starting (spawning, creating pods) happens
        # after it, so other replicas take their turn meanwhile.
        async with self.runtime.coordinator.hold("scheduler:dispatch", ttl=60) as held:
            claimed = await self._claim() if held else []
        for execution, launch in claimed:
            await self._start(execution, launch)

    async def _claim(self) -> list[tuple[Execution, Launch]]:
        """Claim what the decision starts, and prepare each launch in the same transaction."""
        db, outbox = self.runtime.db, self.runtime.outbox
        claimed: list[tuple[Execution, Launch]] = []
        # Decide and claim in one transaction: rounds are woken by what gives them work, so most
        # start something, and a separate read transaction first was one more on the way to
        # `starting`. Each claim is still a compare-and-set on the queued status.
        async with db.session() as session, session.begin():
            decision = plan(await load_situation(session, self.settings, self.definitions))
            for uuid in decision.start:
                execution = await queries.get_execution(session, uuid)
                if execution is None or not await claim(
                    session, outbox, execution, by=self.replica.id
                ):
                    continue
                try:
                    claimed.append((execution, launch_of(execution, self.settings)))
                except NotExecutable as exc:
                    await set_execution_status(
                        session,
                        outbox,
                        execution,
                        RunStatus.FAILED,
                        reason="NotExecutable",
                        message=str(exc),
                    )
        self.starting.update(execution.uuid for execution, _ in claimed)
        return claimed

    async def _start(self, claimed: Execution, launch: Launch) -> None:
        db, outbox, uuid = self.runtime.db, self.runtime.outbox, claimed.uuid
        try:
            try:
                handle = await self.runner.start(launch)
            except Exception as exc:
                log.exception("run %s: the runner could not start it", uuid)
                async with db.session() as session, session.begin():
                    execution = await queries.get_execution(session, uuid, lock=True)
                    if execution is not None:
                        await set_execution_status(
                            session,
                            outbox,
                            execution,
                            RunStatus.FAILED,
                            reason="RunnerError",
                            message=repr(exc),
                        )
                return
            async with db.session() as session, session.begin():
                # Most starts: the run is still as this replica claimed it, and one compare-and-set
                # records it.
                values = {"handle": handle, "runner": self.runner.kind}
                mine = (Execution.claimed_by == self.replica.id,)
                if await compare_and_set(
                    session,
                    outbox,
                    claimed,
                    RunStatus.SCHEDULED,
                    RunStatus.STARTING,
                    reason="Runner",
                    message=f"started by the {self.runner.kind} runner",
                    values=values,
                    also=mine,
                ):
                    return
                execution = await queries.get_execution(session, uuid, lock=True)
                if execution is None:
                    await self.runner.stop(handle, force=True)
                    return
                execution.handle = handle
                execution.runner = self.runner.kind
                if execution.status == RunStatus.SCHEDULED.value:
                    await set_execution_status(
                        session,
                        outbox,
                        execution,
                        RunStatus.STARTING,
                        reason="Runner",
                        message=f"started by the {self.runner.kind} runner",
                    )
                else:
                    # A stop arrived while it was starting: the monitor ends it.
                    execution.stop_requested = True
                    request_commit_hooks(session, MONITOR)
        finally:
            self.starting.discard(uuid)
