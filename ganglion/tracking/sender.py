"""Sending metric points in the background: user code never waits on the network.

Points are batched (up to `batch_size`, or whatever arrived within `interval`) and posted by a
daemon thread. A batch that fails for a reason that may pass (server unreachable, 5xx, 429) is
retried with back-off; `flush()` waits until everything queued so far was sent.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from ganglion.client import GanglionError

log = logging.getLogger(__name__)

Send = Callable[[Sequence[dict[str, Any]]], None]


_TIMEOUT = object()


class _Flush:
    def __init__(self) -> None:
        self.done = threading.Event()


class BatchSender:
    def __init__(
        self,
        send: Send,
        *,
        batch_size: int = 5_000,
        interval: float = 1.0,
        max_backoff: float = 30.0,
    ) -> None:
        self._send = send
        self.batch_size = batch_size
        self.interval = interval
        self.max_backoff = max_backoff
        self._queue: queue.Queue[dict[str, Any] | _Flush | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="ganglion-sender", daemon=True)
        self._thread.start()
        self.sent = 0
        self.dropped = 0

    def put(self, point: dict[str, Any]) -> None:
        self._queue.put(point)

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until what was queued before this call has been sent; False on timeout."""
        marker = _Flush()
        self._queue.put(marker)
        return marker.done.wait(timeout)

    def close(self, timeout: float | None = 30.0) -> bool:
        flushed = self.flush(timeout)
        self._queue.put(None)
        self._thread.join(timeout=1.0)
        return flushed

    def _loop(self) -> None:
        batch: list[dict[str, Any]] = []
        deadline = 0.0
        while True:
            try:
                timeout = max(deadline - time.monotonic(), 0) if batch else None
                item: dict[str, Any] | _Flush | object | None = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = _TIMEOUT
            if isinstance(item, dict):
                if not batch:
                    deadline = time.monotonic() + self.interval
                batch.append(item)
                if len(batch) < self.batch_size:
                    continue
            if batch:
                self._deliver(batch)
                batch = []
            if isinstance(item, _Flush):
                item.done.set()
            elif item is None:
                return

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        backoff = 0.5
        while True:
            try:
                self._send(batch)
                self.sent += len(batch)
                return
            except GanglionError as exc:
                if exc.is_client_error and exc.status != 429:
                    log.error(
                        "ganglion: %d metric points refused by the server: %s",
                        len(batch),
                        exc.message,
                    )
                    self.dropped += len(batch)
                    return
                log.warning(
                    "ganglion: sending metrics failed (%s); retrying in %.1fs", exc.message, backoff
                )
            time.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)
