"""Typed dependencies for the api's routes: runtime, settings, session, the caller, and the
project or run a path names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, cast
from uuid import UUID

from fastapi import Depends, Path, Request, Security
from fastapi.security import APIKeyHeader
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.auth import hash_token, token_from_header
from libs.common.health import runtime_of
from libs.common.http import ApiError, not_found
from libs.common.outbox import Outbox
from libs.common.runtime import Runtime
from services.api.db import queries
from services.api.db.tables import Project, User
from services.api.settings import ApiSettings

_authorization = APIKeyHeader(
    name="Authorization", auto_error=False, description="`Token <token>` (or `Bearer <token>`)"
)


def get_runtime(request: Request) -> Runtime:
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_settings(runtime: RuntimeDep) -> ApiSettings:
    return cast(ApiSettings, runtime.settings)


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]


def get_outbox(runtime: RuntimeDep) -> Outbox:
    return runtime.outbox


OutboxDep = Annotated[Outbox, Depends(get_outbox)]


async def get_session(request: Request, runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """Reads (GET) get a read session, which on SQLite never waits for the writer."""
    db = runtime.db
    async with db.read_session() if request.method in ("GET", "HEAD") else db.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def authenticate(
    runtime: RuntimeDep, authorization: Annotated[str | None, Security(_authorization)]
) -> User:
    token = token_from_header(authorization)
    if token is None:
        raise ApiError(
            401,
            "missing or malformed Authorization header; send `Authorization: Token <token>`",
            loc=("header", "Authorization"),
            type="unauthenticated",
        )
    async with runtime.db.read_session() as session:
        user = await queries.user_by_token_hash(session, hash_token(token))
    if user is None:
        raise ApiError(
            401, "invalid token", loc=("header", "Authorization"), type="unauthenticated"
        )
    return user


CurrentUser = Annotated[User, Depends(authenticate)]


def check_owner(settings: SettingsDep, owner: Annotated[str, Path()]) -> str:
    if owner not in settings.owners:
        raise not_found(f"owner {owner!r}", ("path", "owner"))
    return owner


Owner = Annotated[str, Depends(check_owner)]


async def project_or_404(session: AsyncSession, owner: str, name: str) -> Project:
    project = await queries.get_project(session, owner, name)
    if project is None:
        raise not_found(
            f"project {owner}/{name} (create it first: ganglion project create {name})",
            ("path", "project"),
        )
    return project


def run_uuid(
    uuid: Annotated[str, Path(description="The run's uuid, with or without dashes.")],
) -> UUID:
    try:
        return UUID(uuid)
    except ValueError:
        raise ApiError(
            422, f"{uuid!r} is not a run uuid", loc=("path", "uuid"), type="uuid_parsing"
        ) from None


RunUuid = Annotated[UUID, Depends(run_uuid)]
