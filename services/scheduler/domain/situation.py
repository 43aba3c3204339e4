"""The decision's input, read from the scheduler's tables."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.quantities import Resources
from libs.common.queues import DEFAULT_QUEUE
from services.scheduler.db import queries
from services.scheduler.domain.decisions import Active, Queue, Situation, Waiting
from services.scheduler.domain.limits import Limits
from services.scheduler.settings import SchedulerSettings


@dataclass
class Definitions:
    queues: dict[str, Queue]
    project_quotas: dict[str, Limits]
    user_quotas: dict[str, Limits]
    shares: dict[str, float]


@dataclass
class DefinitionsCache:
    """Queues and quotas change rarely; a dispatcher re-reads them at most every `ttl` seconds.
    (Every replica reads them from the database, where whichever replica consumed the api's
    event wrote them.)"""

    ttl: float
    _value: Definitions | None = None
    _read_at: float = field(default=0.0)

    def invalidate(self) -> None:
        self._value = None

    async def get(self, session: AsyncSession, settings: SchedulerSettings) -> Definitions:
        if self._value is None or time.monotonic() - self._read_at > self.ttl:
            self._value = await read_definitions(session, settings)
            self._read_at = time.monotonic()
        return self._value


async def read_definitions(session: AsyncSession, settings: SchedulerSettings) -> Definitions:
    queues = {DEFAULT_QUEUE: Queue(DEFAULT_QUEUE, priority=0, concurrency=settings.concurrency)}
    for definition in await queries.queue_definitions(session):
        queues[definition.name] = Queue(
            definition.name, definition.priority, definition.concurrency
        )
    definitions = Definitions(queues, {}, {}, {})
    for quota in await queries.quotas(session):
        limits = Limits(runs=quota.runs, cpu=quota.cpu, memory=quota.memory, gpu=quota.gpu)
        if quota.kind == "project":
            definitions.project_quotas[quota.subject] = limits
            definitions.shares[quota.subject] = quota.share
        else:
            definitions.user_quotas[quota.subject] = limits
    return definitions


async def load_situation(
    session: AsyncSession,
    settings: SchedulerSettings,
    cache: DefinitionsCache | None = None,
    *,
    everything: bool = False,
) -> Situation:
    """The situation a decision needs: with many runs queued, only the heads of each project's
    line in each queue, as many as could start now (plus a margin for runs passed over by a
    quota); with `everything`, all queued runs (to explain each one's wait)."""
    definitions = await (
        cache.get(session, settings) if cache else read_definitions(session, settings)
    )
    active = [
        Active(r.uuid, r.queue, r.project, r.user, Resources(r.cpu, r.memory, r.gpu))
        for r in await queries.holding_slots(session)
    ]
    heads = None if everything else _heads(definitions, active, settings)
    rows = await queries.queued(session, heads=heads) if heads != 0 else []
    waiting = [
        Waiting(
            r.uuid,
            r.queue,
            r.project,
            r.queued_at or r.created_at,
            r.user,
            r.priority,
            Resources(r.cpu, r.memory, r.gpu),
        )
        for r in rows
    ]
    return Situation(
        definitions.queues, active, waiting, definitions.project_quotas, definitions.user_quotas,
        definitions.shares, settings.capacity,
    )  # fmt: skip


QUOTA_MARGIN = 32
"""Runs looked at past the free slots, per project and queue, for those a quota passes over."""


def _heads(
    definitions: Definitions, active: list[Active], settings: SchedulerSettings
) -> int | None:
    """How far down each project's line a decision can reach; None for no bound."""
    running: dict[str, int] = {}
    for run in active:
        running[run.queue] = running.get(run.queue, 0) + 1
    free = 0
    for queue in definitions.queues.values():
        if queue.concurrency is None:
            return None if settings.capacity_runs is None else settings.capacity_runs + QUOTA_MARGIN
        free = max(free, queue.concurrency - running.get(queue.name, 0))
    if settings.capacity_runs is not None:
        free = min(free, max(settings.capacity_runs - len(active), 0))
    return free + QUOTA_MARGIN if free > 0 else 0
