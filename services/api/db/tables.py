"""The api's tables, in its own schema: users, tokens, projects, runs, plus outbox and inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from libs.common.inbox import inbox_table
from libs.common.outbox import outbox_table

Json = JSON().with_variant(JSONB(), "postgresql")
Timestamp = DateTime(timezone=True)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: Timestamp, dict[str, Any]: Json, list[Any]: Json}


class Installation(Base):
    __tablename__ = "installation"
    key: Mapped[UUID] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]


class User(Base):
    __tablename__ = "users"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime]


class Token(Base):
    __tablename__ = "tokens"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(150))
    created_at: Mapped[datetime]


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("owner", "name"),)
    uuid: Mapped[UUID] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(150))
    name: Mapped[str] = mapped_column(String(150))
    user: Mapped[str] = mapped_column(String(150))
    description: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    is_public: Mapped[bool] = mapped_column(default=False)
    readme: Mapped[str | None] = mapped_column(Text)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_project_created", "project_uuid", "created_at"),
        Index("ix_runs_status", "status"),
    )
    uuid: Mapped[UUID] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(150))
    project_uuid: Mapped[UUID] = mapped_column(ForeignKey("projects.uuid", ondelete="CASCADE"))
    project: Mapped[str] = mapped_column(String(150))
    name: Mapped[str | None] = mapped_column(String(250))
    description: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    user: Mapped[str] = mapped_column(String(150))
    kind: Mapped[str | None] = mapped_column(String(50))
    runtime: Mapped[str | None] = mapped_column(String(50))
    is_managed: Mapped[bool]
    managed_by: Mapped[str | None] = mapped_column(String(20))
    pending: Mapped[str | None] = mapped_column(String(20))
    content: Mapped[str | None] = mapped_column(Text)
    raw_content: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(30))
    status_conditions: Mapped[list[Any]] = mapped_column(default=list)
    inputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    outputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    meta_info: Mapped[dict[str, Any]] = mapped_column(default=dict)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    original: Mapped[dict[str, Any] | None]
    pipeline: Mapped[dict[str, Any] | None]
    readme: Mapped[str | None] = mapped_column(Text)
    submission: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    schedule_at: Mapped[datetime | None]


class QueueDefinition(Base):
    __tablename__ = "queues"
    __table_args__ = (UniqueConstraint("owner", "name"),)
    uuid: Mapped[UUID] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(150))
    name: Mapped[str] = mapped_column(String(150))
    description: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(default=0)
    concurrency: Mapped[int | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Preset(Base):
    """An organization's saved preset: an operation without a component (YAML or JSON, kept as
    written), applied by name through an operation's `presets: [name]`."""

    __tablename__ = "presets"
    __table_args__ = (UniqueConstraint("owner", "name"),)
    uuid: Mapped[UUID] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(150))
    name: Mapped[str] = mapped_column(String(150))
    description: Mapped[str | None] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Quota(Base):
    """Limits on what a project or a user runs at once; None is unlimited."""

    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("owner", "kind", "subject"),)
    uuid: Mapped[UUID] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(150))
    kind: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(150))
    runs: Mapped[int | None]
    cpu: Mapped[float | None]
    memory: Mapped[float | None]
    gpu: Mapped[float | None]
    share: Mapped[float] = mapped_column(default=1.0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RunMetric(Base):
    """Read model of tracking's metric summaries (`tracking.metric_summary.updated`), for
    `metrics.<name>[.min|.max|.last]` in run search and sort."""

    __tablename__ = "run_metrics"
    __table_args__ = (Index("ix_run_metrics_name_last", "name", "last"),)
    run_uuid: Mapped[UUID] = mapped_column(
        ForeignKey("runs.uuid", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(250), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger())
    min: Mapped[float] = mapped_column(Float())
    max: Mapped[float] = mapped_column(Float())
    last: Mapped[float] = mapped_column(Float())
    last_step: Mapped[int | None] = mapped_column(BigInteger())
    updated_at: Mapped[datetime]


class RunArtifact(Base):
    """Lineage: V1RunArtifact records a run's client reports (files, models, metrics, ...)."""

    __tablename__ = "run_artifacts"
    __table_args__ = (UniqueConstraint("run_uuid", "name", "is_input"),)
    id: Mapped[UUID] = mapped_column(primary_key=True)
    run_uuid: Mapped[UUID] = mapped_column(ForeignKey("runs.uuid", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(250))
    kind: Mapped[str] = mapped_column(String(30))
    path: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str | None] = mapped_column(String(100))
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    meta_info: Mapped[dict[str, Any]] = mapped_column(default=dict)
    connection: Mapped[str | None] = mapped_column(String(250))
    is_input: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
