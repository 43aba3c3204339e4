"""Sending tracking data in the background: user code never waits on the network, and nothing
is lost while the server is away.

Metric points and events are batched (up to `batch_size`, or whatever arrived within
`interval`). Each batch gets an id and is written to the spool folder *before* it is sent, then
deleted once the server acknowledged it: a server that is down, a network that drops, even a
process that dies mid-send leave the batch on disk, and the next sender for the same spool (this
one after a back-off, or a later process) sends it again. The server stores a batch id once, so
a batch sent twice is stored once. `flush()` waits until everything queued so far is sent.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack

from ganglion.client import GanglionError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    """One spooled request: where it goes and its body."""

    path: str
    content_type: str
    body: bytes


Send = Callable[[Request], None]


@dataclass(frozen=True)
class Point:
    path: str
    name: str
    value: float
    step: int | None
    timestamp: float


@dataclass(frozen=True)
class Event:
    path: str
    event: dict[str, Any]


class _Flush:
    def __init__(self) -> None:
        self.done = threading.Event()


_TIMEOUT = object()


def metrics_request(path: str, points: list[Point]) -> Request:
    """Points as msgpack columns, the compact form the server ingests fastest."""
    series: dict[str, dict[str, list[Any]]] = {}
    for p in points:
        columns = series.setdefault(p.name, {"steps": [], "values": [], "timestamps": []})
        columns["steps"].append(p.step)
        columns["values"].append(p.value)
        columns["timestamps"].append(p.timestamp)
    body = {
        "batch_id": uuid.uuid4().hex,
        "series": [{"name": name, **columns} for name, columns in series.items()],
    }
    return Request(path, "application/msgpack", msgpack.packb(body))


def events_request(path: str, events: list[Event]) -> Request:
    body = {"events": [e.event for e in events]}
    return Request(path, "application/msgpack", msgpack.packb(body))


class Spool:
    """Requests waiting for the server, one file each, sent oldest first."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.rejected = folder / "rejected"

    def add(self, request: Request) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.req"
        target = self.folder / name
        temporary = self.folder / f".{name}.tmp"
        payload = {"path": request.path, "content_type": request.content_type, "body": request.body}
        with temporary.open("wb") as out:
            out.write(msgpack.packb(payload))
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(target)
        return target

    def pending(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(self.folder.glob("*.req"))

    @staticmethod
    def read(path: Path) -> Request | None:
        try:
            data = msgpack.unpackb(path.read_bytes())
            return Request(data["path"], data["content_type"], data["body"])
        except (OSError, ValueError, KeyError, msgpack.ExtraData, msgpack.FormatError):
            return None

    def reject(self, path: Path) -> None:
        self.rejected.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            path.replace(self.rejected / path.name)


class BatchSender:
    def __init__(
        self,
        send: Send,
        spool: Spool,
        *,
        batch_size: int = 10_000,
        interval: float = 1.0,
        max_backoff: float = 10.0,
    ) -> None:
        self._send = send
        self.spool = spool
        self.batch_size = batch_size
        self.interval = interval
        self.max_backoff = max_backoff
        self._queue: queue.Queue[Point | Event | _Flush | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="ganglion-sender", daemon=True)
        self.sent = 0
        """Requests the server acknowledged."""
        self.rejected = 0
        """Requests the server refused as invalid (kept in the spool's `rejected/`)."""
        self._backoff = 0.0
        self._retry_at = 0.0
        self._thread.start()

    def put(self, item: Point | Event) -> None:
        self._queue.put(item)

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until what was queued before this call has reached the server; False on timeout
        (what is left stays in the spool and is sent later)."""
        marker = _Flush()
        self._queue.put(marker)
        return marker.done.wait(timeout)

    def close(self, timeout: float | None = 30.0) -> bool:
        flushed = self.flush(timeout)
        self._queue.put(None)
        self._thread.join(timeout=1.0)
        return flushed

    def _loop(self) -> None:
        points: dict[str, list[Point]] = {}
        events: dict[str, list[Event]] = {}
        waiting: list[_Flush] = []
        deadline = 0.0
        while True:
            pending = bool(points or events)
            if pending:
                timeout = max(deadline - time.monotonic(), 0)
            elif waiting or self.spool.pending():
                timeout = max(self._retry_at - time.monotonic(), 0.05)
            else:
                timeout = None
            try:
                item: Point | Event | _Flush | object | None = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = _TIMEOUT
            if isinstance(item, Point | Event):
                if not pending:
                    deadline = time.monotonic() + self.interval
                if isinstance(item, Point):
                    points.setdefault(item.path, []).append(item)
                else:
                    events.setdefault(item.path, []).append(item)
                size = sum(map(len, points.values())) + sum(map(len, events.values()))
                if size < self.batch_size:
                    continue
            if isinstance(item, _Flush):
                waiting.append(item)
            if points or events:
                # Full, timed out, or asked to flush: to disk first, then to the server.
                self._spool(points, events)
                points, events = {}, {}
            delivered = self._deliver()
            if delivered:
                for marker in waiting:
                    marker.done.set()
                waiting = []
            if item is None:
                return

    def _spool(self, points: dict[str, list[Point]], events: dict[str, list[Event]]) -> None:
        for path, batch in points.items():
            self.spool.add(metrics_request(path, batch))
        for path, items in events.items():
            self.spool.add(events_request(path, items))

    def _deliver(self) -> bool:
        """Send spooled requests, oldest first; True once the spool is empty."""
        if time.monotonic() < self._retry_at:
            return not self.spool.pending()
        for path in self.spool.pending():
            request = Spool.read(path)
            if request is None:
                self.spool.reject(path)
                continue
            try:
                self._send(request)
            except GanglionError as exc:
                if exc.is_client_error and exc.status not in (408, 429):
                    log.error("ganglion: the server refused a batch: %s", exc.message)
                    self.rejected += 1
                    self.spool.reject(path)
                    continue
                self._backoff = min(max(self._backoff * 2, 0.25), self.max_backoff)
                self._retry_at = time.monotonic() + self._backoff
                log.warning(
                    "ganglion: sending failed (%s); kept on disk, retrying in %.1fs",
                    exc.message,
                    self._backoff,
                )
                return False
            with contextlib.suppress(OSError):
                path.unlink()
            self.sent += 1
            self._backoff = 0.0
        return True
