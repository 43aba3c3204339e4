"""Tracking's tables, in its own schema: its read model of runs, metric points, the tokens it
accepts, outbox and inbox."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import BigInteger, DateTime, Float, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from libs.common.auth import known_tokens_table
from libs.common.inbox import inbox_table
from libs.common.outbox import outbox_table


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True)}


class TrackedRun(Base):
    """What tracking knows of a run, from the api's events; a deleted run stays as a tombstone."""

    __tablename__ = "tracked_runs"
    uuid: Mapped[UUID] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(150))
    project: Mapped[str] = mapped_column(String(150))
    namespace: Mapped[str] = mapped_column(String(150))
    is_managed: Mapped[bool]
    deleted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]


class MetricPoint(Base):
    __tablename__ = "metric_points"
    __table_args__ = (Index("ix_metric_points_series", "run_uuid", "name", "step"),)
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    run_uuid: Mapped[UUID]
    name: Mapped[str] = mapped_column(String(250))
    step: Mapped[int | None] = mapped_column(BigInteger())
    timestamp: Mapped[datetime]
    value: Mapped[float] = mapped_column(Float())


known_tokens = known_tokens_table(Base.metadata)
outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
