"""Tracking's tables, in its own schema: its read model of runs, metric series (summaries and
packed chunks of points), rich events, the batch ids already stored, the tokens it accepts,
outbox and inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from libs.common.auth import known_tokens_table
from libs.common.inbox import inbox_table
from libs.common.outbox import outbox_table

# SQLite only autoincrements an INTEGER PRIMARY KEY.
Serial = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: Json}


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


class MetricSeries(Base):
    """One metric of one run, with its summary kept current by every write. `published` is false
    while the summary has changed since the last `tracking.metric_summary.updated` event."""

    __tablename__ = "metric_series"
    __table_args__ = (
        UniqueConstraint("run_uuid", "name"),
        Index("ix_metric_series_unpublished", "published"),
    )
    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    run_uuid: Mapped[UUID]
    name: Mapped[str] = mapped_column(String(250))
    count: Mapped[int] = mapped_column(BigInteger())
    min: Mapped[float] = mapped_column(Float())
    max: Mapped[float] = mapped_column(Float())
    last: Mapped[float] = mapped_column(Float())
    last_step: Mapped[int | None] = mapped_column(BigInteger())
    last_timestamp: Mapped[datetime]
    updated_at: Mapped[datetime]
    published: Mapped[bool] = mapped_column(default=False)


class MetricChunk(Base):
    """The points of one series that one batch carried, packed: little-endian int64 steps
    (-1 for none), int64 microseconds since the epoch, float64 values. A batch of 10,000 points
    is one row per series, so a 1,000,000-point series is about a hundred rows to read."""

    __tablename__ = "metric_chunks"
    __table_args__ = (Index("ix_metric_chunks_series", "series_id", "max_step"),)
    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    series_id: Mapped[int] = mapped_column(BigInteger())
    count: Mapped[int] = mapped_column(Integer())
    min_step: Mapped[int] = mapped_column(BigInteger())
    max_step: Mapped[int] = mapped_column(BigInteger())
    steps: Mapped[bytes] = mapped_column(LargeBinary())
    timestamps: Mapped[bytes] = mapped_column(LargeBinary())
    values: Mapped[bytes] = mapped_column(LargeBinary())


class IngestedBatch(Base):
    """Batch ids already stored for a run: a retried batch is acknowledged, not stored twice."""

    __tablename__ = "ingested_batches"
    run_uuid: Mapped[UUID] = mapped_column(primary_key=True)
    batch_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    count: Mapped[int] = mapped_column(Integer())
    received_at: Mapped[datetime]


class RunEvent(Base):
    """Rich events: text, images (a path to the asset), histograms, curves, confusion matrices."""

    __tablename__ = "run_events"
    __table_args__ = (Index("ix_run_events_series", "run_uuid", "kind", "name", "step"),)
    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    run_uuid: Mapped[UUID]
    kind: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(250))
    step: Mapped[int | None] = mapped_column(BigInteger())
    timestamp: Mapped[datetime]
    value: Mapped[dict[str, Any]]


known_tokens = known_tokens_table(Base.metadata)
outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
