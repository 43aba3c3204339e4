"""Mirror the scheduler's statuses onto the api's runs (`scheduler.run.status_changed`)."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.events.contracts import SchedulerRunStatusChanged
from libs.common.events.envelope import Envelope
from libs.common.inbox import SessionHandler
from libs.common.outbox import Outbox
from services.api.db import queries
from services.api.domain.status import set_run_status

log = logging.getLogger(__name__)


def mirror_scheduler_status(outbox: Outbox) -> SessionHandler:
    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        event = envelope.open(SchedulerRunStatusChanged)
        run = await queries.get_run_by_uuid(session, event.uuid, lock=True)
        if run is None:
            log.info("status %s for unknown run %s (deleted?)", event.status, event.uuid)
            return
        if event.submission < run.submission:
            log.info("run %s: ignoring %s from an earlier submission", run.uuid, event.status)
            return
        await set_run_status(
            session,
            outbox,
            run,
            event.status,
            reason=event.reason,
            message=event.message,
            at=event.transitioned_at,
            causation_id=envelope.id,
        )

    return handle
