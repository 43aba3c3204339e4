"""Queues and quotas: `/api/v1/orgs/{owner}/queues[/{name}]`,
`/api/v1/orgs/{owner}/quotas[/{kind}/{subject}]`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import func, select

from libs.common.http import ApiError, not_found
from libs.common.ids import UtcDatetime, new_id, utcnow
from libs.common.quantities import parse_quantity
from libs.common.queues import DEFAULT_QUEUE
from services.api.api.pagination import Limit, Offset
from services.api.db.tables import QueueDefinition, Quota
from services.api.deps import CurrentUser, OutboxDep, Owner, SessionDep
from services.api.domain.definitions import announce_queue, announce_quota, get_queue, get_quota

router = APIRouter(prefix="/api/v1/orgs", tags=["queues and quotas"])
QUEUE_NAME = r"^[-a-zA-Z0-9_]+$"


class QueueIn(BaseModel):
    name: str = Field(pattern=QUEUE_NAME, max_length=150)
    description: str | None = None
    priority: int = Field(0, description="Higher-priority queues are served first.")
    concurrency: int | None = Field(None, ge=1, description="Runs at once; null is unlimited.")


class QueuePatch(BaseModel):
    description: str | None = None
    priority: int | None = None
    concurrency: int | None = Field(None, ge=1)


class QueueRead(BaseModel):
    """Polyaxon's V1Queue, as far as it applies."""

    uuid: str
    name: str
    description: str | None
    priority: int
    concurrency: int | None
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @classmethod
    def of(cls, queue: QueueDefinition) -> QueueRead:
        return cls(
            uuid=queue.uuid.hex,
            name=queue.name,
            description=queue.description,
            priority=queue.priority,
            concurrency=queue.concurrency,
            created_at=queue.created_at,
            updated_at=queue.updated_at,
        )


class QuotaIn(BaseModel):
    runs: int | None = Field(None, ge=0, description="Runs at once.")
    cpu: float | None = Field(None, ge=0, description="Cores requested at once.")
    memory: float | None = Field(
        None, ge=0, description="Memory requested at once: bytes, or a quantity (16Gi)."
    )
    gpu: float | None = Field(None, ge=0, description="GPUs requested at once.")
    share: float = Field(1.0, gt=0, description="A project's weight in fair share (projects only).")

    @field_validator("memory", mode="before")
    @classmethod
    def _quantity(cls, value: Any) -> Any:
        return parse_quantity(value) if isinstance(value, str) else value


class QuotaRead(QuotaIn):
    kind: Literal["project", "user"]
    subject: str

    @classmethod
    def of(cls, quota: Quota) -> QuotaRead:
        return cls(
            kind=quota.kind, subject=quota.subject, runs=quota.runs, cpu=quota.cpu,
            memory=quota.memory, gpu=quota.gpu, share=quota.share,
        )  # fmt: skip


class Listing(BaseModel):
    count: int
    results: list[Any]
    next: str | None = None
    previous: str | None = None


@router.post("/{owner}/queues", response_model=QueueRead)
async def create_queue(
    owner: Owner, body: QueueIn, _: CurrentUser, session: SessionDep, outbox: OutboxDep
) -> QueueRead:
    async with session.begin():
        if await get_queue(session, owner, body.name) is not None:
            raise ApiError(
                409, f"queue {body.name!r} already exists", loc=("body", "name"), type="conflict"
            )
        now = utcnow()
        queue = QueueDefinition(
            uuid=new_id(), owner=owner, created_at=now, updated_at=now, **body.model_dump()
        )
        session.add(queue)
        await session.flush()
        await announce_queue(session, outbox, queue)
    return QueueRead.of(queue)


@router.get("/{owner}/queues", response_model=Listing)
async def list_queues(
    owner: Owner, _: CurrentUser, session: SessionDep, offset: Offset = 0, limit: Limit = 100
) -> Listing:
    where = QueueDefinition.owner == owner
    count = (
        await session.execute(select(func.count()).select_from(QueueDefinition).where(where))
    ).scalar_one()
    rows = await session.execute(
        select(QueueDefinition)
        .where(where)
        .order_by(QueueDefinition.priority.desc(), QueueDefinition.name)
        .offset(offset)
        .limit(limit)
    )
    return Listing(count=count, results=[QueueRead.of(q) for q in rows.scalars()])


async def _queue_or_404(session: SessionDep, owner: str, name: str) -> QueueDefinition:
    queue = await get_queue(session, owner, name)
    if queue is None:
        hint = (
            " (it is built in: define it to change its settings)" if name == DEFAULT_QUEUE else ""
        )
        raise not_found(f"queue {name!r}{hint}", ("path", "name"))
    return queue


@router.get("/{owner}/queues/{name}", response_model=QueueRead)
async def read_queue(owner: Owner, name: str, _: CurrentUser, session: SessionDep) -> QueueRead:
    return QueueRead.of(await _queue_or_404(session, owner, name))


@router.patch("/{owner}/queues/{name}", response_model=QueueRead)
async def update_queue(
    owner: Owner,
    name: str,
    body: QueuePatch,
    _: CurrentUser,
    session: SessionDep,
    outbox: OutboxDep,
) -> QueueRead:
    async with session.begin():
        queue = await _queue_or_404(session, owner, name)
        for key, value in body.model_dump(exclude_unset=True).items():
            if key == "priority" and value is None:
                raise ApiError(422, "priority must be a number", loc=("body", "priority"))
            setattr(queue, key, value)
        queue.updated_at = utcnow()
        await announce_queue(session, outbox, queue)
    return QueueRead.of(queue)


@router.delete("/{owner}/queues/{name}", status_code=204)
async def delete_queue(
    owner: Owner, name: str, _: CurrentUser, session: SessionDep, outbox: OutboxDep
) -> Response:
    async with session.begin():
        queue = await _queue_or_404(session, owner, name)
        await announce_queue(session, outbox, queue, deleted=True)
        await session.delete(queue)
    return Response(status_code=204)


Kind = Annotated[Literal["project", "user"], Path(description="`project` or `user`.")]


@router.put("/{owner}/quotas/{kind}/{subject}", response_model=QuotaRead)
async def set_quota(
    owner: Owner,
    kind: Kind,
    subject: str,
    body: QuotaIn,
    _: CurrentUser,
    session: SessionDep,
    outbox: OutboxDep,
) -> QuotaRead:
    if kind == "user" and body.share != 1.0:
        raise ApiError(
            422, "share weighs projects in fair share; users have none", loc=("body", "share")
        )
    async with session.begin():
        quota = await get_quota(session, owner, kind, subject)
        now = utcnow()
        if quota is None:
            quota = Quota(uuid=new_id(), owner=owner, kind=kind, subject=subject, created_at=now)
            session.add(quota)
        for key, value in body.model_dump().items():
            setattr(quota, key, value)
        quota.updated_at = now
        await session.flush()
        await announce_quota(session, outbox, quota)
    return QuotaRead.of(quota)


@router.get("/{owner}/quotas", response_model=Listing)
async def list_quotas(owner: Owner, _: CurrentUser, session: SessionDep) -> Listing:
    rows = list(
        (
            await session.execute(
                select(Quota).where(Quota.owner == owner).order_by(Quota.kind, Quota.subject)
            )
        ).scalars()
    )
    return Listing(count=len(rows), results=[QuotaRead.of(q) for q in rows])


@router.get("/{owner}/quotas/{kind}/{subject}", response_model=QuotaRead)
async def read_quota(
    owner: Owner, kind: Kind, subject: str, _: CurrentUser, session: SessionDep
) -> QuotaRead:
    quota = await get_quota(session, owner, kind, subject)
    if quota is None:
        raise not_found(f"{kind} quota for {subject!r}", ("path", "subject"))
    return QuotaRead.of(quota)


@router.delete("/{owner}/quotas/{kind}/{subject}", status_code=204)
async def delete_quota(
    owner: Owner, kind: Kind, subject: str, _: CurrentUser, session: SessionDep, outbox: OutboxDep
) -> Response:
    async with session.begin():
        quota = await get_quota(session, owner, kind, subject)
        if quota is None:
            raise not_found(f"{kind} quota for {subject!r}", ("path", "subject"))
        await announce_quota(session, outbox, quota, deleted=True)
        await session.delete(quota)
    return Response(status_code=204)
