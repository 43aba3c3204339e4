"""The artifact store: every run's files under `{project}/{run uuid hex}/`, on the local
filesystem or in an S3-compatible bucket. Keys are `/`-separated and never leave the run's
folder: `run_key()` refuses a relative path that would. Writes stream (no whole file in memory)
and are atomic (a reader never sees half a file). Conformance: tests/tracking/test_stores.py."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass, field
from uuid import UUID, uuid4

from libs.common.artifacts import LOGS
from libs.common.logs import LOG_SUFFIX, LogLine

STAGING = ".staging"
CHUNK = 1 << 20


class UnsafePath(ValueError):
    """A path that would leave the run's folder."""


class TooLarge(ValueError):
    """More bytes than the store was told to accept."""


def safe_relative(relative: str) -> str:
    """`relative` normalised, or UnsafePath if it climbs out of where it starts."""
    if "\x00" in relative:
        raise UnsafePath(f"{relative!r} contains a NUL byte")
    parts: list[str] = []
    for part in relative.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise UnsafePath(f"{relative!r} points outside the run's artifacts")
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts)


def run_prefix(project: str, uuid: UUID) -> str:
    return f"{safe_relative(project)}/{uuid.hex}"


def run_key(project: str, uuid: UUID, relative: str) -> str:
    inside = safe_relative(relative)
    return f"{run_prefix(project, uuid)}/{inside}" if inside else run_prefix(project, uuid)


def staging_key() -> str:
    return f"{STAGING}/{uuid4().hex}"


@dataclass
class Tree:
    """V1ArtifactTree: the files (name: size) and folders directly under a path."""

    files: dict[str, int] = field(default_factory=dict)
    dirs: list[str] = field(default_factory=list)
    is_done: bool = True


class ArtifactStore(ABC):
    @abstractmethod
    async def write(self, key: str, chunks: AsyncIterable[bytes], *, overwrite: bool = True) -> int:
        """Store the streamed bytes under `key`; return their size. FileExistsError if `key`
        exists and not `overwrite` (checked before anything is read)."""

    @abstractmethod
    def read(self, key: str, offset: int = 0) -> AsyncIterator[bytes]:
        """The file's bytes from `offset` on, in chunks; FileNotFoundError (on first use) if
        there is none."""

    @abstractmethod
    async def size(self, key: str) -> int | None:
        """The file's size, or None if there is no file at `key`."""

    @abstractmethod
    async def move(self, source: str, target: str, *, overwrite: bool = True) -> None: ...

    @abstractmethod
    async def listing(self, prefix: str) -> list[tuple[str, int]]:
        """Every file under the folder `prefix`, as (path relative to it, size), sorted."""

    @abstractmethod
    async def delete(self, key: str) -> bool:
        """Delete one file; False if there was none."""

    @abstractmethod
    async def delete_tree(self, prefix: str) -> int:
        """Delete the folder `prefix` and everything in it; return how many files went."""

    @abstractmethod
    async def extract_tar(self, archive: str, prefix: str) -> int:
        """Unpack the tar(.gz) stored at `archive` into the folder `prefix`; members that would
        leave it, links and devices are refused (tarfile.TarError). Return the files written."""

    async def close(self) -> None:
        return None

    # Derived from the primitives above; implementations may do better.
    async def tree(self, prefix: str) -> Tree:
        tree = Tree()
        dirs: set[str] = set()
        for relative, size in await self.listing(prefix):
            head, sep, _ = relative.partition("/")
            if sep:
                dirs.add(head)
            else:
                tree.files[head] = size
        tree.dirs = sorted(dirs)
        return tree

    async def exists(self, key: str) -> bool:
        return await self.size(key) is not None

    async def read_all(self, key: str) -> bytes:
        return b"".join([chunk async for chunk in self.read(key)])

    async def write_bytes(self, key: str, data: bytes, *, overwrite: bool = True) -> int:
        async def once() -> AsyncIterator[bytes]:
            yield data

        return await self.write(key, once(), overwrite=overwrite)

    # Logs: JSON lines under `<run>/logs/`. Each append is a new file on stores that cannot
    # append; the local store appends to one file per source.
    async def append_logs(
        self, project: str, uuid: UUID, source: str, lines: Iterable[LogLine]
    ) -> None:
        text = "".join(line.model_dump_json(exclude_none=True) + "\n" for line in lines)
        key = run_key(project, uuid, f"{LOGS}/{source}-{uuid4().hex}{LOG_SUFFIX}")
        await self.write_bytes(key, text.encode())

    async def read_logs(self, project: str, uuid: UUID) -> list[LogLine]:
        folder = run_key(project, uuid, LOGS)
        lines: list[LogLine] = []
        for relative, _ in await self.listing(folder):
            if relative.endswith(LOG_SUFFIX):
                lines.extend(parse_log_lines(await self.read_all(f"{folder}/{relative}")))
        lines.sort(key=lambda line: line.timestamp)
        return lines

    async def read_new_logs(
        self, project: str, uuid: UUID, cursor: dict[str, int]
    ) -> list[LogLine]:
        """The lines written since `cursor` (log file -> bytes already read), in time order;
        `cursor` moves past them. Only what each file gained is read, up to its last complete
        line, so following a long log costs what it grew, not its length."""
        folder = run_key(project, uuid, LOGS)
        lines: list[LogLine] = []
        for relative, size in await self.listing(folder):
            start = cursor.get(relative, 0)
            if not relative.endswith(LOG_SUFFIX) or size <= start:
                continue
            data = b"".join([c async for c in self.read(f"{folder}/{relative}", start)])
            complete = data.rfind(b"\n") + 1
            cursor[relative] = start + complete
            lines.extend(parse_log_lines(data[:complete]))
        lines.sort(key=lambda line: line.timestamp)
        return lines

    async def move_tree(self, source: str, target: str) -> int:
        """Move every file under the folder `source` to the same place under `target`; return
        how many moved (none when `source` is already gone, so a redelivery is harmless)."""
        moved = 0
        for relative, _ in await self.listing(source):
            await self.move(f"{source}/{relative}", f"{target}/{relative}")
            moved += 1
        return moved

    async def delete_run(self, project: str, uuid: UUID) -> None:
        await self.delete_tree(run_prefix(project, uuid))

    async def copy_run(
        self,
        source: tuple[str, UUID],
        target: tuple[str, UUID],
        *,
        dirs: list[str] | None = None,
        files: list[str] | None = None,
    ) -> int:
        """Copy a run's artifacts into another run's folder: all but its logs, or only the named
        dirs and files (paths inside the run). Return how many files were copied."""
        origin = run_prefix(*source)
        wanted = [safe_relative(p) for p in [*(dirs or []), *(files or [])]]
        copied = 0
        for relative, _ in await self.listing(origin):
            if wanted:
                if not any(relative == w or relative.startswith(f"{w}/") for w in wanted):
                    continue
            elif relative.split("/", 1)[0] == LOGS:
                continue
            await self.write(run_key(*target, relative), self.read(f"{origin}/{relative}"))
            copied += 1
        return copied


def parse_log_lines(data: bytes) -> list[LogLine]:
    lines = []
    for raw in data.decode("utf-8", errors="replace").splitlines():
        if raw.strip():
            try:
                lines.append(LogLine.model_validate_json(raw))
            except ValueError:
                continue  # a line cut short by a crash mid-write
    return lines
