"""The local process runner: each run is a process on this machine, supervised by a small shim
(`local_shim.py`) in a session of its own. The image is recorded, not pulled; resources are
recorded, not enforced. Logs go to the run's folder in the artifact store."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from libs.common.artifacts import LOGS, OUTPUTS
from libs.common.logs import LogLine
from services.scheduler.runners.base import Handle, Launch, Observation, Runner, State

SHIM = Path(__file__).with_name("local_shim.py")
LOG_FILE = "main.jsonl"


def _boot_ticks(pid: int) -> int | None:
    """When `pid` started (clock ticks since boot), to tell it from a later process with its pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":  # exited, not yet reaped: as good as gone
        return None
    return int(fields[19])


def _alive(handle: Handle) -> bool:
    ticks = _boot_ticks(int(handle["pid"]))
    return ticks is not None and ticks == handle.get("boot_ticks")


def _exit_of(folder: Path) -> dict[str, Any] | None:
    try:
        result: dict[str, Any] = json.loads((folder / "exit.json").read_text())
    except FileNotFoundError:
        return None
    return result


def _marked_groups() -> dict[int, set[bytes]]:
    """Live processes' groups, each with the run marks its members carry (one pass over /proc).
    A group's leader (a run's shim) is left out: like `_stragglers`, this finds what outlived it."""
    groups: dict[int, set[bytes]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            if fields[0] == "Z" or int(fields[2]) == int(entry.name):
                continue
            marks = [
                v for v in (entry / "environ").read_bytes().split(b"\0") if v.startswith(_MARK)
            ]
            if marks:
                groups.setdefault(int(fields[2]), set()).update(marks)
        except (OSError, ValueError, IndexError):
            continue
    return groups


def _stragglers(handle: Handle) -> list[int]:
    """Processes of the run still alive after its shim died: its process group, marked with the
    run's uuid in their environment (a group id is never reused while a member lives, and the
    mark rules out a later group that happens to get the same id)."""
    group, mark = int(handle["pid"]), _mark(handle)
    members = []
    for entry in Path("/proc").iterdir():
        # The shim itself (the group's leader) is the supervisor, not a straggler.
        if not entry.name.isdigit() or int(entry.name) == group:
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) != group or fields[0] == "Z":
                continue
            if mark in (entry / "environ").read_bytes().split(b"\0"):
                members.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return members


_MARK = b"GANGLION_RUN_UUID="


def _mark(handle: Handle) -> bytes:
    return _MARK + str(handle["run_uuid"]).encode()


def _job_environment(launch: Launch, polyaxon_context: Path) -> dict[str, str]:
    # The scheduler's own GANGLION_* settings (database URLs, ...) are not the run's business.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GANGLION_")}
    env.setdefault("PYTHONUNBUFFERED", "1")
    # Runs find the Python environment Ganglion runs in first, SDK included.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(launch.env)
    # Polyaxon's client stages a run's files in `artifacts/<uuid>` under this root. The root
    # must not name the run: the client cuts paths at the run's uuid to make them relative.
    env["POLYAXON_CONTEXT_ROOT"] = str(polyaxon_context)
    # Also marks the run's processes (see _stragglers).
    env["GANGLION_RUN_UUID"] = launch.run_uuid.hex
    return env


class LocalRunner(Runner):
    kind = "local"
    host_bound = True

    def __init__(self, state_dir: Path) -> None:
        super().__init__()
        self.state_dir = state_dir
        self._waiters: set[asyncio.Task[None]] = set()
        self.polyaxon_context = state_dir / ".polyaxon"

    def _prepare(self, launch: Launch) -> tuple[Path, Path, Path, int]:
        folder = self.state_dir / launch.run_uuid.hex
        if folder.exists():  # a previous submission of the same run
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        artifacts = Path(launch.artifacts_path)
        for sub in (LOGS, OUTPUTS):
            (artifacts / sub).mkdir(parents=True, exist_ok=True)
        cwd = Path(launch.working_dir) if launch.working_dir else artifacts
        if cwd.is_relative_to(artifacts):
            cwd.mkdir(parents=True, exist_ok=True)
        shim_log = os.open(folder / "shim.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return folder, artifacts / LOGS / LOG_FILE, cwd, shim_log

    async def start(self, launch: Launch) -> Handle:
        folder, log_file, cwd, shim_log = await asyncio.to_thread(self._prepare, launch)
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-I",
                "-S",
                str(SHIM),
                "--state",
                str(folder),
                "--log",
                str(log_file),
                "--cwd",
                str(cwd),
                "--container",
                "main",
                "--",
                *launch.command,
                env=_job_environment(launch, self.polyaxon_context),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=shim_log,
                start_new_session=True,
            )
        finally:
            os.close(shim_log)
        handle: Handle = {
            "runner": self.kind,
            "run_uuid": launch.run_uuid.hex,
            "host": socket.gethostname(),
            "pid": process.pid,
            "boot_ticks": _boot_ticks(process.pid),
            "state_dir": str(folder),
            "log_file": str(log_file),
            "working_dir": str(cwd),
            "command": launch.command,
            "image": launch.image,
            "resources": launch.resources,
        }
        await asyncio.to_thread((folder / "handle.json").write_text, json.dumps(handle))
        waiter = asyncio.create_task(
            self._reap(process), name=f"local-runner:{launch.run_uuid.hex}"
        )
        self._waiters.add(waiter)
        waiter.add_done_callback(self._waiters.discard)
        return handle

    async def _reap(self, process: asyncio.subprocess.Process) -> None:
        await process.wait()
        self._changed()

    async def status(self, handle: Handle) -> Observation:
        return await asyncio.to_thread(self._observe, handle)

    @staticmethod
    def _observe(handle: Handle) -> Observation:
        folder = Path(handle["state_dir"])
        ended = _exit_of(folder)
        if ended is None:
            if _alive(handle):
                started = (folder / "started.json").exists()
                return Observation(State.RUNNING if started else State.PENDING, started=started)
            # It may have written its exit and ended between the two looks.
            ended = _exit_of(folder)
        if ended is None:
            # The shim writes exit.json before it exits: dead without one means it was killed.
            return Observation(
                State.GONE, message="the run's process ended without reporting an exit code"
            )
        started = (folder / "started.json").exists()
        return Observation(State.EXITED, int(ended["exit_code"]), ended.get("error"), started)

    async def stop(self, handle: Handle, *, force: bool = False) -> None:
        alive = await asyncio.to_thread(_alive, handle)
        # With the shim dead, only a forced stop reaches what it left running.
        if not alive and not (force and len(await asyncio.to_thread(_stragglers, handle)) > 0):
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(handle["pid"]), signal.SIGKILL if force else signal.SIGTERM)

    async def logs(self, handle: Handle) -> AsyncIterator[LogLine]:
        path = Path(handle["log_file"])
        try:
            text = await asyncio.to_thread(path.read_text, encoding="utf-8")
        except FileNotFoundError:
            return
        for line in text.splitlines():
            if line.strip():
                yield LogLine.model_validate_json(line)

    async def list_active(self) -> list[Handle]:
        def scan() -> list[Handle]:
            # One look at /proc for all runs, not one per run: the state folder keeps every run
            # ever started here, and this runs every few seconds. The shim carries the mark too,
            # so a run with a live shim or stragglers has its mark in its own group.
            groups = _marked_groups()
            marked = set().union(*groups.values())
            handles = []
            for path in self.state_dir.glob("*/handle.json"):
                ended = (path.parent / "exit.json").exists()
                if ended and _MARK + path.parent.name.encode() not in marked:
                    continue  # nothing of it is left running
                try:
                    handle = json.loads(path.read_text())
                except ValueError:
                    continue  # being written: a run being started, which the database knows
                live = self._observe(handle).state in (State.PENDING, State.RUNNING)
                if live or _mark(handle) in groups.get(int(handle["pid"]), set()):
                    handles.append(handle)
            return handles

        return await asyncio.to_thread(scan)

    async def cleanup(self, handle: Handle) -> None:
        await asyncio.to_thread(shutil.rmtree, handle["state_dir"], True)
        staged = self.polyaxon_context / "artifacts" / str(handle["run_uuid"])
        await asyncio.to_thread(shutil.rmtree, staged, True)

    async def close(self) -> None:
        # Runs outlive the scheduler; only stop waiting for them.
        for waiter in list(self._waiters):
            waiter.cancel()
        await asyncio.gather(*self._waiters, return_exceptions=True)
