"""The decision's input, read from the scheduler's tables."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.quantities import Resources
from libs.common.queues import DEFAULT_QUEUE
from services.scheduler.db import queries
from services.scheduler.domain.decisions import Active, Queue, Situation, Waiting
from services.scheduler.domain.limits import Limits
from services.scheduler.settings import SchedulerSettings


async def load_situation(session: AsyncSession, settings: SchedulerSettings) -> Situation:
    queues = {DEFAULT_QUEUE: Queue(DEFAULT_QUEUE, priority=0, concurrency=settings.concurrency)}
    for definition in await queries.queue_definitions(session):
        queues[definition.name] = Queue(
            definition.name, definition.priority, definition.concurrency
        )
    project_quotas: dict[str, Limits] = {}
    user_quotas: dict[str, Limits] = {}
    shares: dict[str, float] = {}
    for quota in await queries.quotas(session):
        limits = Limits(runs=quota.runs, cpu=quota.cpu, memory=quota.memory, gpu=quota.gpu)
        if quota.kind == "project":
            project_quotas[quota.subject] = limits
            shares[quota.subject] = quota.share
        else:
            user_quotas[quota.subject] = limits
    active = [
        Active(r.uuid, r.queue, r.project, r.user, Resources(r.cpu, r.memory, r.gpu))
        for r in await queries.holding_slots(session)
    ]
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
        for r in await queries.queued(session)
    ]
    return Situation(
        queues, active, waiting, project_quotas, user_quotas, shares, settings.capacity
    )
