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
from types import TracebackType
from typing import Any

from ganglion.client import ApiClient
from ganglion.tracking.run import Run

TRACKING_RUN: Run | None = None

__all__ = [
    "TRACKING_RUN",
    "Run",
    "end",
    "get_run",
    "init",
    "log_failed",
    "log_inputs",
    "log_meta",
    "log_metric",
    "log_metrics",
    "log_outputs",
    "log_progress",
    "log_status",
    "log_stopped",
    "log_succeeded",
    "log_tags",
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
    if the program dies of an uncaught exception."""
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


def end() -> None:
    if TRACKING_RUN is not None:
        TRACKING_RUN.end()
