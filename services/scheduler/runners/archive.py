"""Log archives: what a container printed, kept as JSON lines in the run's `logs/` folder of the
artifact store (the format tracking serves), so it survives the pod or container.

An archive is written by one archiver at a time: it holds an exclusive `flock` on the file while
it appends, so scheduler replicas sharing the store never write the same lines twice, and the lock
dies with its process. A restarted archiver resumes after the last line it finds: the runtime is
asked again from a little before that time, and lines up to it are skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import IO

from libs.common.logs import LOG_SUFFIX, LogLine

TAIL_BYTES = 64 * 1024


class ResumePoint:
    """The last archived moment and the lines archived at exactly that moment."""

    def __init__(self, timestamp: datetime | None = None, values: Iterable[str] = ()) -> None:
        self.timestamp = timestamp
        self.values = list(values)

    def skipper(self) -> Callable[[LogLine], bool]:
        """A filter for a stream replayed from before this point: true for lines archived."""
        timestamp, pending = self.timestamp, list(self.values)

        def archived(line: LogLine) -> bool:
            if timestamp is None or line.timestamp > timestamp:
                return False
            if line.timestamp < timestamp:
                return True
            # Same instant: skip as many equal lines as were archived at it.
            if line.value in pending:
                pending.remove(line.value)
                return True
            return False

        return archived

    def advance(self, line: LogLine) -> None:
        if line.timestamp == self.timestamp:
            self.values.append(line.value)
        else:
            self.timestamp, self.values = line.timestamp, [line.value]


class LogArchive:
    """One container's archive file; `open()` takes the write lock or says someone else has it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    async def open(self) -> bool:
        return await asyncio.to_thread(self._open)

    def open_now(self) -> bool:
        """`open` for callers already in a worker thread."""
        return self._open()

    def close_now(self) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            file.close()

    def _open(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    async def resume_point(self) -> ResumePoint:
        return await asyncio.to_thread(self._resume_point)

    def _resume_point(self) -> ResumePoint:
        try:
            with self.path.open("rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                handle.seek(max(0, size - TAIL_BYTES))
                tail = handle.read().decode("utf-8", "replace").splitlines()
        except FileNotFoundError:
            return ResumePoint()
        lines = []
        for raw in tail:
            with contextlib.suppress(ValueError):  # the first may be cut; the last half-written
                lines.append(LogLine.model_validate_json(raw))
        if not lines:
            return ResumePoint()
        last = max(line.timestamp for line in lines)
        return ResumePoint(last, [line.value for line in lines if line.timestamp == last])

    async def append(self, lines: list[LogLine]) -> None:
        if lines:
            text = "".join(line.model_dump_json(exclude_none=True) + "\n" for line in lines)
            await asyncio.to_thread(self._write, text)

    def write_now(self, lines: list[LogLine]) -> None:
        """`append` for callers already in a worker thread."""
        self._write("".join(line.model_dump_json(exclude_none=True) + "\n" for line in lines))

    def _write(self, text: str) -> None:
        assert self._file is not None, "open() the archive first"
        self._file.write(text)
        self._file.flush()

    async def close(self) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            await asyncio.to_thread(file.close)


async def read_archives(folder: Path) -> list[LogLine]:
    """Every container's archive in a run's `logs/` folder, in time order (not what the SDK sent,
    which tracking keeps beside them in `sdk.jsonl`)."""

    def read() -> list[LogLine]:
        lines: list[LogLine] = []
        for path in sorted(folder.glob(f"*{LOG_SUFFIX}")):
            if path.name == f"sdk{LOG_SUFFIX}":
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for raw in text.splitlines():
                with contextlib.suppress(ValueError):
                    lines.append(LogLine.model_validate_json(raw))
        lines.sort(key=lambda line: line.timestamp)
        return lines

    return await asyncio.to_thread(read)
