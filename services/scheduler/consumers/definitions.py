"""The scheduler's read models of queues and quotas, from the api's definitions."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.db.database import after_commit
from libs.common.events.contracts import QueueChanged, QuotaChanged
from libs.common.events.envelope import Envelope
from libs.common.inbox import SessionHandler
from services.scheduler.db.tables import QueueDefinition, Quota


def queue_changed(changed: Callable[[], None]) -> SessionHandler:
    """`changed` runs once the new definition is committed: the dispatcher re-reads, re-decides."""

    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        await _queue_changed(session, envelope)
        after_commit(session, changed)

    return handle


def quota_changed(changed: Callable[[], None]) -> SessionHandler:
    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        await _quota_changed(session, envelope)
        after_commit(session, changed)

    return handle


async def _queue_changed(session: AsyncSession, envelope: Envelope) -> None:
    event = envelope.open(QueueChanged)
    await session.execute(delete(QueueDefinition).where(QueueDefinition.name == event.name))
    if not event.deleted:
        session.add(
            QueueDefinition(name=event.name, priority=event.priority, concurrency=event.concurrency)
        )


async def _quota_changed(session: AsyncSession, envelope: Envelope) -> None:
    event = envelope.open(QuotaChanged)
    await session.execute(
        delete(Quota).where(Quota.kind == event.kind, Quota.subject == event.subject)
    )
    if not event.deleted:
        session.add(
            Quota(
                kind=event.kind,
                subject=event.subject,
                runs=event.runs,
                cpu=event.cpu,
                memory=event.memory,
                gpu=event.gpu,
                share=event.share,
            )
        )
