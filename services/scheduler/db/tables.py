"""The scheduler's tables, in its own schema: its view of each run's execution, the tokens it
accepts, outbox and inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, DateTime, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from libs.common.auth import known_tokens_table
from libs.common.inbox import inbox_table
from libs.common.outbox import outbox_table

Json = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: Json, list[Any]: Json}


class Execution(Base):
    """One run as the scheduler sees it: queued, claimed, started on a runner, finished."""

    __tablename__ = "executions"
    __table_args__ = (Index("ix_executions_status_queued", "status", "queued_at"),)

    uuid: Mapped[UUID] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(150))
    project: Mapped[str] = mapped_column(String(150))
    user: Mapped[str | None] = mapped_column(String(150))
    name: Mapped[str | None] = mapped_column(String(250))
    namespace: Mapped[str] = mapped_column(String(150))
    queue: Mapped[str] = mapped_column(String(150))
    priority: Mapped[int] = mapped_column(default=0)
    cpu: Mapped[float] = mapped_column(default=0.0)
    memory: Mapped[float] = mapped_column(default=0.0)
    gpu: Mapped[float] = mapped_column(default=0.0)
    max_retries: Mapped[int] = mapped_column(default=0)
    attempt: Mapped[int] = mapped_column(default=0)
    """Failed attempts so far (0 on the first)."""
    retry_at: Mapped[datetime | None]
    timeout: Mapped[float | None]
    """Seconds a run may run before it is stopped (termination.timeout)."""
    ttl: Mapped[float | None]
    """Seconds after it ended before the runner's leftovers are cleaned (termination.ttl)."""
    cleaned_at: Mapped[datetime | None]
    stop_reason: Mapped[str | None] = mapped_column(String(200))
    resubmission: Mapped[dict[str, Any] | None]
    """A later submission (resume) that waits for the current execution to end."""
    content: Mapped[dict[str, Any]]
    submission: Mapped[int]
    status: Mapped[str] = mapped_column(String(30))
    status_conditions: Mapped[list[Any]]
    queued_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    runner: Mapped[str | None] = mapped_column(String(30))
    handle: Mapped[dict[str, Any] | None]
    stop_requested: Mapped[bool] = mapped_column(default=False)
    stop_sent_at: Mapped[datetime | None]
    exit_code: Mapped[int | None]
    deleted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class QueueDefinition(Base):
    """Read model of the api's queues (`api.queue.changed`)."""

    __tablename__ = "queues"
    name: Mapped[str] = mapped_column(String(150), primary_key=True)
    priority: Mapped[int] = mapped_column(default=0)
    concurrency: Mapped[int | None]


class Quota(Base):
    """Read model of the api's quotas (`api.quota.changed`)."""

    __tablename__ = "quotas"
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    subject: Mapped[str] = mapped_column(String(150), primary_key=True)
    runs: Mapped[int | None]
    cpu: Mapped[float | None]
    memory: Mapped[float | None]
    gpu: Mapped[float | None]
    share: Mapped[float] = mapped_column(default=1.0)


known_tokens = known_tokens_table(Base.metadata)
outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
