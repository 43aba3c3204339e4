"""Tracking's read model of runs, from the api's events; deletion drops a run's data."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.events.contracts import (
    ArtifactsCopied,
    RunCreated,
    RunDeleted,
    RunTransferred,
    run_subject,
)
from libs.common.events.envelope import Envelope
from libs.common.inbox import SessionHandler
from libs.common.outbox import Outbox
from services.tracking.db.metrics import delete_run_metrics
from services.tracking.db.tables import RunEvent, TrackedRun
from services.tracking.domain.runs import tracked
from services.tracking.domain.stores.base import ArtifactStore, UnsafePath, run_prefix


def run_created(store: ArtifactStore, outbox: Outbox) -> SessionHandler:
    async def handle(session: AsyncSession, envelope: Envelope) -> None:
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
        if event.copy_from is not None:
            await _copy(session, outbox, store, event)

    return handle


async def _copy(
    session: AsyncSession, outbox: Outbox, store: ArtifactStore, event: RunCreated
) -> None:
    """A copy starts with the original's artifacts; the api submits it once told they are in."""
    source = event.copy_from
    assert source is not None
    try:
        copied = await store.copy_run(
            (source.project, source.uuid),
            (event.project, event.uuid),
            dirs=source.dirs,
            files=source.files,
        )
        answer = ArtifactsCopied(uuid=event.uuid, files=copied)
    except (OSError, UnsafePath) as exc:
        # The copy still runs, without what could not be copied; the api records why.
        answer = ArtifactsCopied(uuid=event.uuid, error=str(exc))
    await outbox.emit(session, answer, subject=run_subject(event.uuid))


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


def run_transferred(store: ArtifactStore) -> SessionHandler:
    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        event = envelope.open(RunTransferred)
        run = await tracked(session, event.uuid)
        if run is not None:
            run.project = event.project
        # Files first, then the commit: a crash in between redelivers the event, and the move
        # carries on with what is left.
        await store.move_tree(
            run_prefix(event.previous_project, event.uuid), run_prefix(event.project, event.uuid)
        )

    return handle
