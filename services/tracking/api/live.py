"""Live streams as Server-Sent Events: a run's logs and metric points as they arrive. Each stream
first sends what is stored (logs after `last_time`), then follows the run's pub/sub channel, so
any replica serves any run. Events: `log` (one line), `metrics` (`{name: {step, timestamp,
metric}}`), and a comment every `keepalive` seconds."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.sse import EventSourceResponse, ServerSentEvent

from services.tracking.api.logs import parse_time
from services.tracking.deps import PubSubDep, ReadableRun, StoreDep
from services.tracking.domain import live

router = APIRouter(prefix="/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}", tags=["live"])


def last_time(
    last_time: Annotated[str | None, Query(description="Only lines after this time.")] = None,
) -> datetime | None:
    # A dependency, so that a bad value is a 422 before the stream starts.
    return parse_time(last_time)


Keepalive = Annotated[
    float, Query(gt=0, le=300, description="Seconds between keep-alive comments.")
]


@router.get("/logs/stream", response_class=EventSourceResponse)
async def stream_logs(
    run: ReadableRun,
    store: StoreDep,
    pubsub: PubSubDep,
    after: Annotated[datetime | None, Depends(last_time)] = None,
    keepalive: Keepalive = 15.0,
    poll: Annotated[
        float,
        Query(gt=0, le=60, description="Seconds between looks at files runners write directly."),
    ] = 2.0,
) -> AsyncIterator[ServerSentEvent]:
    async with pubsub.subscribe(live.logs_channel(run.uuid)) as subscription:
        idle, cursor = 0.0, dict[str, int]()
        while True:
            # Runners write their lines to the store directly; lines sent through tracking also
            # wake the stream up at once through the channel. Each look reads only what the
            # files gained since the last one.
            fresh = [
                line
                for line in await store.read_new_logs(run.project, run.uuid, cursor)
                if after is None or line.timestamp > after
            ]
            after = None  # `last_time` filters what was stored before the stream started
            for line in fresh:
                yield ServerSentEvent(
                    data=line.model_dump(mode="json", exclude_none=True), event="log"
                )
            if fresh:
                idle = 0.0
            message = await subscription.get(poll)
            if message is None:
                idle += poll
                if idle >= keepalive:
                    idle = 0.0
                    yield ServerSentEvent(comment="keepalive")


@router.get("/metrics/stream", response_class=EventSourceResponse)
async def stream_metrics(
    run: ReadableRun, pubsub: PubSubDep, keepalive: Keepalive = 15.0
) -> AsyncIterator[ServerSentEvent]:
    """New points as they are written (what was stored before: `GET .../metrics/history`)."""
    async with pubsub.subscribe(live.metrics_channel(run.uuid)) as subscription:
        yield ServerSentEvent(comment="subscribed")
        while True:
            message = await subscription.get(keepalive)
            if message is None:
                yield ServerSentEvent(comment="keepalive")
                continue
            yield ServerSentEvent(data=json.loads(message), event="metrics")
