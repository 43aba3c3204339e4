"""Tracking's read model of runs, from the api's events; deletion drops a run's data."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.events.contracts import RunCreated, RunDeleted
from libs.common.events.envelope import Envelope
from libs.common.inbox import SessionHandler
from services.tracking.db.metrics import delete_run_metrics
from services.tracking.db.tables import RunEvent, TrackedRun
from services.tracking.domain.runs import tracked
from services.tracking.domain.stores.base import ArtifactStore


async def run_created(session: AsyncSession, envelope: Envelope) -> None:
    event = envelope.open(RunCreated)
    if await tracked(session, event.uuid) is not None:
        return
    session.add(
        TrackedRun(
            uuid=event.uuid,
            owner=event.owner,
            project=event.project,
            namespace=event.namespace,
            is_managed=event.is_managed,
            deleted=False,
            created_at=event.created_at,
        )
    )


def run_deleted(store: ArtifactStore) -> SessionHandler:
    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        event = envelope.open(RunDeleted)
        run = await tracked(session, event.uuid)
        if run is None:
            # Deleted before its creation reached us: a tombstone keeps late writes out.
            session.add(
                TrackedRun(
                    uuid=event.uuid,
                    owner=event.owner,
                    project=event.project,
                    namespace="",
                    is_managed=False,
                    deleted=True,
                    created_at=envelope.occurred_at,
                )
            )
        else:
            run.deleted = True
        await delete_run_metrics(session, event.uuid)
        await session.execute(delete(RunEvent).where(RunEvent.run_uuid == event.uuid))
        await store.delete_run(event.project, event.uuid)

    return handle
