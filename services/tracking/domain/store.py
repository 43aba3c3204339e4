"""The artifact store on the local filesystem: every run's files under `{root}/{project}/{uuid}/`.
Blocking file work runs in worker threads, never on the event loop."""

from __future__ import annotations

import asyncio
import shutil
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO
from uuid import UUID

from libs.common.artifacts import LOGS, run_path
from libs.common.logs import LOG_SUFFIX, LogLine


class UnsafePath(ValueError):
    """A path that would leave the run's folder."""


class LocalArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def run_dir(self, project: str, uuid: UUID) -> Path:
        return Path(run_path(str(self.root), project, uuid))

    def resolve(self, project: str, uuid: UUID, relative: str) -> Path:
        base = self.run_dir(project, uuid).resolve()
        target = (base / relative.lstrip("/")).resolve()
        if not target.is_relative_to(base):
            raise UnsafePath(f"{relative!r} points outside the run's artifacts")
        return target

    async def append_logs(
        self, project: str, uuid: UUID, source: str, lines: Iterable[LogLine]
    ) -> None:
        path = self.run_dir(project, uuid) / LOGS / f"{source}{LOG_SUFFIX}"
        text = "".join(line.model_dump_json(exclude_none=True) + "\n" for line in lines)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as handle:
                handle.write(text)

        await asyncio.to_thread(write)

    async def read_logs(self, project: str, uuid: UUID) -> list[LogLine]:
        folder = self.run_dir(project, uuid) / LOGS

        def read() -> list[LogLine]:
            lines: list[LogLine] = []
            for path in sorted(folder.glob(f"*{LOG_SUFFIX}")):
                for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
                    if raw.strip():
                        try:
                            lines.append(LogLine.model_validate_json(raw))
                        except ValueError:
                            continue  # a line cut short by a crash mid-write
            lines.sort(key=lambda line: line.timestamp)
            return lines

        return await asyncio.to_thread(read)

    async def save(self, target: Path, source: BinaryIO, *, overwrite: bool) -> None:
        def copy() -> None:
            if target.exists() and not overwrite:
                raise FileExistsError(str(target))
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as out:
                shutil.copyfileobj(source, out, length=1 << 20)

        await asyncio.to_thread(copy)

    async def untar(self, folder: Path, source: BinaryIO) -> None:
        def extract() -> None:
            folder.mkdir(parents=True, exist_ok=True)
            with tarfile.open(fileobj=source, mode="r:*") as archive:
                # The "data" filter refuses absolute paths, `..`, links leaving the folder, devices.
                archive.extractall(folder, filter="data")

        await asyncio.to_thread(extract)

    async def copy_run(
        self,
        source: tuple[str, UUID],
        target: tuple[str, UUID],
        *,
        dirs: list[str] | None,
        files: list[str] | None,
    ) -> int:
        """Copy a run's artifacts (all but its logs, or the named dirs and files) into another's."""
        origin = self.run_dir(*source)
        destination = self.run_dir(*target)

        def copy() -> int:
            if not origin.is_dir():
                return 0
            if dirs is None and files is None:
                picked = [p for p in origin.iterdir() if p.name != LOGS]
            else:
                picked = [
                    self.resolve(source[0], source[1], p) for p in [*(dirs or []), *(files or [])]
                ]
            count = 0
            for path in picked:
                relative = path.relative_to(origin)
                if path.is_dir():
                    shutil.copytree(path, destination / relative, dirs_exist_ok=True)
                    count += sum(1 for p in path.rglob("*") if p.is_file())
                elif path.is_file():
                    (destination / relative).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, destination / relative)
                    count += 1
            return count

        return await asyncio.to_thread(copy)

    async def delete_run(self, project: str, uuid: UUID) -> None:
        await asyncio.to_thread(shutil.rmtree, self.run_dir(project, uuid), True)
