"""The reconciler: repairs what the database believes from what the runtime reports.

- An execution the runtime still runs but the database says ended, was deleted, or never knew
  (an orphan) is stopped.
- An ended execution past its termination.ttl has its leftovers cleaned by the runner.
- Every `resync_interval`, the current status of each live (and recently ended) execution is
  announced again; the api treats a status it already has as a refresh, and one it missed (a lost
  or dead-lettered event) as the transition it is.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from uuid import UUID

from sqlalchemy import or_, select

from libs.common.events.contracts import SchedulerRunStatusChanged, run_subject
from libs.common.ids import as_utc, utcnow
from libs.common.lifecycle import DONE, RunStatus
from libs.common.loops import Loop
from libs.common.runtime import Runtime
from services.scheduler.db import queries
from services.scheduler.db.tables import Execution
from services.scheduler.loops.monitor import WATCHED
from services.scheduler.runners.base import Runner
from services.scheduler.settings import SchedulerSettings

log = logging.getLogger(__name__)
RESYNC_WINDOW = timedelta(hours=1)


class Reconciler(Loop):
    name = "reconciler"

    def __init__(self, runtime: Runtime, settings: SchedulerSettings, runner: Runner) -> None:
        super().__init__(max(settings.poll_interval * 5, 1.0))
        self.runtime = runtime
        self.settings = settings
        self.runner = runner
        self._last_resync = 0.0

    async def run_once(self) -> None:
        await self.stop_orphans()
        await self.clean_expired()
        if time.monotonic() - self._last_resync >= self.settings.resync_interval:
            await self.resync()
            self._last_resync = time.monotonic()

    async def stop_orphans(self) -> list[str]:
        candidates = []
        for handle in await self.runner.list_active():
            async with self.runtime.db.read_session() as session:
                execution = await queries.get_execution(session, UUID(handle["run_uuid"]))
            # A run being started has no handle in the database yet: only ended, deleted or
            # unknown executions can leave orphans.
            if execution is None or execution.deleted or RunStatus(execution.status) in DONE:
                candidates.append((handle, execution.status if execution else "unknown"))
        if not candidates:
            return []
        # A run that ended between the two looks is not an orphan: its process must still be there.
        still = {h["run_uuid"] for h in await self.runner.list_active()}
        stopped = []
        for handle, state in candidates:
            if handle["run_uuid"] in still:
                log.warning(
                    "run %s (%s): its process outlived it; stopping it", handle["run_uuid"], state
                )
                await self.runner.stop(handle, force=True)
                stopped.append(handle["run_uuid"])
        return stopped

    async def clean_expired(self) -> int:
        now = utcnow()
        async with self.runtime.db.read_session() as session:
            rows = (
                await session.execute(
                    select(Execution.uuid).where(
                        Execution.status.in_([s.value for s in DONE]),
                        Execution.ttl.is_not(None),
                        Execution.cleaned_at.is_(None),
                        Execution.handle.is_not(None),
                    )
                )
            ).scalars()
            uuids = list(rows)
        cleaned = 0
        for uuid in uuids:
            async with self.runtime.db.session() as session, session.begin():
                execution = await queries.get_execution(session, uuid, lock=True)
                if (
                    execution is None
                    or execution.finished_at is None
                    or execution.ttl is None
                    or execution.handle is None
                ):
                    continue
                if now - as_utc(execution.finished_at) < timedelta(seconds=execution.ttl):
                    continue
                await self.runner.cleanup(execution.handle)
                execution.cleaned_at = now
                cleaned += 1
        return cleaned

    async def resync(self) -> int:
        since = utcnow() - RESYNC_WINDOW
        async with self.runtime.db.session() as session, session.begin():
            query = select(Execution).where(
                Execution.deleted.is_(False),
                Execution.status_conditions.is_not(None),
                or_(
                    Execution.status.in_([s.value for s in WATCHED]), Execution.updated_at >= since
                ),
            )
            executions = list((await session.execute(query)).scalars())
            for execution in executions:
                if not execution.status_conditions:
                    continue
                last = execution.status_conditions[-1]
                await self.runtime.outbox.emit(
                    session,
                    SchedulerRunStatusChanged(
                        uuid=execution.uuid,
                        status=RunStatus(execution.status),
                        reason=last.get("reason") or "Resync",
                        message=last.get("message"),
                        transitioned_at=last["last_transition_time"],
                        submission=execution.submission,
                    ),
                    subject=run_subject(execution.uuid),
                )
        return len(executions)
