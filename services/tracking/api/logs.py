"""Logs: ingest lines from the SDK; read a run's logs in Polyaxon's V1Logs shape, page by time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from libs.common.http import ApiError
from libs.common.ids import as_utc, utcnow
from libs.common.logs import LogLine
from services.tracking.deps import PubSubDep, ReadableRun, SettingsDep, StoreDep, WritableRun
from services.tracking.domain import live

# Polyaxon's CLI prints only its main containers' lines unless asked for all; Ganglion's runners
# call the main container `main`.
POLYAXON_MAIN = "polyaxon-main"

router = APIRouter(prefix="/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}", tags=["logs"])


class LogIn(BaseModel):
    value: str
    timestamp: datetime | None = None
    container: str | None = Field(None, max_length=100)


class LogsIn(BaseModel):
    logs: list[LogIn]


class LogOut(BaseModel):
    timestamp: datetime
    node: str | None
    pod: str | None
    container: str | None
    value: str


class LogsOut(BaseModel):
    """V1Logs."""

    logs: list[LogOut]
    last_time: datetime | None
    last_file: str | None = None
    files: list[str] = []


def parse_time(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        return as_utc(datetime.fromisoformat(raw.strip().replace(" ", "+")))
    except ValueError:
        raise ApiError(
            422,
            f"{raw!r} is not an ISO 8601 time",
            loc=("query", "last_time"),
            type="datetime_parsing",
        ) from None


@router.post("/logs")
async def ingest_logs(
    run: WritableRun, body: LogsIn, store: StoreDep, settings: SettingsDep, pubsub: PubSubDep
) -> dict[str, int]:
    if len(body.logs) > settings.max_batch:
        raise ApiError(
            413,
            f"{len(body.logs)} lines in one batch; the limit is {settings.max_batch}",
            loc=("body", "logs"),
            type="too_large",
        )
    now = utcnow()
    lines = [
        LogLine(
            timestamp=line.timestamp or now, value=line.value, container=line.container or "sdk"
        )
        for line in body.logs
    ]
    await store.append_logs(run.project, run.uuid, "sdk", lines)
    await live.announce(pubsub, live.logs_channel(run.uuid), lambda: live.logs_message(lines))
    return {"count": len(lines)}


@router.get("/logs", response_model=LogsOut)
async def read_logs(
    run: ReadableRun,
    store: StoreDep,
    settings: SettingsDep,
    last_time: Annotated[
        str | None, Query(description="Only lines after this time (from the previous page).")
    ] = None,
    last_file: Annotated[str | None, Query()] = None,
    kind: Annotated[
        str | None, Query(description="Accepted for Polyaxon's clients; unused.")
    ] = None,
    force: Annotated[bool | None, Query()] = None,
) -> LogsOut:
    after = parse_time(last_time)
    lines = [
        line
        for line in await store.read_logs(run.project, run.uuid)
        if after is None or line.timestamp > after
    ]
    page = lines[: settings.logs_page]
    # Never cut between lines with the same timestamp: the next page starts strictly after it.
    while len(page) < len(lines) and page and lines[len(page)].timestamp == page[-1].timestamp:
        page.append(lines[len(page)])
    return LogsOut(
        logs=[
            LogOut(
                timestamp=x.timestamp,
                node=x.node,
                pod=x.pod,
                container=POLYAXON_MAIN if x.container == "main" else x.container,
                value=x.value,
            )
            for x in page
        ],
        last_time=page[-1].timestamp if page else after,
    )
