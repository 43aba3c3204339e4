"""Lineage: the artifacts a run reports (files, folders, models, metrics with their summaries,
environments), as Polyaxon's clients send them: `.../runs/{uuid}/lineage/artifacts`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, and_, func, select

from libs.common.http import ApiError, not_found
from libs.common.ids import new_id, utcnow
from services.api.api.pagination import Limit, Offset, Page, page_links
from services.api.db import queries
from services.api.db.tables import Run, RunArtifact
from services.api.deps import CurrentUser, Owner, RunUuid, SessionDep, project_or_404

router = APIRouter(prefix="/api/v1", tags=["lineage"])


class ArtifactIn(BaseModel):
    """V1RunArtifact."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=250)
    kind: str = Field(min_length=1, max_length=30, description="A V1ArtifactKind.")
    path: str | None = None
    state: str | None = Field(None, max_length=100)
    summary: dict[str, Any] | None = None
    meta_info: dict[str, Any] | None = None
    connection: str | None = Field(None, max_length=250)
    is_input: bool = False


class ArtifactsIn(BaseModel):
    """V1RunArtifacts."""

    model_config = ConfigDict(extra="ignore")

    artifacts: list[ArtifactIn] = Field(max_length=10_000)


class ArtifactRead(BaseModel):
    name: str
    kind: str
    path: str | None
    state: str | None
    summary: dict[str, Any]
    meta_info: dict[str, Any]
    connection: str | None
    is_input: bool
    run: str

    @classmethod
    def of(cls, row: RunArtifact) -> ArtifactRead:
        return cls(
            name=row.name,
            kind=row.kind,
            path=row.path,
            state=row.state,
            summary=row.summary or {},
            meta_info=row.meta_info or {},
            connection=row.connection,
            is_input=row.is_input,
            run=row.run_uuid.hex,
        )


_FILTERABLE = {"name": RunArtifact.name, "kind": RunArtifact.kind, "path": RunArtifact.path}


def _conditions(query: str) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    for part in query.split(","):
        if not part.strip():
            continue
        field, sep, value = part.partition(":")
        column = _FILTERABLE.get(field.strip())
        values = [v.strip() for v in value.split("|") if v.strip()]
        if not sep or column is None or not values:
            raise ApiError(
                422,
                f"cannot filter lineage by {part.strip()!r}: expected name, kind or path, "
                "then `:` and values separated by `|`",
                loc=("query", "query"),
                type="invalid_query",
            )
        conditions.append(column.in_(values))
    return conditions


async def _run(session: SessionDep, owner: str, project: str, uuid: RunUuid) -> Run:
    target = await project_or_404(session, owner, project)
    run = await queries.get_run(session, target, uuid)
    if run is None:
        raise not_found(f"run {uuid.hex} in project {owner}/{project}", ("path", "uuid"))
    return run


@router.post("/{owner}/{project}/runs/{uuid}/lineage/artifacts", status_code=201)
async def record_lineage(
    owner: Owner,
    project: str,
    uuid: RunUuid,
    body: ArtifactsIn,
    _: CurrentUser,
    session: SessionDep,
) -> list[ArtifactRead]:
    """Record or update (by name and direction) each artifact; a repeated report replaces its
    summary, so a client may re-send lineage as a run goes on."""
    async with session.begin():
        run = await _run(session, owner, project, uuid)
        existing = {
            (row.name, row.is_input): row
            for row in (
                await session.execute(select(RunArtifact).where(RunArtifact.run_uuid == run.uuid))
            ).scalars()
        }
        now = utcnow()
        stored = []
        for item in body.artifacts:
            row = existing.get((item.name, item.is_input))
            if row is None:
                row = RunArtifact(
                    id=new_id(),
                    run_uuid=run.uuid,
                    name=item.name,
                    is_input=item.is_input,
                    created_at=now,
                )
                session.add(row)
                existing[(item.name, item.is_input)] = row
            row.kind, row.path, row.state = item.kind, item.path, item.state
            row.summary, row.meta_info = item.summary or {}, item.meta_info or {}
            row.connection, row.updated_at = item.connection, now
            stored.append(row)
    return [ArtifactRead.of(row) for row in stored]


@router.get("/{owner}/{project}/runs/{uuid}/lineage/artifacts", response_model=Page[ArtifactRead])
async def list_lineage(
    request: Request,
    owner: Owner,
    project: str,
    uuid: RunUuid,
    _: CurrentUser,
    session: SessionDep,
    offset: Offset = 0,
    limit: Limit = 100,
    query: Annotated[
        str | None,
        Query(
            description="Conditions on name, kind or path joined by `,`; `|` inside a value "
            "means any of (`name: loss|acc`, `kind: model`), as `polyaxon ops artifacts "
            "-l-name/-l-kind` sends them."
        ),
    ] = None,
) -> Page[ArtifactRead]:
    run = await _run(session, owner, project, uuid)
    where = and_(RunArtifact.run_uuid == run.uuid, *_conditions(query or ""))
    count = (
        await session.execute(select(func.count()).select_from(RunArtifact).where(where))
    ).scalar_one()
    rows = await session.execute(
        select(RunArtifact)
        .where(where)
        .order_by(RunArtifact.created_at, RunArtifact.name)
        .offset(offset)
        .limit(limit)
    )
    following, previous = page_links(request, offset, limit, count)
    results = [ArtifactRead.of(row) for row in rows.scalars()]
    return Page(count=count, results=results, next=following, previous=previous)
