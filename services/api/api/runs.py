"""Runs: `/api/v1/{owner}/{project}/runs[/{uuid}[/statuses|/stop|/approve]]`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.http import ApiError, not_found
from services.api.api.pagination import Limit, Offset, Page, Sort, page_links
from services.api.api.schemas import RunCreate, RunPatch, RunRead, StatusCreate, StatusRead
from services.api.db import queries
from services.api.db.tables import Project, Run
from services.api.deps import (
    CurrentUser,
    OutboxDep,
    Owner,
    RunUuid,
    SessionDep,
    SettingsDep,
    project_or_404,
)
from services.api.domain import runs as domain
from services.api.domain import search
from services.api.domain.status import set_run_status, timeline_of

router = APIRouter(prefix="/api/v1", tags=["runs"])


async def run_or_404(
    session: AsyncSession, project: Project, uuid: RunUuid, *, lock: bool = False
) -> Run:
    run = await queries.get_run(session, project, uuid, lock=lock)
    if run is None:
        raise not_found(
            f"run {uuid.hex} in project {project.owner}/{project.name}", ("path", "uuid")
        )
    return run


def status_of(run: Run) -> StatusRead:
    timeline = timeline_of(run)
    return StatusRead(
        uuid=run.uuid.hex, status=timeline.status, status_conditions=list(timeline.conditions)
    )


@router.post("/{owner}/{project}/runs", response_model=RunRead)
async def create_run(
    owner: Owner,
    project: str,
    body: RunCreate,
    user: CurrentUser,
    session: SessionDep,
    outbox: OutboxDep,
    settings: SettingsDep,
) -> RunRead:
    request = domain.RunRequest(
        content=body.content,
        name=body.name,
        description=body.description,
        tags=body.tags,
        is_managed=body.is_managed,
        managed_by=body.managed_by,
        meta_info=body.meta_info or {},
        pending=body.pending,
    )
    async with session.begin():
        target = await project_or_404(session, owner, project)
        run = await domain.create_run(session, outbox, settings, target, user, request)
    return RunRead.of(run)


@router.get("/{owner}/{project}/runs", response_model=Page[RunRead])
async def list_runs(
    request: Request,
    owner: Owner,
    project: str,
    _: CurrentUser,
    session: SessionDep,
    offset: Offset = 0,
    limit: Limit = 20,
    sort: Sort = None,
    query: Annotated[
        str | None,
        Query(
            description="A PQL query, e.g. `status:running|failed, metrics.loss.min:<0.1`.",
            max_length=4000,
        ),
    ] = None,
) -> Page[RunRead]:
    target = await project_or_404(session, owner, project)
    compiler = search.Compiler(session.get_bind().dialect.name)
    where = compiler.where_of(query) if query and query.strip() else None
    order = compiler.order(sort or "", "-created_at")
    count, rows = await queries.list_runs(
        session,
        target,
        order=order,
        offset=offset,
        limit=limit,
        where=where,
        joins=compiler.joins,
    )
    following, previous = page_links(request, offset, limit, count)
    results = [RunRead.of(r, with_content=False) for r in rows]
    return Page(count=count, results=results, next=following, previous=previous)


@router.get("/{owner}/{project}/runs/{uuid}", response_model=RunRead)
async def get_run(
    owner: Owner, project: str, uuid: RunUuid, _: CurrentUser, session: SessionDep
) -> RunRead:
    target = await project_or_404(session, owner, project)
    return RunRead.of(await run_or_404(session, target, uuid))


@router.patch("/{owner}/{project}/runs/{uuid}", response_model=RunRead)
@router.put("/{owner}/{project}/runs/{uuid}", response_model=RunRead)
async def update_run(
    owner: Owner, project: str, uuid: RunUuid, body: RunPatch, _: CurrentUser, session: SessionDep
) -> RunRead:
    async with session.begin():
        target = await project_or_404(session, owner, project)
        run = await run_or_404(session, target, uuid, lock=True)
        changes = body.model_dump(exclude_unset=True, exclude={"merge"})
        domain.update_run(run, changes, merge=body.merge)
    return RunRead.of(run)


@router.delete("/{owner}/{project}/runs/{uuid}", status_code=204)
async def delete_run(
    owner: Owner,
    project: str,
    uuid: RunUuid,
    _: CurrentUser,
    session: SessionDep,
    outbox: OutboxDep,
) -> Response:
    async with session.begin():
        target = await project_or_404(session, owner, project)
        await domain.delete_run(session, outbox, await run_or_404(session, target, uuid, lock=True))
    return Response(status_code=204)


@router.get("/{owner}/{project}/runs/{uuid}/statuses", response_model=StatusRead)
async def get_statuses(
    owner: Owner, project: str, uuid: RunUuid, _: CurrentUser, session: SessionDep
) -> StatusRead:
    target = await project_or_404(session, owner, project)
    return status_of(await run_or_404(session, target, uuid))


@router.post("/{owner}/{project}/runs/{uuid}/statuses", response_model=StatusRead)
async def create_status(
    owner: Owner,
    project: str,
    uuid: RunUuid,
    body: StatusCreate,
    _: CurrentUser,
    session: SessionDep,
    outbox: OutboxDep,
) -> StatusRead:
    condition = body.condition
    async with session.begin():
        target = await project_or_404(session, owner, project)
        run = await run_or_404(session, target, uuid, lock=True)
        change = await set_run_status(
            session,
            outbox,
            run,
            condition.type,
            reason=condition.reason,
            message=condition.message,
            meta_info=condition.meta_info,
            force=body.force,
        )
        if not change.decision.accepted:
            raise ApiError(
                409,
                f"status {condition.type} refused: {change.decision.reason}",
                loc=("body", "condition", "type"),
                type="forbidden_transition",
            )
    return status_of(run)


@router.post("/{owner}/{project}/runs/{uuid}/stop", response_model=StatusRead)
async def stop_run(
    owner: Owner,
    project: str,
    uuid: RunUuid,
    _: CurrentUser,
    session: SessionDep,
    outbox: OutboxDep,
) -> StatusRead:
    async with session.begin():
        target = await project_or_404(session, owner, project)
        run = await run_or_404(session, target, uuid, lock=True)
        await domain.stop_run(session, outbox, run)
    return status_of(run)


@router.post("/{owner}/{project}/runs/{uuid}/approve", response_model=StatusRead)
async def approve_run(
    owner: Owner,
    project: str,
    uuid: RunUuid,
    _: CurrentUser,
    session: SessionDep,
    outbox: OutboxDep,
    settings: SettingsDep,
) -> StatusRead:
    async with session.begin():
        target = await project_or_404(session, owner, project)
        run = await run_or_404(session, target, uuid, lock=True)
        await domain.approve_run(session, outbox, settings, run)
    return status_of(run)
