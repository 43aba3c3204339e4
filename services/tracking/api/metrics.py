"""Metrics: ingest batches of points (JSON, NDJSON or msgpack; idempotent per batch id); read
summaries, histories (downsampled for charts, or paged in full) and Polyaxon's events shape,
for one run or several."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel

from libs.common.http import ApiError, not_found
from libs.common.ids import as_utc, utcnow
from services.tracking.db import metrics as queries
from services.tracking.db.tables import MetricSeries
from services.tracking.deps import (
    Caller,
    PubSubDep,
    ReadableRun,
    RuntimeDep,
    SessionDep,
    SettingsDep,
    WritableRun,
    read_body,
)
from services.tracking.domain import live
from services.tracking.domain.ingest import decode
from services.tracking.domain.points import Columns, downsample, to_micros
from services.tracking.domain.runs import readable_runs

RUN = "/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}"
router = APIRouter(tags=["metrics"])

RESOURCES = "resources/"
"""Series under this prefix are system resources (cpu, memory, gpu), served by `/resources`."""

Names = Annotated[str | None, Query(description="Comma-separated metric names; all by default.")]
Sample = Annotated[
    int | None,
    Query(
        ge=4,
        le=100_000,
        description="Downsample each series to at most this many points (extremes kept).",
    ),
]


class Ingested(BaseModel):
    count: int
    duplicate: bool = False


class SeriesSummary(BaseModel):
    name: str
    count: int
    min: float
    max: float
    last: float
    last_step: int | None
    last_timestamp: str

    @classmethod
    def of(cls, row: MetricSeries) -> SeriesSummary:
        return cls(
            name=row.name,
            count=row.count,
            min=row.min,
            max=row.max,
            last=row.last,
            last_step=row.last_step,
            last_timestamp=as_utc(row.last_timestamp).isoformat(),
        )


class History(BaseModel):
    name: str
    count: int
    """Points in the whole series."""
    returned: int
    downsampled: bool
    step: list[int | None]
    timestamp: list[str]
    value: list[float]
    next_after_step: int | None
    """For full reads: pass it as `after_step` for the next page; null on the last one."""


@router.post(f"{RUN}/metrics", response_model=Ingested)
async def ingest_metrics(
    run: WritableRun,
    request: Request,
    runtime: RuntimeDep,
    settings: SettingsDep,
    pubsub: PubSubDep,
    content_type: Annotated[str, Header()] = "application/json",
    x_batch_id: Annotated[
        str | None,
        Header(max_length=100, description="Makes the batch idempotent (or `batch_id` in it)."),
    ] = None,
) -> Ingested:
    body = await read_body(request, settings.max_batch_bytes)
    batch = decode(
        body,
        content_type,
        limit=settings.max_batch,
        now_micros=to_micros(utcnow()),
        batch_id=x_batch_id,
    )
    async with runtime.db.session() as session, session.begin():
        if batch.batch_id is not None and not await queries.claim_batch(
            session, run.uuid, batch.batch_id, batch.count
        ):
            return Ingested(count=batch.count, duplicate=True)
        await queries.store_batch(session, run.uuid, batch)
    channel = live.metrics_channel(run.uuid)
    await live.announce(pubsub, channel, lambda: live.metrics_message(batch.series))
    return Ingested(count=batch.count)


@router.get(f"{RUN}/metrics", response_model=list[SeriesSummary])
async def list_series(run: ReadableRun, session: SessionDep) -> list[SeriesSummary]:
    """Every metric of the run with its summary: count, min, max, last value and step."""
    return [SeriesSummary.of(row) for row in await queries.series_of(session, run.uuid)]


@router.get(f"{RUN}/metrics/history", response_model=History)
async def history(
    run: ReadableRun,
    session: SessionDep,
    settings: SettingsDep,
    name: Annotated[str, Query(min_length=1, description="The metric.")],
    max_points: Annotated[
        int | None,
        Query(ge=4, le=100_000, description="Downsample to at most this many points."),
    ] = None,
    after_step: Annotated[
        int | None, Query(ge=-1, description="Full read: only points after this step.")
    ] = None,
    limit: Annotated[int | None, Query(ge=1, description="Full read: points per page.")] = None,
) -> History:
    rows = await queries.series_of(session, run.uuid, [name])
    if not rows:
        raise not_found(f"metric {name!r} of run {run.uuid.hex}", ("query", "name"))
    series = rows[0]
    columns = await queries.points_of(session, series.id, after_step=after_step)
    following: int | None = None
    if max_points is not None:
        shown = downsample(columns, max_points)
    else:
        page = min(limit or settings.history_page, settings.history_page)
        shown = columns.take(slice(0, page))
        if len(columns) > page:
            following = int(shown.steps[-1])
    steps, times, values = shown.as_lists()
    return History(
        name=name,
        count=series.count,
        returned=len(shown),
        downsampled=len(shown) < len(columns) and max_points is not None,
        step=steps,
        timestamp=times,
        value=values,
        next_after_step=following,
    )


def _wanted(names: str | None) -> list[str]:
    return [n.strip() for n in (names or "").split(",") if n.strip()]


async def _series_data(
    session: SessionDep, rows: list[MetricSeries], sample: int | None
) -> dict[UUID, list[tuple[str, dict[str, list[Any]]]]]:
    out: dict[UUID, list[tuple[str, dict[str, list[Any]]]]] = {}
    for row in rows:
        columns: Columns = await queries.points_of(session, row.id)
        if sample is not None:
            columns = downsample(columns, sample)
        steps, times, values = columns.as_lists()
        data: dict[str, list[Any]] = {"step": steps, "timestamp": times, "metric": values}
        out.setdefault(row.run_uuid, []).append((row.name, data))
    return out


def _shape(
    series: list[tuple[str, dict[str, list[Any]]]], kind: str, orient: str
) -> list[dict[str, Any]]:
    if orient == "csv":
        return [{"name": n, "kind": kind, "data": _csv(d)} for n, d in series]
    return [{"name": n, "kind": kind, "data": d} for n, d in series]


async def metric_events(
    session: SessionDep,
    uuid: UUID,
    names: str | None,
    orient: str,
    sample: int | None,
    *,
    resources: bool = False,
) -> dict[str, Any]:
    rows = [
        row
        for row in await queries.series_of(session, uuid, _wanted(names))
        if row.name.startswith(RESOURCES) == resources
    ]
    data = (await _series_data(session, rows, sample)).get(uuid, [])
    return {"data": _shape(data, "metric", orient)}


@router.get(
    "/streams/v1/{namespace}/{owner}/{project}/runs/multi/events/{kind}",
    tags=["metrics"],
)
async def multi_run_events(
    _: Caller,
    session: SessionDep,
    namespace: str,
    owner: str,
    project: str,
    kind: str,
    runs: Annotated[str, Query(description="Comma-separated run uuids.")],
    names: Names = None,
    orient: Annotated[Literal["dict", "csv"], Query()] = "dict",
    sample: Sample = None,
) -> dict[str, Any]:
    """Several runs' metrics side by side, for comparison: `{data: {uuid: [series]}}`."""
    if kind != "metric":
        raise ApiError(
            400,
            f"multi-run reads serve metrics; got kind {kind!r}",
            loc=("path", "kind"),
            type="unsupported",
        )
    uuids: list[UUID] = []
    for raw in _wanted(runs):
        try:
            uuids.append(UUID(raw))
        except ValueError:
            raise ApiError(
                422, f"{raw!r} is not a run uuid", loc=("query", "runs"), type="uuid_parsing"
            ) from None
    if not uuids or len(uuids) > 100:
        raise ApiError(
            422, "name between 1 and 100 runs", loc=("query", "runs"), type="invalid_count"
        )
    await readable_runs(session, namespace, owner, project, uuids)
    rows = await queries.series_of_runs(session, uuids, _wanted(names))
    data = await _series_data(session, rows, sample)
    return {"data": {uuid.hex: _shape(data.get(uuid, []), kind, orient) for uuid in uuids}}


def _csv(data: dict[str, list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["step", "timestamp", "metric"])
    writer.writerows(zip(data["step"], data["timestamp"], data["metric"], strict=True))
    return out.getvalue()


@router.get(f"{RUN}/resources")
async def read_resources(
    run: ReadableRun,
    session: SessionDep,
    names: Names = None,
    orient: Annotated[Literal["dict", "csv"], Query()] = "dict",
    sample: Sample = None,
) -> dict[str, Any]:
    """System resources sampled while the run ran (series named `resources/...`)."""
    return await metric_events(session, run.uuid, names, orient, sample, resources=True)
