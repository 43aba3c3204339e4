"""The run lifecycle: Polyaxon's statuses, their groups, and one explicit transition table.

Every status change in every service goes through `set_status`, which checks the table and
returns either the new timeline or the reason the change was refused. Nothing assigns a status
directly. The stored values are the enum's strings and are never renamed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator


class RunStatus(StrEnum):
    CREATED = "created"
    RESUMING = "resuming"
    ON_SCHEDULE = "on_schedule"
    COMPILED = "compiled"
    QUEUED = "queued"
    SCHEDULED = "scheduled"
    STARTING = "starting"
    RUNNING = "running"
    PROCESSING = "processing"
    STOPPING = "stopping"
    FAILED = "failed"
    STOPPED = "stopped"
    SUCCEEDED = "succeeded"
    SKIPPED = "skipped"
    WARNING = "warning"
    UNSCHEDULABLE = "unschedulable"
    UPSTREAM_FAILED = "upstream_failed"
    RETRYING = "retrying"
    UNKNOWN = "unknown"


S = RunStatus

DONE: frozenset[RunStatus] = frozenset(
    {S.SUCCEEDED, S.FAILED, S.STOPPED, S.SKIPPED, S.UPSTREAM_FAILED}
)
"""Final statuses: never left unless forced (resume)."""

SAFE_STOP: frozenset[RunStatus] = frozenset({S.CREATED, S.ON_SCHEDULE, S.RESUMING, S.COMPILED})
"""Nothing runs yet: a stop goes straight to `stopped`, and `skip` is allowed."""

STARTED: frozenset[RunStatus] = frozenset({S.STARTING, S.RUNNING, S.PROCESSING})
"""The first of these sets `started_at`."""

ACTIVE: frozenset[RunStatus] = frozenset(
    {S.SCHEDULED, S.STARTING, S.RUNNING, S.PROCESSING, S.STOPPING, S.WARNING, S.UNKNOWN}
)
"""Holding a slot on a runner: what a queue's concurrency limit counts."""

_LIVE_TROUBLE = frozenset({S.WARNING, S.UNSCHEDULABLE, S.UNKNOWN})
_ENDINGS = frozenset({S.STOPPING, S.SUCCEEDED, S.FAILED, S.STOPPED, S.RETRYING})

TRANSITIONS: Mapping[RunStatus, frozenset[RunStatus]] = {
    # A tracking-only run goes created -> running; a managed one is compiled first.
    S.CREATED: frozenset(
        {S.COMPILED, S.ON_SCHEDULE, S.RUNNING, S.STOPPED, S.FAILED, S.SKIPPED, S.UPSTREAM_FAILED}
    ),
    S.ON_SCHEDULE: frozenset(
        {S.COMPILED, S.SUCCEEDED, S.STOPPED, S.FAILED, S.SKIPPED, S.UPSTREAM_FAILED}
    ),
    S.RESUMING: frozenset(
        {S.COMPILED, S.QUEUED, S.RUNNING, S.STOPPED, S.FAILED, S.SKIPPED, S.UPSTREAM_FAILED}
    ),
    # Pipelines (dag, matrix controllers) run without a queue.
    S.COMPILED: frozenset(
        {S.QUEUED, S.ON_SCHEDULE, S.RUNNING, S.STOPPED, S.FAILED, S.SKIPPED, S.UPSTREAM_FAILED}
    ),
    S.QUEUED: frozenset(
        {
            S.SCHEDULED,
            S.WARNING,
            S.UNSCHEDULABLE,
            S.STOPPING,
            S.STOPPED,
            S.FAILED,
            S.UPSTREAM_FAILED,
        }
    ),
    # Back to queued: a claim whose start never happened (the scheduler died in between).
    S.SCHEDULED: frozenset({S.QUEUED, S.STARTING, S.RUNNING} | _LIVE_TROUBLE | _ENDINGS),
    S.STARTING: frozenset({S.RUNNING} | _LIVE_TROUBLE | _ENDINGS),
    S.RUNNING: frozenset({S.PROCESSING, S.WARNING, S.UNKNOWN} | _ENDINGS),
    S.PROCESSING: frozenset({S.RUNNING, S.WARNING, S.UNKNOWN} | _ENDINGS),
    S.WARNING: frozenset(
        {S.QUEUED, S.SCHEDULED, S.STARTING, S.RUNNING, S.PROCESSING, S.UNSCHEDULABLE, S.UNKNOWN}
        | _ENDINGS
    ),
    S.UNSCHEDULABLE: frozenset(
        {S.QUEUED, S.SCHEDULED, S.STARTING, S.RUNNING, S.WARNING, S.UNKNOWN} | _ENDINGS
    )
    - {S.SUCCEEDED},
    S.UNKNOWN: frozenset(
        {S.SCHEDULED, S.STARTING, S.RUNNING, S.PROCESSING, S.WARNING, S.UNSCHEDULABLE} | _ENDINGS
    ),
    # Waiting out a retry back-off: nothing runs, so a stop is immediate.
    S.RETRYING: frozenset({S.COMPILED, S.QUEUED, S.STOPPED, S.FAILED}),
    # Once stopping, only a final status.
    S.STOPPING: frozenset({S.STOPPED, S.FAILED, S.SUCCEEDED}),
    **{done: frozenset[RunStatus]() for done in DONE},
}

FORCED: Mapping[RunStatus, frozenset[RunStatus]] = {done: frozenset({S.RESUMING}) for done in DONE}
"""Transitions allowed only with `force=True`: resuming a finished run."""


Outcome = Literal["transition", "refresh", "rejected"]


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str = ""

    @property
    def accepted(self) -> bool:
        return self.outcome != "rejected"


def decide(current: RunStatus, new: RunStatus, *, force: bool = False) -> Decision:
    """Whether `current -> new` is allowed. The same status again refreshes its condition."""
    if new == S.CREATED:
        return Decision("rejected", "created is only ever a run's first status")
    if new == current:
        return Decision("refresh")
    if new in TRANSITIONS[current]:
        return Decision("transition")
    if new in FORCED.get(current, frozenset()):
        if force:
            return Decision("transition")
        return Decision("rejected", f"{current} is final; {new} needs force")
    if current in DONE:
        return Decision("rejected", f"{current} is final and cannot become {new}")
    return Decision("rejected", f"{current} cannot become {new}")


class StatusCondition(BaseModel):
    """One entry of a run's status timeline, in Polyaxon's V1StatusCondition shape."""

    model_config = ConfigDict(frozen=True)

    type: RunStatus
    status: bool = True
    reason: str | None = None
    message: str | None = None
    last_update_time: datetime
    last_transition_time: datetime
    meta_info: dict[str, Any] | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _polyaxon_true(cls, value: Any) -> Any:
        # Polyaxon's clients send the string "True".
        if isinstance(value, str):
            return value.strip().lower() in {"true", "1", "yes"}
        return value


@dataclass(frozen=True)
class Timeline:
    """A run's status with its conditions and the times derived from them."""

    status: RunStatus
    created_at: datetime
    conditions: tuple[StatusCondition, ...] = field(default=())
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @classmethod
    def start(
        cls, at: datetime, *, reason: str | None = None, message: str | None = None
    ) -> Timeline:
        first = StatusCondition(
            type=S.CREATED,
            reason=reason,
            message=message,
            last_update_time=at,
            last_transition_time=at,
        )
        return cls(status=S.CREATED, created_at=at, conditions=(first,))

    @property
    def wait_time(self) -> float | None:
        if self.started_at is None:
            return None
        return max((self.started_at - self.created_at).total_seconds(), 0.0)

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return max((self.finished_at - self.started_at).total_seconds(), 0.0)


@dataclass(frozen=True)
class Change:
    decision: Decision
    timeline: Timeline
    previous: RunStatus


def set_status(
    timeline: Timeline,
    new: RunStatus,
    *,
    at: datetime,
    reason: str | None = None,
    message: str | None = None,
    meta_info: dict[str, Any] | None = None,
    force: bool = False,
) -> Change:
    """Apply `new` to `timeline` if the table allows it; the one place statuses change."""
    decision = decide(timeline.status, new, force=force)
    if not decision.accepted:
        return Change(decision, timeline, timeline.status)
    if decision.outcome == "refresh":
        last = timeline.conditions[-1] if timeline.conditions else None
        if last is None or last.type != new:
            return Change(decision, timeline, timeline.status)
        refreshed = last.model_copy(
            update={
                "last_update_time": at,
                "reason": reason or last.reason,
                "message": message or last.message,
            }
        )
        return Change(
            decision,
            replace(timeline, conditions=(*timeline.conditions[:-1], refreshed)),
            timeline.status,
        )
    condition = StatusCondition(
        type=new,
        reason=reason,
        message=message,
        last_update_time=at,
        last_transition_time=at,
        meta_info=meta_info,
    )
    started_at = timeline.started_at
    finished_at = timeline.finished_at
    if new in STARTED and started_at is None:
        started_at = at
    if new in DONE and finished_at is None:
        finished_at = at
    if new == S.RESUMING:
        finished_at = None
    updated = replace(
        timeline,
        status=new,
        conditions=(*timeline.conditions, condition),
        started_at=started_at,
        finished_at=finished_at,
    )
    return Change(decision, updated, timeline.status)
