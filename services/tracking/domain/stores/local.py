"""The artifact store on the local filesystem (or a shared volume): `{root}/{key}`. Blocking file
work runs in worker threads, never on the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tarfile
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from pathlib import Path
from uuid import UUID, uuid4

from libs.common.artifacts import LOGS
from libs.common.logs import LOG_SUFFIX, LogLine
from services.tracking.domain.stores.base import (
    CHUNK,
    ArtifactStore,
    UnsafePath,
    parse_log_lines,
    run_key,
)


class LocalArtifactStore(ArtifactStore):
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        base = self.root.resolve()
        target = (base / key).resolve()
        # Keys are checked already; this also catches a symlink inside a run pointing out.
        if not target.is_relative_to(base):
            raise UnsafePath(f"{key!r} points outside the artifact store")
        return target

    async def write(self, key: str, chunks: AsyncIterable[bytes], *, overwrite: bool = True) -> int:
        target = self.path(key)
        if not overwrite and await asyncio.to_thread(target.exists):
            raise FileExistsError(key)
        temporary = target.with_name(f".{target.name}.{uuid4().hex}.part")

        def open_file() -> int:
            target.parent.mkdir(parents=True, exist_ok=True)
            return os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)

        descriptor = await asyncio.to_thread(open_file)
        size = 0
        try:
            pending: list[bytes] = []
            async for chunk in chunks:
                pending.append(chunk)
                size += len(chunk)
                if sum(map(len, pending)) >= CHUNK:
                    await asyncio.to_thread(os.write, descriptor, b"".join(pending))
                    pending = []
            if pending:
                await asyncio.to_thread(os.write, descriptor, b"".join(pending))
            await asyncio.to_thread(os.close, descriptor)
            descriptor = -1
            await asyncio.to_thread(os.replace, temporary, target)
        except BaseException:
            if descriptor >= 0:
                os.close(descriptor)
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
        return size

    async def read(self, key: str, offset: int = 0) -> AsyncIterator[bytes]:
        path = self.path(key)
        handle = await asyncio.to_thread(path.open, "rb")
        try:
            if offset:
                await asyncio.to_thread(handle.seek, offset)
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    async def size(self, key: str) -> int | None:
        path = self.path(key)

        def stat() -> int | None:
            return path.stat().st_size if path.is_file() else None

        return await asyncio.to_thread(stat)

    async def move(self, source: str, target: str, *, overwrite: bool = True) -> None:
        origin, destination = self.path(source), self.path(target)

        def rename() -> None:
            if not overwrite and destination.exists():
                raise FileExistsError(target)
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(origin, destination)

        await asyncio.to_thread(rename)

    async def move_tree(self, source: str, target: str) -> int:
        """One rename when `target` does not exist yet (files being written keep their handle);
        otherwise file by file, and the emptied folders go."""
        origin, destination = self.path(source), self.path(target)

        def rename() -> int | None:
            if not origin.is_dir() or destination.exists():
                return None
            count = sum(1 for p in origin.rglob("*") if p.is_file())
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.rename(origin, destination)
            return count

        moved = await asyncio.to_thread(rename)
        if moved is not None:
            return moved
        moved = await super().move_tree(source, target)
        await asyncio.to_thread(shutil.rmtree, origin, True)
        return moved

    async def listing(self, prefix: str) -> list[tuple[str, int]]:
        folder = self.path(prefix)

        def walk() -> list[tuple[str, int]]:
            if not folder.is_dir():
                return []
            found = []
            for path in folder.rglob("*"):
                if path.is_file() and not path.name.endswith(".part"):
                    found.append((path.relative_to(folder).as_posix(), path.stat().st_size))
            return sorted(found)

        return await asyncio.to_thread(walk)

    async def delete(self, key: str) -> bool:
        path = self.path(key)

        def remove() -> bool:
            if not path.is_file():
                return False
            path.unlink()
            return True

        return await asyncio.to_thread(remove)

    async def delete_tree(self, prefix: str) -> int:
        folder = self.path(prefix)
        if folder == self.root.resolve():
            raise UnsafePath("refusing to delete the whole artifact store")

        def remove() -> int:
            if not folder.is_dir():
                return 0
            count = sum(1 for p in folder.rglob("*") if p.is_file())
            shutil.rmtree(folder, ignore_errors=True)
            return count

        return await asyncio.to_thread(remove)

    async def extract_tar(self, archive: str, prefix: str) -> int:
        source, folder = self.path(archive), self.path(prefix)

        def extract() -> int:
            folder.mkdir(parents=True, exist_ok=True)
            with tarfile.open(source, mode="r:*") as tar:
                members = tar.getmembers()
                # The "data" filter refuses absolute paths, `..`, links leaving the folder and
                # devices.
                tar.extractall(folder, filter="data")
            return sum(1 for m in members if m.isfile())

        return await asyncio.to_thread(extract)

    # One file per log source, appended to, as the runner does.
    async def append_logs(
        self, project: str, uuid: UUID, source: str, lines: Iterable[LogLine]
    ) -> None:
        path = self.path(run_key(project, uuid, f"{LOGS}/{source}{LOG_SUFFIX}"))
        text = "".join(line.model_dump_json(exclude_none=True) + "\n" for line in lines)

        def append() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as handle:
                handle.write(text)

        await asyncio.to_thread(append)

    async def read_logs(self, project: str, uuid: UUID) -> list[LogLine]:
        folder = self.path(run_key(project, uuid, LOGS))

        def read() -> list[LogLine]:
            lines: list[LogLine] = []
            for path in sorted(folder.glob(f"*{LOG_SUFFIX}")):
                lines.extend(parse_log_lines(path.read_bytes()))
            lines.sort(key=lambda line: line.timestamp)
            return lines

        return await asyncio.to_thread(read)
