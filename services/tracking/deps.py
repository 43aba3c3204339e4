"""Typed dependencies for tracking's routes: the caller, the store, and the run a path names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, cast
from uuid import UUID

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.guards import token_guard
from libs.common.health import runtime_of
from libs.common.http import ApiError
from libs.common.pubsub import PubSub
from libs.common.runtime import Runtime
from services.tracking.db.tables import known_tokens
from services.tracking.domain.runs import check_run
from services.tracking.domain.stores.base import ArtifactStore
from services.tracking.settings import TrackingSettings

Caller = Annotated[str, Depends(token_guard(known_tokens))]


def get_runtime(request: Request) -> Runtime:
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_settings(runtime: RuntimeDep) -> TrackingSettings:
    return cast(TrackingSettings, runtime.settings)


SettingsDep = Annotated[TrackingSettings, Depends(get_settings)]


def get_store(runtime: RuntimeDep) -> ArtifactStore:
    return cast(ArtifactStore, runtime.extras["store"])


StoreDep = Annotated[ArtifactStore, Depends(get_store)]


def get_pubsub(runtime: RuntimeDep) -> PubSub:
    return cast(PubSub, runtime.extras["pubsub"])


PubSubDep = Annotated[PubSub, Depends(get_pubsub)]


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: int, limit: int) -> ApiError:
    return ApiError(
        413,
        f"a body of {size} bytes or more; the limit is {limit}",
        loc=("body",),
        type="too_large",
    )


async def get_session(request: Request, runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """Reads (GET) get a read session, which on SQLite never waits for the writer."""
    db = runtime.db
    async with db.read_session() if request.method in ("GET", "HEAD") else db.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


@dataclass(frozen=True)
class RunRef:
    namespace: str
    owner: str
    project: str
    uuid: UUID


def _uuid(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise ApiError(
            422, f"{raw!r} is not a run uuid", loc=("path", "uuid"), type="uuid_parsing"
        ) from None


async def readable_run(
    _: Caller,
    runtime: RuntimeDep,
    namespace: Annotated[str, Path()],
    owner: Annotated[str, Path()],
    project: Annotated[str, Path()],
    uuid: Annotated[str, Path()],
) -> RunRef:
    ref = RunRef(namespace, owner, project, _uuid(uuid))
    async with runtime.db.read_session() as session:
        await check_run(session, namespace, owner, project, ref.uuid, write=False)
    return ref


async def writable_run(
    _: Caller,
    runtime: RuntimeDep,
    namespace: Annotated[str, Path()],
    owner: Annotated[str, Path()],
    project: Annotated[str, Path()],
    uuid: Annotated[str, Path()],
) -> RunRef:
    ref = RunRef(namespace, owner, project, _uuid(uuid))
    async with runtime.db.read_session() as session:
        await check_run(session, namespace, owner, project, ref.uuid, write=True)
    return ref


ReadableRun = Annotated[RunRef, Depends(readable_run)]
WritableRun = Annotated[RunRef, Depends(writable_run)]
