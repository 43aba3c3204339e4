"""Projects: `/api/v1/{owner}/projects/create|list`, `/api/v1/{owner}/{name}`."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from libs.common.events.contracts import ProjectCreated, ProjectDeleted
from libs.common.http import ApiError
from libs.common.ids import new_id, utcnow
from services.api.api.pagination import Limit, Offset, Page, Sort, order_by, page_links
from services.api.api.schemas import (
    RESERVED_PROJECT_NAMES,
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
)
from services.api.db import queries
from services.api.db.tables import Project
from services.api.deps import CurrentUser, OutboxDep, Owner, SessionDep, project_or_404
from services.api.domain.runs import delete_run

router = APIRouter(prefix="/api/v1", tags=["projects"])


def _check_name(name: str) -> None:
    if name in RESERVED_PROJECT_NAMES:
        raise ApiError(
            422, f"{name!r} is reserved; choose another project name", loc=("body", "name")
        )


@router.post("/{owner}/projects/create", response_model=ProjectRead)
async def create_project(
    owner: Owner, body: ProjectCreate, user: CurrentUser, session: SessionDep, outbox: OutboxDep
) -> ProjectRead:
    _check_name(body.name)
    async with session.begin():
        if await queries.get_project(session, owner, body.name) is not None:
            raise ApiError(
                409,
                f"project {owner}/{body.name} already exists",
                loc=("body", "name"),
                type="conflict",
            )
        now = utcnow()
        project = Project(
            uuid=new_id(),
            owner=owner,
            name=body.name,
            user=user.username,
            description=body.description,
            tags=body.tags or [],
            is_public=body.is_public,
            readme=body.readme,
            settings=body.settings or {},
            created_at=now,
            updated_at=now,
        )
        session.add(project)
        await session.flush()
        await outbox.emit(
            session,
            ProjectCreated(uuid=project.uuid, owner=owner, name=project.name),
            subject=f"project:{owner}/{project.name}",
        )
    return ProjectRead.of(project)


@router.get("/{owner}/projects/list", response_model=Page[ProjectRead])
async def list_projects(
    request: Request,
    owner: Owner,
    _: CurrentUser,
    session: SessionDep,
    offset: Offset = 0,
    limit: Limit = 20,
    sort: Sort = None,
) -> Page[ProjectRead]:
    order = order_by(sort, queries.PROJECT_SORT_FIELDS, "-created_at")
    count, projects = await queries.list_projects(
        session, owner, order=order, offset=offset, limit=limit
    )
    following, previous = page_links(request, offset, limit, count)
    return Page(
        count=count,
        results=[ProjectRead.of(p) for p in projects],
        next=following,
        previous=previous,
    )


@router.get("/{owner}/{name}", response_model=ProjectRead)
async def get_project(owner: Owner, name: str, _: CurrentUser, session: SessionDep) -> ProjectRead:
    return ProjectRead.of(await project_or_404(session, owner, name))


@router.patch("/{owner}/{name}", response_model=ProjectRead)
@router.put("/{owner}/{name}", response_model=ProjectRead)
async def update_project(
    owner: Owner, name: str, body: ProjectUpdate, _: CurrentUser, session: SessionDep
) -> ProjectRead:
    async with session.begin():
        project = await project_or_404(session, owner, name)
        changes = body.model_dump(exclude_unset=True)
        if changes.pop("name", project.name) != project.name:
            # Run paths in the artifact store and in every client's config carry the name.
            raise ApiError(
                422, "projects cannot be renamed", loc=("body", "name"), type="immutable"
            )
        for key, value in changes.items():
            if value is not None or key in {"description", "readme"}:
                setattr(project, key, value)
        project.updated_at = utcnow()
    return ProjectRead.of(project)


@router.delete("/{owner}/{name}", status_code=204)
async def delete_project(
    owner: Owner, name: str, _: CurrentUser, session: SessionDep, outbox: OutboxDep
) -> Response:
    async with session.begin():
        project = await project_or_404(session, owner, name)
        for run in await queries.runs_of_project(session, project):
            await delete_run(session, outbox, run)
        await outbox.emit(
            session,
            ProjectDeleted(uuid=project.uuid, owner=owner, name=project.name),
            subject=f"project:{owner}/{project.name}",
        )
        await session.delete(project)
    return Response(status_code=204)
