"""Rich events beside metrics: text, images (a path to the stored asset), histograms, curves,
confusion matrices; read back in Polyaxon's events shape, with metrics under kind `metric`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgpack
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, ValidationError, model_validator
from sqlalchemy import insert, select

from libs.common.http import ApiError
from libs.common.ids import as_utc, utcnow
from services.tracking.api.metrics import Names, Sample, metric_events
from services.tracking.db.tables import RunEvent
from services.tracking.deps import (
    ReadableRun,
    RuntimeDep,
    SessionDep,
    SettingsDep,
    WritableRun,
    read_body,
)
from services.tracking.domain.ingest import MSGPACK_TYPES

RUN = "/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}"
router = APIRouter(prefix=RUN, tags=["events"])

REQUIRED: dict[str, tuple[str, ...]] = {
    "text": ("text",),
    "html": ("html",),
    "markdown": ("markdown",),
    "image": ("path",),
    "audio": ("path",),
    "video": ("path",),
    "histogram": ("values", "counts"),
    "curve": ("x", "y"),
    "confusion": ("x", "y", "z"),
    "chart": ("figure",),
    "dataframe": ("path",),
    "artifact": (),
    "model": (),
    "span": (),
}
"""Event kinds (Polyaxon's V1ArtifactKind names) and the keys each value must have."""

EventKind = Literal[
    "text",
    "html",
    "markdown",
    "image",
    "audio",
    "video",
    "histogram",
    "curve",
    "confusion",
    "chart",
    "dataframe",
    "artifact",
    "model",
    "span",
]


class EventIn(BaseModel):
    kind: EventKind
    name: str = Field(min_length=1, max_length=250)
    step: int | None = Field(None, ge=0)
    timestamp: datetime | None = None
    value: dict[str, Any]

    @model_validator(mode="after")
    def _has_keys(self) -> EventIn:
        missing = [key for key in REQUIRED[self.kind] if key not in self.value]
        if missing:
            raise ValueError(f"a {self.kind} event's value needs {', '.join(missing)}")
        return self


class EventsIn(BaseModel):
    events: list[EventIn]


@router.post("/events")
async def ingest_events(
    run: WritableRun, request: Request, runtime: RuntimeDep, settings: SettingsDep
) -> dict[str, int]:
    body = await read_body(request, settings.max_batch_bytes)
    try:
        if request.headers.get("content-type", "").split(";")[0].strip() in MSGPACK_TYPES:
            try:
                raw = msgpack.unpackb(body)
            except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
                raise ApiError(
                    422, "the body is not valid msgpack", loc=("body",), type="msgpack_invalid"
                ) from None
            parsed = EventsIn.model_validate(raw)
        else:
            parsed = EventsIn.model_validate_json(body)
    except ValidationError as exc:
        raise ApiError.many(
            422, [(("body", *e["loc"]), e["msg"], e["type"]) for e in exc.errors()[:20]]
        ) from None
    if len(parsed.events) > settings.max_batch:
        raise ApiError(
            413,
            f"{len(parsed.events)} events in one batch; the limit is {settings.max_batch}",
            loc=("body", "events"),
            type="too_large",
        )
    now = utcnow()
    rows = [
        {
            "run_uuid": run.uuid,
            "kind": e.kind,
            "name": e.name,
            "step": e.step,
            "timestamp": e.timestamp or now,
            "value": e.value,
        }
        for e in parsed.events
    ]
    if rows:
        async with runtime.db.session() as session, session.begin():
            await session.execute(insert(RunEvent), rows)
    return {"count": len(rows)}


@router.get("/events/{kind}")
async def read_events(
    run: ReadableRun,
    kind: str,
    session: SessionDep,
    names: Names = None,
    orient: Annotated[Literal["dict", "csv"], Query()] = "dict",
    sample: Sample = None,
) -> dict[str, Any]:
    """Polyaxon's `{data: [{name, kind, data: {step, timestamp, <kind>}}]}`."""
    if kind == "metric":
        return await metric_events(session, run.uuid, names, orient, sample)
    if kind not in REQUIRED:
        known = ", ".join(["metric", *REQUIRED])
        raise ApiError(
            400,
            f"no events of kind {kind!r}; kinds: {known}",
            loc=("path", "kind"),
            type="unknown_kind",
        )
    if orient == "csv":
        raise ApiError(400, "csv is only for metrics", loc=("query", "orient"), type="unsupported")
    query = select(RunEvent).where(RunEvent.run_uuid == run.uuid, RunEvent.kind == kind)
    wanted = [n.strip() for n in (names or "").split(",") if n.strip()]
    if wanted:
        query = query.where(RunEvent.name.in_(wanted))
    query = query.order_by(RunEvent.name, RunEvent.step, RunEvent.timestamp, RunEvent.id)
    series: dict[str, dict[str, list[Any]]] = {}
    for event in (await session.execute(query)).scalars():
        data = series.setdefault(event.name, {"step": [], "timestamp": [], kind: []})
        data["step"].append(event.step)
        data["timestamp"].append(as_utc(event.timestamp).isoformat())
        data[kind].append(event.value)
    return {"data": [{"name": n, "kind": kind, "data": d} for n, d in series.items()]}
