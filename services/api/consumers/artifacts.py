"""A copy waits for its artifacts: once tracking copied them, the run is submitted."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.events.contracts import ArtifactsCopied
from libs.common.events.envelope import Envelope
from libs.common.inbox import SessionHandler
from libs.common.outbox import Outbox
from services.api.db import queries
from services.api.domain.runs import approve_run
from services.api.settings import ApiSettings

log = logging.getLogger(__name__)


def artifacts_copied(outbox: Outbox, settings: ApiSettings) -> SessionHandler:
    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        event = envelope.open(ArtifactsCopied)
        run = await queries.get_run_by_uuid(session, event.uuid, lock=True)
        if run is None or "copy_artifacts" not in (run.meta_info or {}):
            return
        if event.error:
            log.warning("run %s: copying its artifacts failed: %s", run.uuid, event.error)
            run.meta_info = {**run.meta_info, "copy_artifacts_error": event.error}
        if run.pending == "upload":
            await approve_run(session, outbox, settings, run)

    return handle
