"""Queries over the scheduler's tables. They take the caller's session and never commit."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.lifecycle import ACTIVE, RunStatus
from services.scheduler.db.tables import Execution

WATCHED = frozenset(ACTIVE | {RunStatus.UNSCHEDULABLE})
"""Statuses in which an execution may hold, or be about to hold, a runner."""


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


async def waiting(session: AsyncSession, limit: int) -> list[Execution]:
    query = (
        select(Execution)
        .where(Execution.status == RunStatus.QUEUED.value)
        .order_by(Execution.queued_at, Execution.uuid)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def watched(session: AsyncSession) -> list[UUID]:
    query = select(Execution.uuid).where(Execution.status.in_([s.value for s in WATCHED]))
    return list((await session.execute(query)).scalars())


async def queue_position(session: AsyncSession, execution: Execution) -> int | None:
    if execution.status != RunStatus.QUEUED.value or execution.queued_at is None:
        return None
    query = (
        select(func.count())
        .select_from(Execution)
        .where(
            Execution.status == RunStatus.QUEUED.value, Execution.queued_at < execution.queued_at
        )
    )
    return (await session.execute(query)).scalar_one() + 1
