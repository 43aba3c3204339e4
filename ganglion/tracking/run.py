"""A tracked run, inside a managed run (context from the environment) or outside one (a new
tracking-only run). Argument names follow Polyaxon's tracking client."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
import platform
import sys
import tarfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ganglion.client import ApiClient, GanglionError
from ganglion.config import config_dir, load_config
from ganglion.tracking.resources import ResourceSampler
from ganglion.tracking.sender import BatchSender, Event, Point, Request, Spool

log = logging.getLogger(__name__)

DONE = frozenset({"succeeded", "failed", "stopped", "skipped", "upstream_failed"})


def spool_folder(host: str) -> Path:
    """Where batches wait for the server at `host`: `GANGLION_SPOOL_DIR`, or `<config>/spool`."""
    root = Path(os.environ.get("GANGLION_SPOOL_DIR") or config_dir() / "spool")
    return root / hashlib.sha256(host.encode()).hexdigest()[:16]


def _seconds(timestamp: datetime | None) -> float:
    return timestamp.timestamp() if timestamp is not None else time.time()


class Run:
    def __init__(
        self,
        owner: str | None = None,
        project: str | None = None,
        run_uuid: str | None = None,
        client: ApiClient | None = None,
        name: str | None = None,
        description: str | None = None,
        tags: Sequence[str] | None = None,
        is_new: bool | None = None,
        *,
        collect_resources: bool = False,
        resources_interval: float = 10.0,
        batch_size: int = 10_000,
        flush_interval: float = 1.0,
    ) -> None:
        config = load_config()
        env_run = os.environ.get("GANGLION_RUN_UUID")
        self.client = client or ApiClient.from_config(config)
        self.owner = owner or os.environ.get("GANGLION_OWNER") or config.owner
        self.client.owner = self.owner
        self.is_managed = bool(env_run) and not is_new and run_uuid in (None, env_run)
        self.project = project or os.environ.get("GANGLION_PROJECT") or config.project
        if not self.project:
            raise ValueError(
                "tracking.init() needs a project: pass project='...' or set GANGLION_PROJECT"
            )
        self._status: str | None = None
        if self.is_managed:
            self.uuid = str(env_run)
            self.namespace = os.environ.get("GANGLION_NAMESPACE") or self._namespace()
        elif run_uuid and not is_new:
            self.uuid = run_uuid
            self.namespace = self._namespace()
        else:
            created = self.client.create_run(
                self.project,
                name=name,
                description=description,
                tags=list(tags) if tags else None,
                is_managed=False,
                managed_by="user",
            )
            self.uuid = created["uuid"]
            self.namespace = created["settings"]["namespace"]
            self.log_status("running", reason="GanglionClient", message="Tracking started")
        self._base = f"{self.namespace}/{self.owner}/{self.project}/runs/{self.uuid}"
        self._sender = BatchSender(
            self._send,
            Spool(spool_folder(self.client.streams_url)),
            batch_size=batch_size,
            interval=flush_interval,
        )
        self._resources: ResourceSampler | None = None
        if collect_resources:
            self._resources = ResourceSampler(self.log_metric, resources_interval)
            self._resources.start()
        self._ended = False

    def _namespace(self) -> str:
        run = self.client.get_run(str(self.project), self.uuid)
        return str(run["settings"]["namespace"])

    def _send(self, request: Request) -> None:
        self.client.streams(
            "POST",
            request.path,
            content=request.body,
            headers={"content-type": request.content_type},
        )

    # metrics
    def log_metric(
        self, name: str, value: float, step: int | None = None, timestamp: datetime | None = None
    ) -> None:
        number = float(value)
        if not math.isfinite(number):
            log.warning("ganglion: %s=%r is not a finite number; not logged", name, value)
            return
        self._sender.put(Point(f"{self._base}/metrics", name, number, step, _seconds(timestamp)))

    def log_metrics(
        self, step: int | None = None, timestamp: datetime | None = None, **metrics: float
    ) -> None:
        for name, value in metrics.items():
            self.log_metric(name, value, step=step, timestamp=timestamp)

    # rich events
    def _event(
        self,
        kind: str,
        name: str,
        value: dict[str, Any],
        step: int | None,
        timestamp: datetime | None,
    ) -> None:
        event = {
            "kind": kind,
            "name": name,
            "step": step,
            "timestamp": datetime.fromtimestamp(_seconds(timestamp), UTC).isoformat(),
            "value": value,
        }
        self._sender.put(Event(f"{self._base}/events", event))

    def log_text(
        self, name: str, text: str, step: int | None = None, timestamp: datetime | None = None
    ) -> None:
        self._event("text", name, {"text": text}, step, timestamp)

    def log_histogram(
        self,
        name: str,
        values: Sequence[float] | Any,
        bins: int | Sequence[float] = 10,
        step: int | None = None,
        timestamp: datetime | None = None,
    ) -> None:
        import numpy as np

        counts, edges = np.histogram(np.asarray(values, dtype=float), bins=bins)
        value = {"values": edges.tolist(), "counts": counts.tolist()}
        self._event("histogram", name, value, step, timestamp)

    def log_confusion_matrix(
        self,
        name: str,
        x: Sequence[Any],
        y: Sequence[Any],
        z: Sequence[Sequence[float]],
        step: int | None = None,
        timestamp: datetime | None = None,
    ) -> None:
        if len(z) != len(y) or any(len(row) != len(x) for row in z):
            raise ValueError("a confusion matrix needs len(y) rows of len(x) values")
        value = {"x": list(x), "y": list(y), "z": [list(map(float, row)) for row in z]}
        self._event("confusion", name, value, step, timestamp)

    def log_curve(
        self,
        name: str,
        x: Sequence[float],
        y: Sequence[float],
        annotation: str | None = None,
        step: int | None = None,
        timestamp: datetime | None = None,
    ) -> None:
        if len(x) != len(y):
            raise ValueError("a curve needs as many x as y values")
        value = {"x": list(map(float, x)), "y": list(map(float, y)), "annotation": annotation}
        self._event("curve", name, value, step, timestamp)

    def log_image(
        self,
        data: str | Path | bytes,
        name: str | None = None,
        step: int | None = None,
        timestamp: datetime | None = None,
        ext: str = "png",
    ) -> None:
        """An image file (a path) or its encoded bytes, stored under `assets/image/<name>/`."""
        if isinstance(data, str | Path):
            path = Path(data)
            content, ext = path.read_bytes(), path.suffix.lstrip(".") or ext
            name = name or path.stem
        else:
            content = bytes(data)
        if not name:
            raise ValueError("log_image needs a name for image bytes")
        relative = f"assets/image/{name}/{step if step is not None else int(time.time())}.{ext}"
        self._upload(io.BytesIO(content), relative)
        self._event("image", name, {"path": relative}, step, timestamp)

    # run fields
    def _patch(self, *, merge: bool = True, **fields: Any) -> None:
        self.client.update_run(str(self.project), self.uuid, merge=merge, **fields)

    def log_inputs(self, reset: bool = False, **inputs: Any) -> None:
        self._patch(merge=not reset, inputs=inputs)

    def log_outputs(self, reset: bool = False, **outputs: Any) -> None:
        self._patch(merge=not reset, outputs=outputs)

    def log_tags(self, tags: str | Sequence[str], reset: bool = False) -> None:
        self._patch(merge=not reset, tags=[tags] if isinstance(tags, str) else list(tags))

    def log_meta(self, reset: bool = False, **meta: Any) -> None:
        self._patch(merge=not reset, meta_info=meta)

    def log_progress(self, value: float) -> None:
        if not 0 <= value <= 1:
            raise ValueError("progress is a fraction between 0 and 1")
        self.log_meta(progress=value)

    def set_name(self, name: str) -> None:
        self._patch(name=name)

    def set_description(self, description: str) -> None:
        self._patch(description=description)

    # artifacts and lineage
    def _upload(self, content: io.BufferedIOBase | io.BytesIO, relative: str) -> str:
        folder, _, filename = relative.rpartition("/")
        self.client.upload_artifact(
            self.namespace, str(self.project), self.uuid, content, filename=filename, path=folder
        )
        return relative

    def _lineage(self, name: str, kind: str, path: str, summary: dict[str, Any]) -> None:
        self.client.log_lineage(
            str(self.project),
            self.uuid,
            [{"name": name, "kind": kind, "path": path, "summary": summary, "is_input": False}],
        )

    def log_artifact(
        self,
        path: str | Path,
        name: str | None = None,
        kind: str | None = None,
        summary: dict[str, Any] | None = None,
        rel_path: str | None = None,
    ) -> str:
        """Upload a file or a folder (as tar.gz, unpacked on the server) under `outputs/` and
        record it in the run's lineage; return where it is in the run's artifacts."""
        source = Path(path)
        if not source.exists():
            raise FileNotFoundError(f"log_artifact: {source} does not exist")
        name = name or source.name
        target = rel_path or f"outputs/{source.name}"
        if source.is_dir():
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
                for item in sorted(source.rglob("*")):
                    if item.is_file():
                        archive.add(item, arcname=item.relative_to(source).as_posix())
            buffer.seek(0)
            self.client.upload_artifact(
                self.namespace,
                str(self.project),
                self.uuid,
                buffer,
                filename=f"{source.name}.tar.gz",
                path=target,
                untar=True,
            )
            details = {"files": sum(1 for p in source.rglob("*") if p.is_file())}
            self._lineage(name, kind or "dir", target, {**details, **(summary or {})})
        else:
            with source.open("rb") as handle:
                self._upload(handle, target)
            details = {"size": source.stat().st_size}
            self._lineage(name, kind or "file", target, {**details, **(summary or {})})
        return target

    def log_model(
        self,
        path: str | Path,
        name: str | None = None,
        framework: str | None = None,
        summary: dict[str, Any] | None = None,
        step: int | None = None,
    ) -> str:
        source = Path(path)
        extra = {"framework": framework, "step": step, **(summary or {})}
        return self.log_artifact(
            source,
            name=name or source.stem,
            kind="model",
            summary={k: v for k, v in extra.items() if v is not None},
            rel_path=f"outputs/models/{source.name}",
        )

    def log_env(self) -> str:
        """The Python environment the run used, as `env.json` in its artifacts and lineage."""
        from importlib.metadata import distributions

        env = {
            "python": sys.version,
            "platform": platform.platform(),
            "executable": sys.executable,
            "packages": sorted(
                f"{d.metadata['Name']}=={d.version}" for d in distributions() if d.metadata["Name"]
            ),
        }
        content = json.dumps(env, indent=2).encode()
        self._upload(io.BytesIO(content), "env.json")
        self._lineage("env", "env", "env.json", {"packages": len(env["packages"])})
        return "env.json"

    # statuses
    def log_status(
        self, status: str, reason: str | None = None, message: str | None = None
    ) -> None:
        self.client.create_status(
            str(self.project), self.uuid, status, reason=reason, message=message
        )
        self._status = status

    def log_succeeded(self, message: str | None = None) -> None:
        self.log_status("succeeded", reason="GanglionClient", message=message)

    def log_failed(self, reason: str | None = None, message: str | None = None) -> None:
        self.log_status("failed", reason=reason or "GanglionClient", message=message)

    def log_stopped(self, message: str | None = None) -> None:
        self.log_status("stopped", reason="GanglionClient", message=message)

    def flush(self, timeout: float | None = 30.0) -> bool:
        return self._sender.flush(timeout)

    def end(self, timeout: float | None = 30.0) -> None:
        """Send what is pending (what cannot be sent within `timeout` stays in the spool and goes
        out with the next tracked run); a tracking-only run is marked succeeded unless it already
        ended. A managed run's status is the runner's to set, from the process's exit code."""
        if self._ended:
            return
        self._ended = True
        if self._resources is not None:
            self._resources.stop()
        if not self._sender.close(timeout):
            print(
                f"ganglion: the server did not take every batch within {timeout}s; the rest "
                f"waits in {self._sender.spool.folder} and is sent by the next tracked run",
                file=sys.stderr,
            )
        if not self.is_managed and self._status not in DONE:
            try:
                self.log_succeeded()
            except GanglionError as exc:
                print(f"ganglion: could not mark the run succeeded: {exc.message}", file=sys.stderr)
