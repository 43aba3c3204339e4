"""Metrics: ingest batches of points; read series in Polyaxon's events shape."""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import insert, select

from libs.common.http import ApiError
from libs.common.ids import as_utc, utcnow
from services.tracking.db.tables import MetricPoint
from services.tracking.deps import ReadableRun, SessionDep, SettingsDep, WritableRun

router = APIRouter(prefix="/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}", tags=["metrics"])


class PointIn(BaseModel):
    name: str = Field(min_length=1, max_length=250)
    value: float
    step: int | None = Field(None, ge=0)
    timestamp: datetime | None = None

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class MetricsIn(BaseModel):
    metrics: list[PointIn]


class Ingested(BaseModel):
    count: int


@router.post("/metrics", response_model=Ingested)
async def ingest_metrics(
    run: WritableRun, body: MetricsIn, session: SessionDep, settings: SettingsDep
) -> Ingested:
    if len(body.metrics) > settings.max_batch:
        raise ApiError(
            413,
            f"{len(body.metrics)} points in one batch; the limit is {settings.max_batch}",
            loc=("body", "metrics"),
            type="too_large",
        )
    if body.metrics:
        now = utcnow()
        rows = [
            {
                "run_uuid": run.uuid,
                "name": p.name,
                "step": p.step,
                "value": p.value,
                "timestamp": p.timestamp or now,
            }
            for p in body.metrics
        ]
        async with session.begin():
            await session.execute(insert(MetricPoint), rows)
    return Ingested(count=len(body.metrics))


@router.get("/events/{kind}")
async def read_events(
    run: ReadableRun,
    kind: str,
    session: SessionDep,
    names: Annotated[
        str | None, Query(description="Comma-separated metric names; all by default.")
    ] = None,
    orient: Annotated[Literal["dict", "csv"], Query()] = "dict",
) -> dict[str, Any]:
    if kind != "metric":
        raise ApiError(
            400, f"events of kind {kind!r} are not stored yet; only 'metric'", loc=("path", "kind")
        )
    query = select(
        MetricPoint.name, MetricPoint.step, MetricPoint.timestamp, MetricPoint.value
    ).where(MetricPoint.run_uuid == run.uuid)
    wanted = [n.strip() for n in (names or "").split(",") if n.strip()]
    if wanted:
        query = query.where(MetricPoint.name.in_(wanted))
    query = query.order_by(
        MetricPoint.name, MetricPoint.step, MetricPoint.timestamp, MetricPoint.id
    )
    series: dict[str, dict[str, list[Any]]] = {}
    for name, step, timestamp, value in (await session.execute(query)).all():
        data = series.setdefault(name, {"step": [], "timestamp": [], "metric": []})
        data["step"].append(step)
        data["timestamp"].append(as_utc(timestamp).isoformat())
        data["metric"].append(value)
    if orient == "csv":
        return {"data": [{"name": n, "kind": kind, "data": _csv(d)} for n, d in series.items()]}
    return {"data": [{"name": n, "kind": kind, "data": d} for n, d in series.items()]}


def _csv(data: dict[str, list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["step", "timestamp", "metric"])
    writer.writerows(zip(data["step"], data["timestamp"], data["metric"], strict=True))
    return out.getvalue()
