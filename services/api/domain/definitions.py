"""Queues and quotas: the api keeps the definitions and announces each change whole."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.events.contracts import QueueChanged, QuotaChanged
from libs.common.outbox import Outbox
from services.api.db.tables import QueueDefinition, Quota


async def announce_queue(
    session: AsyncSession, outbox: Outbox, queue: QueueDefinition, *, deleted: bool = False
) -> None:
    await outbox.emit(
        session,
        QueueChanged(
            name=queue.name, priority=queue.priority, concurrency=queue.concurrency, deleted=deleted
        ),
        subject=f"queue:{queue.owner}/{queue.name}",
    )


async def announce_quota(
    session: AsyncSession, outbox: Outbox, quota: Quota, *, deleted: bool = False
) -> None:
    await outbox.emit(
        session,
        QuotaChanged(
            kind=quota.kind,
            subject=quota.subject,
            runs=quota.runs,
            cpu=quota.cpu,
            memory=quota.memory,
            gpu=quota.gpu,
            share=quota.share,
            deleted=deleted,
        ),
        subject=f"quota:{quota.owner}/{quota.kind}/{quota.subject}",
    )


async def get_queue(session: AsyncSession, owner: str, name: str) -> QueueDefinition | None:
    query = select(QueueDefinition).where(
        QueueDefinition.owner == owner, QueueDefinition.name == name
    )
    return (await session.execute(query)).scalar_one_or_none()


async def get_quota(session: AsyncSession, owner: str, kind: str, subject: str) -> Quota | None:
    query = select(Quota).where(Quota.owner == owner, Quota.kind == kind, Quota.subject == subject)
    return (await session.execute(query)).scalar_one_or_none()
