"""Tracking from user code, as with Polyaxon's client:

from ganglion import tracking
tracking.init()                       # inside a run Ganglion started
tracking.init(project="p", name="n")  # anywhere else: a new tracking-only run
tracking.log_metrics(step=1, loss=0.3)
tracking.end()                        # also happens at exit
"""

from __future__ import annotations

import atexit
import contextlib
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from ganglion.client import ApiClient
from ganglion.tracking.run import Run

TRACKING_RUN: Run | None = None

__all__ = [
    "TRACKING_RUN",
    "Run",
    "end",
    "flush",
    "get_run",
    "init",
    "log_artifact",
    "log_confusion_matrix",
    "log_curve",
    "log_env",
    "log_failed",
    "log_histogram",
    "log_image",
    "log_inputs",
    "log_meta",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_outputs",
    "log_progress",
    "log_status",
    "log_stopped",
    "log_succeeded",
    "log_tags",
    "log_text",
]


def init(
    owner: str | None = None,
    project: str | None = None,
    run_uuid: str | None = None,
    client: ApiClient | None = None,
    name: str | None = None,
    description: str | None = None,
    tags: Sequence[str] | None = None,
    is_new: bool | None = None,
    **options: Any,
) -> Run:
    """Start tracking; ends (flushes) at interpreter exit, and marks a tracking-only run failed
    if the program dies of an uncaught exception. `collect_resources=True` samples cpu, memory
    and GPUs in the background (`resources_interval` seconds apart)."""
    global TRACKING_RUN
    if TRACKING_RUN is not None:
        TRACKING_RUN.end()
    TRACKING_RUN = Run(owner, project, run_uuid, client, name, description, tags, is_new, **options)
    atexit.register(TRACKING_RUN.end)
    _watch_crashes()
    return TRACKING_RUN


def get_run() -> Run:
    if TRACKING_RUN is None:
        raise RuntimeError("call tracking.init() first")
    return TRACKING_RUN


_previous_hook = sys.excepthook


def _crash_hook(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    run = TRACKING_RUN
    if run is not None and not run.is_managed:
        with contextlib.suppress(Exception):
            run.log_failed(reason="UncaughtException", message=f"{kind.__name__}: {error}")
    _previous_hook(kind, error, trace)


def _watch_crashes() -> None:
    if sys.excepthook is not _crash_hook:
        sys.excepthook = _crash_hook


def log_metric(
    name: str, value: float, step: int | None = None, timestamp: datetime | None = None
) -> None:
    get_run().log_metric(name, value, step=step, timestamp=timestamp)


def log_metrics(
    step: int | None = None, timestamp: datetime | None = None, **metrics: float
) -> None:
    get_run().log_metrics(step=step, timestamp=timestamp, **metrics)


def log_inputs(reset: bool = False, **inputs: Any) -> None:
    get_run().log_inputs(reset=reset, **inputs)


def log_outputs(reset: bool = False, **outputs: Any) -> None:
    get_run().log_outputs(reset=reset, **outputs)


def log_tags(tags: str | Sequence[str], reset: bool = False) -> None:
    get_run().log_tags(tags, reset=reset)


def log_meta(reset: bool = False, **meta: Any) -> None:
    get_run().log_meta(reset=reset, **meta)


def log_progress(value: float) -> None:
    get_run().log_progress(value)


def log_status(status: str, reason: str | None = None, message: str | None = None) -> None:
    get_run().log_status(status, reason=reason, message=message)


def log_succeeded(message: str | None = None) -> None:
    get_run().log_succeeded(message)


def log_failed(reason: str | None = None, message: str | None = None) -> None:
    get_run().log_failed(reason, message)


def log_stopped(message: str | None = None) -> None:
    get_run().log_stopped(message)


def log_text(name: str, text: str, step: int | None = None) -> None:
    get_run().log_text(name, text, step=step)


def log_image(
    data: str | Path | bytes, name: str | None = None, step: int | None = None, ext: str = "png"
) -> None:
    get_run().log_image(data, name, step=step, ext=ext)


def log_histogram(
    name: str,
    values: Sequence[float] | Any,
    bins: int | Sequence[float] = 10,
    step: int | None = None,
) -> None:
    get_run().log_histogram(name, values, bins=bins, step=step)


def log_confusion_matrix(
    name: str,
    x: Sequence[Any],
    y: Sequence[Any],
    z: Sequence[Sequence[float]],
    step: int | None = None,
) -> None:
    get_run().log_confusion_matrix(name, x, y, z, step=step)


def log_curve(
    name: str,
    x: Sequence[float],
    y: Sequence[float],
    annotation: str | None = None,
    step: int | None = None,
) -> None:
    get_run().log_curve(name, x, y, annotation=annotation, step=step)


def log_artifact(
    path: str | Path,
    name: str | None = None,
    kind: str | None = None,
    summary: dict[str, Any] | None = None,
    rel_path: str | None = None,
) -> str:
    return get_run().log_artifact(path, name=name, kind=kind, summary=summary, rel_path=rel_path)


def log_model(
    path: str | Path,
    name: str | None = None,
    framework: str | None = None,
    summary: dict[str, Any] | None = None,
    step: int | None = None,
) -> str:
    return get_run().log_model(path, name=name, framework=framework, summary=summary, step=step)


def log_env() -> str:
    return get_run().log_env()


def flush(timeout: float | None = 30.0) -> bool:
    return get_run().flush(timeout)


def end() -> None:
    if TRACKING_RUN is not None:
        TRACKING_RUN.end()
