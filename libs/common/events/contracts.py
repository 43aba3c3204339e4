"""Every event Ganglion services exchange. docs/events.md is checked against this module.

Subjects: `run:<uuid>`, `project:<owner>/<name>`, `token:<id>`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from libs.common.events.envelope import Event
from libs.common.lifecycle import RunStatus


class TokenCreated(Event):
    """An API token now exists; services that authenticate clients keep its hash."""

    NAME = "api.token.created"
    token_id: UUID
    username: str
    token_hash: str


class ProjectCreated(Event):
    NAME = "api.project.created"
    uuid: UUID
    owner: str
    name: str


class ProjectDeleted(Event):
    NAME = "api.project.deleted"
    uuid: UUID
    owner: str
    name: str


class QueueChanged(Event):
    """A queue definition, whole (created, updated, or deleted with `deleted=True`)."""

    NAME = "api.queue.changed"
    name: str
    priority: int = 0
    concurrency: int | None = None
    deleted: bool = False


class QuotaChanged(Event):
    """A quota on a project or a user, whole; None means unlimited. `share` weighs a project in
    fair share (projects only)."""

    NAME = "api.quota.changed"
    kind: Literal["project", "user"]
    subject: str
    runs: int | None = None
    cpu: float | None = None
    memory: float | None = None
    gpu: float | None = None
    share: float = 1.0
    deleted: bool = False


class CopySource(BaseModel):
    """Artifacts a new run starts with: the original's whole folder, or some dirs and files."""

    uuid: UUID
    project: str
    dirs: list[str] | None = None
    files: list[str] | None = None


class RunCreated(Event):
    """A run record exists (managed or tracking-only); tracking starts accepting its data, and
    first copies `copy_from` into it when the run is a copy."""

    NAME = "api.run.created"
    uuid: UUID
    owner: str
    project: str
    name: str | None = None
    kind: str | None = None
    is_managed: bool
    namespace: str
    user: str
    created_at: datetime
    copy_from: CopySource | None = None


class ArtifactsCopied(Event):
    """Tracking copied a new run's starting artifacts (answer to `RunCreated.copy_from`)."""

    NAME = "tracking.artifacts.copied"
    uuid: UUID
    files: int = 0
    error: str | None = None


class RunSubmitted(Event):
    """A managed run is ready to execute: the scheduler queues it.

    `submission` counts executions of the same run record (1, then +1 on each resume), so a
    redelivered event is told apart from a new request.
    """

    NAME = "api.run.submitted"
    uuid: UUID
    owner: str
    project: str
    name: str | None = None
    namespace: str
    content: dict[str, Any]
    queue: str | None = None
    submission: int = 1
    user: str | None = None
    priority: int = 0


class RunStopRequested(Event):
    """Stop the run's execution; `submission` names which one, so a stop that overtakes its
    submission leaves a tombstone that the submission then respects."""

    NAME = "api.run.stop_requested"
    uuid: UUID
    reason: str | None = None
    submission: int = 0


class RunDeleted(Event):
    """The run record is gone: stop what still runs, drop its data."""

    NAME = "api.run.deleted"
    uuid: UUID
    owner: str
    project: str


class RunTransferred(Event):
    """A finished run moved to another project of the same owner: its artifacts and logs move
    with it, and every copy of the run's project follows."""

    NAME = "api.run.transferred"
    uuid: UUID
    owner: str
    project: str
    previous_project: str


class RunStatusChanged(Event):
    """The canonical status stream: every status the api applies to a run, whatever proposed it."""

    NAME = "api.run.status_changed"
    uuid: UUID
    owner: str
    project: str
    status: RunStatus
    previous: RunStatus | None = None
    reason: str | None = None
    message: str | None = None
    transitioned_at: datetime


class SchedulerRunStatusChanged(Event):
    """The scheduler applied a status to the execution of a run; the api mirrors it."""

    NAME = "scheduler.run.status_changed"
    uuid: UUID
    status: RunStatus
    previous: RunStatus | None = None
    reason: str | None = None
    message: str | None = None
    transitioned_at: datetime
    submission: int = 1


class MetricSummary(BaseModel):
    """One metric series of a run, summarised: what `metrics.<name>[.min|.max|.last]` searches."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    count: int
    min: float
    max: float
    last: float
    last_step: int | None = None
    last_timestamp: datetime


class MetricSummaryUpdated(Event):
    """Tracking's summaries of some of a run's metric series changed. Coarse and throttled (at
    most one per run per `GANGLION_TRACKING_SUMMARY_INTERVAL`); the points themselves never
    travel on the bus. Counts only grow, so a consumer keeps the summary with the larger one."""

    NAME = "tracking.metric_summary.updated"
    uuid: UUID
    summaries: list[MetricSummary]


CONTRACTS: tuple[type[Event], ...] = (
    TokenCreated,
    ProjectCreated,
    ProjectDeleted,
    QueueChanged,
    QuotaChanged,
    RunCreated,
    ArtifactsCopied,
    RunSubmitted,
    RunStopRequested,
    RunDeleted,
    RunTransferred,
    RunStatusChanged,
    SchedulerRunStatusChanged,
    MetricSummaryUpdated,
)

BY_ROUTING_KEY: dict[str, type[Event]] = {c.routing_key(): c for c in CONTRACTS}


def run_subject(uuid: UUID) -> str:
    return f"run:{uuid}"
