"""The Docker runner: each run is a container on one engine (Docker, or podman's Docker-compatible
API), for single-machine installations that want isolation, through the `docker` SDK.

- The run's folder of the artifact store is bind-mounted at the path the spec rendered; the
  container works there unless the spec sets a working directory; resources are enforced.
- stdout and stderr are followed into `logs/main.jsonl` while the container runs (one archiver,
  resuming after a restart like the Kubernetes runner's).
- Once the container has ended and its logs are archived, its exit is written to the runner's
  state folder and the container removed: statuses stay, nothing piles up on the engine.
- `stop` sends SIGTERM, `stop(force=True)` SIGKILL; the scheduler waits the grace period between.
The SDK is synchronous: every call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, ImageNotFound, NotFound

from libs.common.artifacts import LOGS, OUTPUTS
from libs.common.logs import LOG_SUFFIX, LogLine
from services.scheduler.runners.archive import LogArchive, ResumePoint, read_archives
from services.scheduler.runners.base import Handle, Launch, Observation, Runner, State
from services.scheduler.runners.docker.config import (
    HANDLE_LABEL,
    MANAGED_BY,
    SCOPE_LABEL,
    DockerOptions,
    container_name,
    create_arguments,
)
from services.scheduler.runners.kubernetes.observe import CANNOT_START, parse_log_line

log = logging.getLogger(__name__)

MAIN = "main"
DRAIN_SECONDS = 10.0
RESUME_MARGIN = timedelta(seconds=5)
NEVER = "0001-01-01T00:00:00Z"


class DockerRunner(Runner):
    kind = "docker"

    def __init__(
        self, options: DockerOptions, state_dir: Path, *, base_url: str | None = None
    ) -> None:
        super().__init__()
        self.options = options
        self.state_dir = state_dir
        self._base_url = base_url
        self._client: docker.DockerClient | None = None
        self._archivers: dict[str, asyncio.Task[None]] = {}
        self._streams: set[Any] = set()
        self._lock = threading.Lock()

    def _docker(self) -> docker.DockerClient:
        with self._lock:
            if self._client is None:
                self._client = (
                    docker.DockerClient(base_url=self._base_url)
                    if self._base_url
                    else docker.from_env()
                )
            return self._client

    # -- start --------------------------------------------------------------------------------

    async def start(self, launch: Launch) -> Handle:
        name = container_name(launch, secrets.token_hex(3)[:5])
        handle: Handle = {
            "runner": self.kind,
            "run_uuid": launch.run_uuid.hex,
            "name": name,
            "logs_path": str(Path(launch.artifacts_path, LOGS)),
            "image": launch.image,
            "resources": launch.resources,
            "command": launch.command,
        }
        arguments = create_arguments(launch, self.options, handle)
        await asyncio.to_thread(self._create_and_start, launch, arguments, handle)
        self._archive(handle)
        return handle

    def _create_and_start(self, launch: Launch, arguments: dict[str, Any], handle: Handle) -> None:
        for sub in (LOGS, OUTPUTS):
            Path(launch.artifacts_path, sub).mkdir(parents=True, exist_ok=True)
        (self.state_dir / handle["name"]).mkdir(parents=True, exist_ok=True)
        client = self._docker()
        image = str(arguments["image"])
        if self.options.pull == "always":
            client.images.pull(image)
        elif self.options.pull == "missing":
            try:
                client.images.get(image)
            except ImageNotFound:
                client.images.pull(image)
        container = client.containers.create(**arguments)
        try:
            container.start()
        except APIError as exc:
            # The engine could not start the process (missing executable, bad working dir).
            # Docker keeps the error on the container, podman does not: settle it here.
            problem = f"cannot start: {exc.explanation or exc}"
            archive = LogArchive(Path(handle["logs_path"], f"{MAIN}{LOG_SUFFIX}"))
            if archive.open_now():
                line = LogLine(
                    timestamp=datetime.now(UTC),
                    value=f"ganglion: {problem}",
                    container=MAIN,
                    stream="stderr",
                )
                archive.write_now([line])
                archive.close_now()
            self._settle(handle, Observation(State.EXITED, CANNOT_START, problem, False))

    # -- status -------------------------------------------------------------------------------

    async def status(self, handle: Handle) -> Observation:
        observation, attributes = await asyncio.to_thread(self._inspect, handle)
        if attributes is None:
            return observation
        if observation.state in (State.EXITED, State.GONE):
            self._archive(handle)
            task = self._archivers.get(handle["name"])
            if task is not None and not task.done():
                await asyncio.wait([task], timeout=DRAIN_SECONDS)
            await asyncio.to_thread(self._settle, handle, observation)
        elif observation.state == State.RUNNING:
            self._archive(handle)
        return observation

    def _inspect(self, handle: Handle) -> tuple[Observation, dict[str, Any] | None]:
        settled = self.state_dir / handle["name"] / "exit.json"
        try:
            container = self._docker().containers.get(handle["name"])
        except NotFound:
            try:
                result = json.loads(settled.read_text())
            except FileNotFoundError:
                return Observation(State.GONE, message="the run's container is gone"), None
            return Observation(
                State.EXITED, result["exit_code"], result.get("message"), result["started"]
            ), None
        attributes: dict[str, Any] = container.attrs
        state = attributes.get("State") or {}
        started = (state.get("StartedAt") or NEVER) != NEVER
        status = state.get("Status")
        if status in ("running", "paused", "restarting", "removing"):
            return Observation(State.RUNNING, started=True), attributes
        error = state.get("Error") or ""
        if status == "created":
            if error:
                return Observation(State.EXITED, CANNOT_START, f"cannot start: {error}"), attributes
            return Observation(State.PENDING), attributes
        code = int(state.get("ExitCode") or 0)
        if error and not started:
            return Observation(State.EXITED, CANNOT_START, f"cannot start: {error}"), attributes
        message = "OOMKilled" if state.get("OOMKilled") else (error or None)
        return Observation(State.EXITED, code, message, started), attributes

    def _settle(self, handle: Handle, observation: Observation) -> None:
        """Keep the exit in the state folder, then remove the container."""
        folder = self.state_dir / handle["name"]
        folder.mkdir(parents=True, exist_ok=True)
        result = {
            "exit_code": observation.exit_code,
            "message": observation.message,
            "started": observation.started,
        }
        temporary = folder / "exit.json.tmp"
        temporary.write_text(json.dumps(result))
        temporary.replace(folder / "exit.json")
        with contextlib.suppress(NotFound):
            self._docker().containers.get(handle["name"]).remove(force=True)

    # -- logs ---------------------------------------------------------------------------------

    def _archive(self, handle: Handle) -> None:
        name = handle["name"]
        task = self._archivers.get(name)
        if task is None or (task.done() and not task.cancelled() and task.exception()):
            path = Path(handle["logs_path"], f"{MAIN}{LOG_SUFFIX}")
            self._archivers[name] = asyncio.create_task(
                self._follow(name, path), name=f"archive:{name}"
            )

    async def _follow(self, name: str, path: Path) -> None:
        archive = LogArchive(path)
        if not await archive.open():
            return  # another scheduler archives this container
        try:
            point = await archive.resume_point()
            lock = threading.Lock()
            await asyncio.gather(
                asyncio.to_thread(self._pump, name, "stdout", archive, point, lock),
                asyncio.to_thread(self._pump, name, "stderr", archive, point, lock),
            )
        finally:
            await archive.close()
            self._changed()

    def _pump(
        self, name: str, stream: str, archive: LogArchive, point: ResumePoint, lock: threading.Lock
    ) -> None:
        client = self._docker()
        try:
            container = client.containers.get(name)
        except NotFound:
            return
        if (container.attrs.get("State") or {}).get("Error"):
            self._write_start_failure(container, archive, point, lock, stream)
            return
        options: dict[str, Any] = {}
        if point.timestamp is not None:
            options["since"] = point.timestamp - RESUME_MARGIN
        logs = client.api.logs(
            name,
            stdout=stream == "stdout",
            stderr=stream == "stderr",
            stream=True,
            follow=True,
            timestamps=True,
            **options,
        )
        self._streams.add(logs)
        skip = point.skipper()
        rest = b""
        try:
            for chunk in logs:
                rest += chunk
                *complete, rest = rest.split(b"\n")
                lines = []
                for raw in complete:
                    parsed = parse_log_line(raw.decode("utf-8", "replace"))
                    if parsed is None:
                        continue
                    line = LogLine(
                        timestamp=parsed[0], value=parsed[1], container=MAIN, stream=stream
                    )
                    if not skip(line):
                        lines.append(line)
                if lines:
                    with lock:
                        archive.write_now(lines)
        except Exception as exc:  # the stream was closed by close(), or the engine went away
            log.debug("logs of %s (%s) ended: %r", name, stream, exc)
        finally:
            self._streams.discard(logs)

    @staticmethod
    def _write_start_failure(
        container: Any, archive: LogArchive, point: ResumePoint, lock: threading.Lock, stream: str
    ) -> None:
        if stream != "stderr" or point.timestamp is not None:
            return
        error = (container.attrs.get("State") or {}).get("Error")
        line = LogLine(
            timestamp=datetime.now(UTC),
            value=f"ganglion: cannot start: {error}",
            container=MAIN,
            stream="stderr",
        )
        with lock:
            archive.write_now([line])

    async def logs(self, handle: Handle) -> AsyncIterator[LogLine]:
        self._archive(handle)  # a restarted scheduler resumes archiving from here on
        for line in await read_archives(Path(handle["logs_path"])):
            yield line

    # -- stop, list, close --------------------------------------------------------------------

    async def stop(self, handle: Handle, *, force: bool = False) -> None:
        def kill() -> None:
            try:
                container = self._docker().containers.get(handle["name"])
                container.kill(signal="SIGKILL" if force else "SIGTERM")
            except NotFound:
                pass
            except APIError as exc:
                if exc.status_code != 409:  # 409: not running, nothing to stop
                    raise

        await asyncio.to_thread(kill)

    async def list_active(self) -> list[Handle]:
        def active() -> list[Handle]:
            containers = self._docker().containers.list(
                all=True,
                filters={
                    "label": [f"{MANAGED_BY}=ganglion", f"{SCOPE_LABEL}={self.options.scope}"]
                },
            )
            handles = []
            for container in containers:
                state = container.attrs.get("State") or {}
                if state.get("Status") in ("running", "paused", "restarting") or (
                    state.get("Status") == "created" and not state.get("Error")
                ):
                    handles.append(json.loads(container.labels[HANDLE_LABEL]))
            return handles

        return await asyncio.to_thread(active)

    async def close(self) -> None:
        # Containers keep running; the next scheduler resumes archiving their logs.
        for stream in list(self._streams):
            with contextlib.suppress(Exception):
                stream.close()
        for task in self._archivers.values():
            task.cancel()
        await asyncio.gather(*self._archivers.values(), return_exceptions=True)
        self._archivers.clear()
        if self._client is not None:
            await asyncio.to_thread(self._client.close)
            self._client = None
