"""Wire schemas: Polyaxon's V1 JSON shapes (snake_case). Never ORM rows."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from libs.common.ids import UtcDatetime
from libs.common.lifecycle import RunStatus, StatusCondition
from services.api.db.tables import Project, Run
from services.api.domain.status import timeline_of

PROJECT_NAME = r"^[-a-zA-Z0-9_]+$"
RESERVED_PROJECT_NAMES = frozenset(
    {"projects", "runs", "users", "installation", "compatibility", "orgs"}
)


class _In(BaseModel):
    # Polyaxon's clients send whole V1 objects; fields we do not take are ignored.
    model_config = ConfigDict(extra="ignore")


class ProjectCreate(_In):
    name: str = Field(pattern=PROJECT_NAME, max_length=150)
    description: str | None = None
    tags: list[str] | None = None
    is_public: bool = False
    readme: str | None = None
    settings: dict[str, Any] | None = None


class ProjectUpdate(_In):
    name: str | None = Field(None, pattern=PROJECT_NAME, max_length=150)
    description: str | None = None
    tags: list[str] | None = None
    is_public: bool | None = None
    readme: str | None = None
    settings: dict[str, Any] | None = None


class ProjectRead(BaseModel):
    uuid: str
    owner: str
    user: str
    name: str
    description: str | None
    tags: list[str]
    created_at: UtcDatetime
    updated_at: UtcDatetime
    is_public: bool
    bookmarked: bool = False
    readme: str | None
    settings: dict[str, Any]
    role: str = "admin"
    live_state: int = 1
    contributors: list[Any] = []

    @classmethod
    def of(cls, project: Project) -> ProjectRead:
        return cls(
            uuid=project.uuid.hex,
            owner=project.owner,
            user=project.user,
            name=project.name,
            description=project.description,
            tags=project.tags or [],
            created_at=project.created_at,
            updated_at=project.updated_at,
            is_public=project.is_public,
            readme=project.readme,
            settings=project.settings or {},
        )


class RunCreate(_In):
    """V1OperationBody."""

    content: str | None = Field(None, description="The operation as a JSON or YAML string.")
    name: str | None = Field(None, max_length=250)
    description: str | None = None
    tags: list[str] | None = None
    is_managed: bool = True
    managed_by: Literal["user", "cli", "agent", "client"] | None = None
    meta_info: dict[str, Any] | None = None
    pending: Literal["approval", "upload", "cache", "build"] | None = None


class RunPatch(_In):
    name: str | None = Field(None, max_length=250)
    description: str | None = None
    tags: list[str] | None = None
    readme: str | None = None
    inputs: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    meta_info: dict[str, Any] | None = None
    merge: bool = False


class Lineage(BaseModel):
    uuid: str
    name: str | None = None
    kind: str


class RunRead(BaseModel):
    """V1Run."""

    uuid: str
    name: str | None
    description: str | None
    tags: list[str]
    user: str
    owner: str
    project: str
    created_at: UtcDatetime
    updated_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    schedule_at: UtcDatetime | None
    wait_time: float | None
    duration: float | None
    managed_by: str | None
    is_managed: bool
    is_approved: bool
    pending: str | None
    content: str | None = None
    raw_content: str | None = None
    status: RunStatus
    status_conditions: list[StatusCondition]
    bookmarked: bool = False
    live_state: int = 1
    readme: str | None
    meta_info: dict[str, Any]
    kind: str | None
    runtime: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    original: Lineage | None
    pipeline: Lineage | None
    settings: dict[str, Any]
    role: str = "admin"
    contributors: list[Any] = []

    @classmethod
    def of(cls, run: Run, *, with_content: bool = True) -> RunRead:
        timeline = timeline_of(run)
        return cls(
            uuid=run.uuid.hex,
            name=run.name,
            description=run.description,
            tags=run.tags or [],
            user=run.user,
            owner=run.owner,
            project=run.project,
            created_at=timeline.created_at,
            updated_at=run.updated_at,
            started_at=timeline.started_at,
            finished_at=timeline.finished_at,
            schedule_at=run.schedule_at,
            wait_time=timeline.wait_time,
            duration=timeline.duration,
            managed_by=run.managed_by,
            is_managed=run.is_managed,
            is_approved=run.pending != "approval",
            pending=run.pending,
            content=run.content if with_content else None,
            raw_content=run.raw_content if with_content else None,
            status=timeline.status,
            status_conditions=list(timeline.conditions),
            readme=run.readme,
            meta_info=run.meta_info or {},
            kind=run.kind,
            runtime=run.runtime,
            inputs=run.inputs or {},
            outputs=run.outputs or {},
            original=Lineage.model_validate(run.original) if run.original else None,
            pipeline=Lineage.model_validate(run.pipeline) if run.pipeline else None,
            settings=run.settings or {},
        )


class StatusRead(BaseModel):
    """V1Status."""

    uuid: str
    status: RunStatus
    status_conditions: list[StatusCondition]
    meta_info: dict[str, Any] = {}


class ConditionIn(_In):
    type: RunStatus
    status: bool | str = True
    reason: str | None = None
    message: str | None = None
    meta_info: dict[str, Any] | None = None


class StatusCreate(_In):
    """V1EntityStatusBodyRequest."""

    condition: ConditionIn
    force: bool = False
    owner: str | None = None
    project: str | None = None
    uuid: UUID | str | None = None


class User(BaseModel):
    username: str
    email: str | None
    name: str | None = None
    kind: str = "user"
    theme: int | None = None
    organization: str | None = None


class Installation(BaseModel):
    key: str
    version: str
    dist: str = "ce"
    host: str | None
    hmac: str | None = None
    mode: str
    orgs: bool = False
    single_url: bool = True
    default_streams_url: str | None = None
    auth: list[str] = ["token"]
    """How clients authenticate (Polyaxon lists its auth providers here)."""


class VersionRange(BaseModel):
    min: str
    latest: str


class Compatibility(BaseModel):
    """V1Compatibility: the client versions this server serves."""

    cli: VersionRange
