"""Queries over the api's tables. They take the caller's session and never commit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from services.api.db.tables import Project, Run, Token, User

PROJECT_SORT_FIELDS: dict[str, InstrumentedAttribute[Any]] = {
    "created_at": Project.created_at,
    "updated_at": Project.updated_at,
    "name": Project.name,
}


async def user_by_token_hash(session: AsyncSession, token_hash: str) -> User | None:
    query = select(User).join(Token, Token.user_id == User.id).where(Token.token_hash == token_hash)
    return (await session.execute(query)).scalar_one_or_none()


async def get_project(session: AsyncSession, owner: str, name: str) -> Project | None:
    query = select(Project).where(Project.owner == owner, Project.name == name)
    return (await session.execute(query)).scalar_one_or_none()


async def get_run(
    session: AsyncSession, project: Project, uuid: UUID, *, lock: bool = False
) -> Run | None:
    query = select(Run).where(Run.uuid == uuid, Run.project_uuid == project.uuid)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def get_run_by_uuid(session: AsyncSession, uuid: UUID, *, lock: bool = False) -> Run | None:
    query = select(Run).where(Run.uuid == uuid)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def list_projects(
    session: AsyncSession,
    owner: str,
    *,
    order: Sequence[ColumnElement[Any]],
    offset: int,
    limit: int,
) -> tuple[int, list[Project]]:
    where = Project.owner == owner
    count = (
        await session.execute(select(func.count()).select_from(Project).where(where))
    ).scalar_one()
    rows = await session.execute(
        select(Project).where(where).order_by(*order).offset(offset).limit(limit)
    )
    return count, list(rows.scalars())


async def list_runs(
    session: AsyncSession,
    project: Project,
    *,
    order: Sequence[ColumnElement[Any]],
    offset: int,
    limit: int,
    where: ColumnElement[bool] | None = None,
    joins: Sequence[tuple[Any, ColumnElement[bool]]] = (),
) -> tuple[int, list[Run]]:
    """A page of a project's runs matching `where` (a compiled PQL query), and how many match.
    `joins` are outer joins the order needs (a metric's summary, say)."""
    condition = Run.project_uuid == project.uuid
    if where is not None:
        condition = condition & where
    count = (
        await session.execute(select(func.count()).select_from(Run).where(condition))
    ).scalar_one()
    query = select(Run)
    for target, on in joins:
        query = query.outerjoin(target, on)
    rows = await session.execute(
        query.where(condition).order_by(*order).offset(offset).limit(limit)
    )
    return count, list(rows.scalars())


async def runs_of_project(session: AsyncSession, project: Project) -> list[Run]:
    rows = await session.execute(select(Run).where(Run.project_uuid == project.uuid))
    return list(rows.scalars())
