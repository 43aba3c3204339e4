"""Queries over the scheduler's tables. They take the caller's session and never commit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.lifecycle import ACTIVE, RunStatus
from services.scheduler.db.tables import Execution, QueueDefinition, Quota


async def get_execution(
    session: AsyncSession, uuid: UUID, *, lock: bool = False
) -> Execution | None:
    query = select(Execution).where(Execution.uuid == uuid)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def count_in(session: AsyncSession, statuses: Iterable[RunStatus]) -> int:
    query = (
        select(func.count())
        .select_from(Execution)
        .where(Execution.status.in_([s.value for s in statuses]))
    )
    return (await session.execute(query)).scalar_one()


async def queue_definitions(session: AsyncSession) -> list[QueueDefinition]:
    return list((await session.execute(select(QueueDefinition))).scalars())


async def quotas(session: AsyncSession) -> list[Quota]:
    return list((await session.execute(select(Quota))).scalars())


_SLOT = (
    Execution.uuid,
    Execution.queue,
    Execution.project,
    Execution.user,
    Execution.cpu,
    Execution.memory,
    Execution.gpu,
)


async def holding_slots(session: AsyncSession) -> list[Any]:
    """Light rows of the executions that count against limits."""
    query = select(*_SLOT).where(Execution.status.in_([s.value for s in ACTIVE]))
    return list((await session.execute(query)).all())


async def queued(session: AsyncSession, *, heads: int | None = None) -> list[Any]:
    """Light rows of the queued executions; with `heads`, only each project's first `heads`
    runs per queue, in the order the decision takes them (all a decision can start)."""
    columns = (*_SLOT, Execution.priority, Execution.queued_at, Execution.created_at)
    where = Execution.status == RunStatus.QUEUED.value
    if heads is None:
        return list((await session.execute(select(*columns).where(where))).all())
    rank = (
        func.row_number()
        .over(
            partition_by=(Execution.queue, Execution.project),
            order_by=(Execution.priority.desc(), Execution.queued_at, Execution.uuid),
        )
        .label("rank")
    )
    ranked = select(*columns, rank).where(where).subquery()
    query = select(*(ranked.c[c.key] for c in columns)).where(ranked.c.rank <= heads)
    return list((await session.execute(query)).all())
