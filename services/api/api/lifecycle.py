"""Run lifecycle routes: skip, restart, copy, resume, transfer, and the bulk operations
(`/api/v1/{owner}/{project}/runs/stop|approve|skip|delete|tag|transfer` with `{"uuids": [...]}`)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from libs.common.http import ApiError, not_found
from services.api.api.runs import run_or_404, status_of
from services.api.api.schemas import RunRead, StatusRead
from services.api.db import queries
from services.api.db.tables import Project
from services.api.deps import (
    CurrentUser,
    OutboxDep,
    Owner,
    RunUuid,
    SessionDep,
    SettingsDep,
    project_or_404,
)
from services.api.domain import lifecycle
from services.api.domain.runs import approve_run, delete_run, stop_run, update_run

router = APIRouter(prefix="/api/v1", tags=["run lifecycle"])


class OverrideIn(BaseModel):
    """The V1Run Polyaxon's clients send to restart, copy or resume; `{}` changes nothing."""

    content: str | None = None
    name: str | None = Field(None, max_length=250)
    description: str | None = None
    tags: list[str] | None = None
    meta_info: dict[str, Any] | None = None

    def override(self) -> lifecycle.Override:
        return lifecycle.Override(
            self.content, self.name, self.description, self.tags, self.meta_info or {}
        )


class Uuids(BaseModel):
    uuids: list[str] = Field(min_length=1, max_length=1000)


class UuidsAndTags(Uuids):
    """V1EntitiesTags."""

    tags: list[Annotated[str, Field(min_length=1, max_length=250)]] = Field(
        min_length=1, max_length=100
    )


class TransferIn(BaseModel):
    """V1Run carrying the destination `project`."""

    project: str = Field(min_length=1, max_length=150)


class TransferMany(Uuids):
    """V1EntitiesTransfer."""

    project: str = Field(min_length=1, max_length=150)


class BulkResult(BaseModel):
    uuids: list[str]
    """The runs the operation applied to."""
    not_found: list[str]


@router.post("/{owner}/{project}/runs/stop", response_model=BulkResult)
async def stop_runs(
    owner: Owner, project: str, body: Uuids, _: CurrentUser, session: SessionDep, outbox: OutboxDep
) -> BulkResult:
    return await _bulk(owner, project, body, session, lambda run: stop_run(session, outbox, run))


@router.post("/{owner}/{project}/runs/approve", response_model=BulkResult)
async def approve_runs(
    owner: Owner,
    project: str,
    body: Uuids,
    _: CurrentUser,
    session: SessionDep,
    outbox: OutboxDep,
    settings: SettingsDep,
) -> BulkResult:
    return await _bulk(
        owner, project, body, session, lambda run: approve_run(session, outbox, settings, run)
    )


@router.post("/{owner}/{project}/runs/skip", response_model=BulkResult)
async def skip_runs(
    owner: Owner, project: str, body: Uuids, _: CurrentUser, session: SessionDep, outbox: OutboxDep
) -> BulkResult:
    return await _bulk(
        owner, project, body, session, lambda run: lifecycle.skip_run(session, outbox, run)
    )


@router.delete("/{owner}/{project}/runs/delete", response_model=BulkResult)
async def delete_runs(
    owner: Owner, project: str, body: Uuids, _: CurrentUser, session: SessionDep, outbox: OutboxDep
) -> BulkResult:
    return await _bulk(owner, project, body, session, lambda run: delete_run(session, outbox, run))


@router.post("/{owner}/{project}/runs/tag", response_model=BulkResult)
async def tag_runs(
    owner: Owner, project: str, body: UuidsAndTags, _: CurrentUser, session: SessionDep
) -> BulkResult:
    """Adds tags to each run, as `PATCH` with `merge` does for one."""

    async def tag(run: Any) -> None:
        update_run(run, {"tags": body.tags}, merge=True)

    return await _bulk(owner, project, body, session, tag)


@router.post("/{owner}/{project}/runs/transfer", response_model=BulkResult)
async def transfer_runs(
    owner: Owner,
    project: str,
    body: TransferMany,
    _: CurrentUser,
    session: SessionDep,
    outbox: OutboxDep,
) -> BulkResult:
    """Moves finished runs to another project of the same owner (all or none)."""

    async def move(run: Any) -> None:
        destination = await _destination(session, owner, body.project)
        await lifecycle.transfer_run(session, outbox, run, destination)

    return await _bulk(owner, project, body, session, move)


@router.post("/{owner}/{project}/runs/{uuid}/transfer", status_code=200)
async def transfer(
    owner: Owner,
    project: str,
    uuid: RunUuid,
    body: TransferIn,
    _: CurrentUser,
    session: SessionDep,
    outbox: OutboxDep,
) -> None:
    """Moves a finished run to another project of the same owner."""
    async with session.begin():
        source = await project_or_404(session, owner, project)
        run = await run_or_404(session, source, uuid, lock=True)
        destination = await _destination(session, owner, body.project)
        await lifecycle.transfer_run(session, outbox, run, destination)


async def _destination(session: SessionDep, owner: str, name: str) -> Project:
    found = await queries.get_project(session, owner, name)
    if found is None:
        raise not_found(f"project {owner}/{name} to transfer to", ("body", "project"))
    return found


async def _bulk(
    owner: str, project: str, body: Uuids, session: SessionDep, apply: Any
) -> BulkResult:
    done: list[str] = []
    missing: list[str] = []
    async with session.begin():
        target = await project_or_404(session, owner, project)
        for index, raw in enumerate(body.uuids):
            try:
                uuid = UUID(raw)
            except ValueError:
                raise ApiError(
                    422,
                    f"{raw!r} is not a run uuid",
                    loc=("body", "uuids", index),
                    type="uuid_parsing",
                ) from None
            run = await queries.get_run(session, target, uuid, lock=True)
            if run is None:
                missing.append(uuid.hex)
                continue
            await apply(run)
            done.append(uuid.hex)
    return BulkResult(uuids=done, not_found=missing)


@router.post("/{owner}/{project}/runs/{uuid}/skip", response_model=StatusRead)
async def skip(
    owner: Owner,
    project: str,
    uuid: RunUuid,
    _: CurrentUser,
    session: SessionDep,
    outbox: OutboxDep,
) -> StatusRead:
    async with session.begin():
        run = await run_or_404(
            session, await project_or_404(session, owner, project), uuid, lock=True
        )
        await lifecycle.skip_run(session, outbox, run)
    return status_of(run)


async def _clone(
    kind: str,
    owner: str,
    project: str,
    uuid: UUID,
    body: OverrideIn | None,
    user: Any,
    session: SessionDep,
    outbox: OutboxDep,
    settings: SettingsDep,
) -> RunRead:
    async with session.begin():
        target = await project_or_404(session, owner, project)
        run = await run_or_404(session, target, uuid)
        clone = await lifecycle.clone_run(
            session,
            outbox,
            settings,
            target,
            user,
            run,
            "copy" if kind == "copy" else "restart",
            (body or OverrideIn()).override(),
        )
    return RunRead.of(clone)


@router.post("/{owner}/{project}/runs/{uuid}/restart", response_model=RunRead)
async def restart(
    owner: Owner,
    project: str,
    uuid: RunUuid,
    user: CurrentUser,
    session: SessionDep,
    outbox: OutboxDep,
    settings: SettingsDep,
    body: OverrideIn | None = None,
) -> RunRead:
    """A new run from the same spec (`original.kind = restart`)."""
    return await _clone("restart", owner, project, uuid, body, user, session, outbox, settings)


@router.post("/{owner}/{project}/runs/{uuid}/copy", response_model=RunRead)
async def copy(
    owner: Owner,
    project: str,
    uuid: RunUuid,
    user: CurrentUser,
    session: SessionDep,
    outbox: OutboxDep,
    settings: SettingsDep,
    body: OverrideIn | None = None,
) -> RunRead:
    """A new run that starts with the original's artifacts (`original.kind = copy`)."""
    return await _clone("copy", owner, project, uuid, body, user, session, outbox, settings)


@router.post("/{owner}/{project}/runs/{uuid}/resume", response_model=RunRead)
async def resume(
    owner: Owner,
    project: str,
    uuid: RunUuid,
    user: CurrentUser,
    session: SessionDep,
    outbox: OutboxDep,
    settings: SettingsDep,
    body: OverrideIn | None = None,
) -> RunRead:
    """The same run again, from its final status; outputs and artifacts stay."""
    async with session.begin():
        target = await project_or_404(session, owner, project)
        run = await run_or_404(session, target, uuid, lock=True)
        await lifecycle.resume_run(
            session, outbox, settings, target, user, run, (body or OverrideIn()).override()
        )
    return RunRead.of(run)
