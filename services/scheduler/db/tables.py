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
    name: Mapped[str | None] = mapped_column(String(250))
    namespace: Mapped[str] = mapped_column(String(150))
    queue: Mapped[str] = mapped_column(String(150))
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


known_tokens = known_tokens_table(Base.metadata)
outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
