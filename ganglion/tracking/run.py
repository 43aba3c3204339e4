"""A tracked run, inside a managed run (context from the environment) or outside one (a new
tracking-only run). Argument names follow Polyaxon's tracking client."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ganglion.client import ApiClient, GanglionError
from ganglion.config import load_config
from ganglion.tracking.sender import BatchSender

log = logging.getLogger(__name__)

DONE = frozenset({"succeeded", "failed", "stopped", "skipped", "upstream_failed"})


def _now() -> str:
    return datetime.now(UTC).isoformat()


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
        batch_size: int = 5_000,
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
        self._sender = BatchSender(
            self._send_points, batch_size=batch_size, interval=flush_interval
        )
        self._ended = False

    def _namespace(self) -> str:
        run = self.client.get_run(str(self.project), self.uuid)
        return str(run["settings"]["namespace"])

    def _send_points(self, points: Sequence[dict[str, Any]]) -> None:
        self.client.log_points(self.namespace, str(self.project), self.uuid, points)

    # metrics
    def log_metric(
        self, name: str, value: float, step: int | None = None, timestamp: datetime | None = None
    ) -> None:
        when = timestamp.isoformat() if timestamp else _now()
        self._sender.put({"name": name, "value": float(value), "step": step, "timestamp": when})

    def log_metrics(
        self, step: int | None = None, timestamp: datetime | None = None, **metrics: float
    ) -> None:
        for name, value in metrics.items():
            self.log_metric(name, value, step=step, timestamp=timestamp)

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
        """Send what is pending; a tracking-only run is marked succeeded unless it already ended.
        A managed run's status is the runner's to set, from the process's exit code."""
        if self._ended:
            return
        self._ended = True
        if not self._sender.close(timeout):
            print(f"ganglion: could not send every metric point within {timeout}s", file=sys.stderr)
        if not self.is_managed and self._status not in DONE:
            try:
                self.log_succeeded()
            except GanglionError as exc:
                print(f"ganglion: could not mark the run succeeded: {exc.message}", file=sys.stderr)
