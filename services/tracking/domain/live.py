"""What live streams carry: after a write commits, its points or lines are published on the
run's channel; `/stream` endpoints on any replica forward them as Server-Sent Events."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

from libs.common.logs import LogLine
from libs.common.pubsub import PubSub
from services.tracking.domain.points import Columns

log = logging.getLogger(__name__)


def metrics_channel(uuid: UUID) -> str:
    return f"run:{uuid.hex}:metrics"


def logs_channel(uuid: UUID) -> str:
    return f"run:{uuid.hex}:logs"


def metrics_message(series: dict[str, Columns]) -> bytes:
    data: dict[str, Any] = {}
    for name, columns in series.items():
        steps, times, values = columns.ordered().as_lists()
        data[name] = {"step": steps, "timestamp": times, "metric": values}
    return json.dumps(data).encode()


def logs_message(lines: Iterable[LogLine]) -> bytes:
    return json.dumps([line.model_dump(mode="json", exclude_none=True) for line in lines]).encode()


async def announce(pubsub: PubSub, channel: str, build: Callable[[], bytes]) -> None:
    """Publish `build()` if anyone listens; a live stream is a convenience, so a failure here
    never fails the write that already committed."""
    try:
        if await pubsub.listeners(channel):
            await pubsub.publish(channel, build())
    except Exception as exc:
        log.warning("could not publish on %s: %r", channel, exc)
