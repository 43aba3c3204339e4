"""Streams one container's logs from the Kubernetes API into its archive in the artifact store,
while it runs and until it ends, resuming after a dropped stream or a scheduler restart."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes_asyncio.client.exceptions import ApiException

from libs.common.logs import LogLine
from services.scheduler.runners.archive import LogArchive, ResumePoint
from services.scheduler.runners.kubernetes.observe import parse_log_line

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.25
"""Lines wait at most this long in memory before they reach the archive."""
BATCH = 500
RESUME_MARGIN = 120
"""Seconds asked for before the last archived line on resume (clocks of nodes and scheduler
differ; what was archived already is skipped)."""


@dataclass(frozen=True)
class Source:
    """One container of one pod, and where its lines go."""

    pod: str
    container: str
    node: str | None
    archive: Path


Opener = Callable[..., Awaitable[Any]]
"""`read_namespaced_pod_log` bound to the namespace's API."""
State = Callable[[], "dict[str, Any] | None"]
"""The container's current status entry (None when its pod is gone)."""


def _terminated(status: dict[str, Any] | None) -> dict[str, Any] | None:
    if status is None:
        return {}
    terminated = (status.get("state") or {}).get("terminated")
    return dict(terminated) if terminated is not None else None


async def archive_container(
    source: Source, open_log: Opener, state: State, start_failure: str | None
) -> None:
    """Archive until the container has ended and its stream is drained. Returns at once when
    another archiver (another scheduler replica) holds the archive."""
    archive = LogArchive(source.archive)
    if not await archive.open():
        return
    try:
        point = await archive.resume_point()
        if start_failure is not None:
            if point.timestamp is None:
                line = LogLine(
                    timestamp=datetime.now(UTC),
                    value=f"ganglion: {start_failure}",
                    container=source.container,
                    pod=source.pod,
                    node=source.node,
                    stream="stderr",
                )
                await archive.append([line])
            return
        delay = 0.5
        while True:
            try:
                await _stream(source, archive, open_log, point)
                delay = 0.5
            except ApiException as exc:
                if exc.status in (400, 404) and _terminated(state()) is not None:
                    return  # the pod (and its logs) are gone, or never will have any
                log.warning("logs of %s/%s: %s", source.pod, source.container, exc.reason)
            except (OSError, TimeoutError) as exc:
                log.warning("logs of %s/%s: %r", source.pod, source.container, exc)
            if _terminated(state()) is not None:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
    finally:
        await archive.close()


async def _stream(
    source: Source, archive: LogArchive, open_log: Opener, point: ResumePoint
) -> None:
    options: dict[str, Any] = {
        "container": source.container,
        "follow": True,
        "timestamps": True,
        "_preload_content": False,
    }
    if point.timestamp is not None:
        elapsed = (datetime.now(UTC) - point.timestamp).total_seconds()
        options["since_seconds"] = max(1, int(elapsed) + RESUME_MARGIN)
    response = await open_log(source.pod, **options)
    skip = point.skipper()
    buffer: list[LogLine] = []
    try:
        if response.status != 200:
            raise ApiException(status=response.status, reason=(await response.read()).decode())
        while True:
            try:
                if buffer:
                    raw = await asyncio.wait_for(response.content.readline(), FLUSH_SECONDS)
                else:
                    raw = await response.content.readline()
            except TimeoutError:
                await archive.append(buffer)
                buffer = []
                continue
            if not raw:
                break
            parsed = parse_log_line(raw.decode("utf-8", "replace"))
            if parsed is None:
                continue
            line = LogLine(
                timestamp=parsed[0],
                value=parsed[1],
                container=source.container,
                pod=source.pod,
                node=source.node,
            )
            if skip(line):
                continue
            buffer.append(line)
            point.advance(line)
            if len(buffer) >= BATCH:
                await archive.append(buffer)
                buffer = []
    finally:
        await archive.append(buffer)
        response.release()
