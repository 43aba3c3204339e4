"""Which queued runs start now, and why the others wait: one pure function of the stored state.

Rules, in order:
- Queues are served by priority (higher first). A queue starts runs while it is under its
  concurrency limit, the installation under its capacity, and the run's project and user under
  their quotas (runs, cpu, memory, gpu).
- Inside a queue, projects share by weight: the next run comes from the project with the fewest
  running runs in that queue relative to its share (weighted fair share), so one big sweep
  cannot starve the others. Within a project, runs go by priority, then by arrival.
- A run that does not fit its quotas is passed over in favour of the next one that does
  (no head-of-line blocking); it keeps its place for the next round.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from uuid import UUID

from libs.common.quantities import Resources
from services.scheduler.domain.limits import Limits


@dataclass(frozen=True)
class Queue:
    name: str
    priority: int = 0
    concurrency: int | None = None


@dataclass(frozen=True)
class Active:
    uuid: UUID
    queue: str
    project: str
    user: str | None = None
    resources: Resources = field(default_factory=Resources)


@dataclass(frozen=True)
class Waiting:
    uuid: UUID
    queue: str
    project: str
    queued_at: datetime
    user: str | None = None
    priority: int = 0
    resources: Resources = field(default_factory=Resources)


@dataclass(frozen=True)
class Situation:
    """Everything the decision depends on."""

    queues: Mapping[str, Queue]
    active: Sequence[Active]
    waiting: Sequence[Waiting]
    project_quotas: Mapping[str, Limits] = field(default_factory=dict)
    user_quotas: Mapping[str, Limits] = field(default_factory=dict)
    shares: Mapping[str, float] = field(default_factory=dict)
    capacity: Limits = field(default_factory=Limits)


WaitReason = Literal[
    "unknown_queue", "queue_full", "capacity", "project_quota", "user_quota", "behind"
]


@dataclass(frozen=True)
class Wait:
    reason: WaitReason
    message: str
    position: int | None = None
    """1-based place among the runs waiting in the same queue, in the order they would start."""


@dataclass
class Plan:
    start: list[UUID]
    waits: dict[UUID, Wait]


class _Usage:
    def __init__(self) -> None:
        self.runs: Counter[str | None] = Counter()
        self.resources: defaultdict[str | None, Resources] = defaultdict(Resources)

    def add(self, key: str | None, resources: Resources) -> None:
        self.runs[key] += 1
        self.resources[key] = self.resources[key] + resources


class _Board:
    """What runs and where, updated as the plan starts runs."""

    def __init__(self, situation: Situation) -> None:
        self.situation = situation
        self.queue_running: Counter[str] = Counter()
        self.project_running: Counter[tuple[str, str]] = Counter()
        self.projects = _Usage()
        self.users = _Usage()
        self.everything = _Usage()
        for run in situation.active:
            self.take(run.queue, run.project, run.user, run.resources)

    def take(self, queue: str, project: str, user: str | None, resources: Resources) -> None:
        self.queue_running[queue] += 1
        self.project_running[(queue, project)] += 1
        self.projects.add(project, resources)
        self.users.add(user, resources)
        self.everything.add(None, resources)

    def queue_full(self, queue: Queue) -> bool:
        return queue.concurrency is not None and self.queue_running[queue.name] >= queue.concurrency

    def blocker(self, run: Waiting) -> tuple[WaitReason, str] | None:
        """A quota or capacity that `run` does not fit, if any."""
        situation = self.situation
        checks: list[tuple[WaitReason, str, Limits | None, _Usage, str | None]] = [
            ("capacity", "capacity", situation.capacity, self.everything, None),
            ("project_quota", f"project {run.project!r} quota",
             situation.project_quotas.get(run.project), self.projects, run.project),
            ("user_quota", f"user {run.user!r} quota",
             situation.user_quotas.get(run.user or ""), self.users, run.user),
        ]  # fmt: skip
        for reason, label, limits, usage, key in checks:
            if limits is None:
                continue
            exceeded = limits.exceeded(usage.runs[key], usage.resources[key], run.resources)
            if exceeded is not None:
                return reason, f"{label}: {exceeded}"
        return None

    def deficit(self, queue: str, project: str) -> float:
        return self.project_running[(queue, project)] / max(
            self.situation.shares.get(project, 1.0), 1e-9
        )


def _lines(situation: Situation) -> dict[str, dict[str, list[Waiting]]]:
    """Each queue's waiting runs, per project, in project order (priority, then arrival)."""
    lines: dict[str, dict[str, list[Waiting]]] = defaultdict(lambda: defaultdict(list))
    for run in situation.waiting:
        lines[run.queue][run.project].append(run)
    for projects in lines.values():
        for runs in projects.values():
            runs.sort(key=lambda r: (-r.priority, r.queued_at, r.uuid))
    return lines


def _pick_order(
    board: _Board, queue: Queue, projects: dict[str, list[Waiting]], *, respect_limits: bool
) -> list[Waiting]:
    """Runs of one queue in the order fair share would start them, as far as limits allow.

    Each project's line is walked once: a run that does not fit is passed over and stays waiting.
    """
    cursor = dict.fromkeys(projects, 0)
    order: list[Waiting] = []
    while not (respect_limits and board.queue_full(queue)):
        best: tuple[tuple[float, int, datetime, UUID], str, Waiting] | None = None
        for project, runs in projects.items():
            index = cursor[project]
            while index < len(runs) and respect_limits and board.blocker(runs[index]) is not None:
                index += 1
            cursor[project] = index
            if index == len(runs):
                continue
            run = runs[index]
            key = (board.deficit(queue.name, project), -run.priority, run.queued_at, run.uuid)
            if best is None or key < best[0]:
                best = (key, project, run)
        if best is None:
            break
        _, project, run = best
        cursor[project] += 1
        board.take(run.queue, run.project, run.user, run.resources)
        order.append(run)
    return order


def plan(situation: Situation, *, explain: bool = False) -> Plan:
    """The runs to start now, in order; with `explain`, why each other run waits."""
    board = _Board(situation)
    lines = _lines(situation)
    queues = sorted(situation.queues.values(), key=lambda q: (-q.priority, q.name))
    started: list[UUID] = []
    for queue in queues:
        if queue.name in lines:
            started += [
                run.uuid
                for run in _pick_order(board, queue, dict(lines[queue.name]), respect_limits=True)
            ]
    if not explain:
        return Plan(started, {})
    return Plan(started, _explain(situation, board, lines, set(started)))


def _explain(
    situation: Situation,
    board: _Board,
    lines: dict[str, dict[str, list[Waiting]]],
    started: set[UUID],
) -> dict[UUID, Wait]:
    waits: dict[UUID, Wait] = {}
    for name, projects in lines.items():
        queue = situation.queues.get(name)
        remaining = {p: [r for r in runs if r.uuid not in started] for p, runs in projects.items()}
        if queue is None:
            for runs in remaining.values():
                for run in runs:
                    waits[run.uuid] = Wait("unknown_queue", f"queue {name!r} does not exist")
            continue
        # The order they would start in once slots free up, fair share included.
        ghost = _Board(situation)
        ghost.queue_running, ghost.project_running = (
            Counter(board.queue_running),
            Counter(board.project_running),
        )
        order = _pick_order(ghost, queue, remaining, respect_limits=False)
        total = len(order)
        for position, run in enumerate(order, start=1):
            where = f"position {position} of {total} in queue {name!r}"
            blocked = board.blocker(run)
            if blocked is not None:
                waits[run.uuid] = Wait(blocked[0], f"{blocked[1]}; {where}", position)
            elif board.queue_full(queue):
                running = board.queue_running[name]
                waits[run.uuid] = Wait(
                    "queue_full",
                    f"queue {name!r} is full ({running}/{queue.concurrency} running); {where}",
                    position,
                )
            else:
                waits[run.uuid] = Wait("behind", where, position)
    return waits
