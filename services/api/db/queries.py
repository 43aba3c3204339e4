"""Queries over the api's tables. They take the caller's session and never commit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from services.api.db.tables import Project, Run, Token, User

RUN_SORT_FIELDS: dict[str, InstrumentedAttribute[Any]] = {
    "created_at": Run.created_at,
    "updated_at": Run.updated_at,
    "started_at": Run.started_at,
    "finished_at": Run.finished_at,
    "name": Run.name,
    "status": Run.status,
    "kind": Run.kind,
    "user": Run.user,
}
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
) -> tuple[int, list[Run]]:
    where = Run.project_uuid == project.uuid
    count = (await session.execute(select(func.count()).select_from(Run).where(where))).scalar_one()
    rows = await session.execute(
        select(Run).where(where).order_by(*order).offset(offset).limit(limit)
    )
    return count, list(rows.scalars())


async def runs_of_project(session: AsyncSession, project: Project) -> list[Run]:
    rows = await session.execute(select(Run).where(Run.project_uuid == project.uuid))
    return list(rows.scalars())
