"""The run a spec is compiled for: what Polyaxon's `globals` template context holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from libs.common.artifacts import OUTPUTS, run_path
from libs.common.ids import utcnow


@dataclass(frozen=True)
class RunContext:
    """What the platform knows about the run being compiled: the `globals` template context."""

    uuid: UUID
    owner: str
    project: str
    username: str
    namespace: str
    artifacts_root: str
    name: str | None = None
    project_uuid: UUID | None = None
    created_at: datetime | None = None
    schedule_at: datetime | None = None
    iteration: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def run_artifacts_path(self) -> str:
        return str(run_path(self.artifacts_root, self.project, self.uuid))

    def globals(self, *, ports: list[int] | None = None) -> dict[str, Any]:
        artifacts = self.run_artifacts_path
        values: dict[str, Any] = {
            "owner_name": self.owner,
            "project_name": self.project,
            "project_unique_name": f"{self.owner}.{self.project}",
            "project_uuid": str(self.project_uuid) if self.project_uuid else None,
            "run_info": f"{self.owner}.{self.project}.runs.{self.uuid.hex}",
            "name": self.name,
            "uuid": self.uuid.hex,
            "run_uuid": self.uuid.hex,
            "username": self.username,
            "user_email": None,
            "namespace": self.namespace,
            # On the local runner a run's context is its own folder in the artifact store.
            "context_path": artifacts,
            "artifacts_path": artifacts,
            "artifacts_root": self.artifacts_root,
            "run_artifacts_path": artifacts,
            "run_outputs_path": f"{artifacts}/{OUTPUTS}",
            "run_relative_outputs_path": f"{self.uuid.hex}/{OUTPUTS}",
            "created_at": (self.created_at or utcnow()).isoformat(),
            "compiled_at": utcnow().isoformat(),
            "schedule_at": self.schedule_at.isoformat() if self.schedule_at else None,
            "cloning_kind": None,
            "original_uuid": None,
            "is_independent": True,
            "iteration": self.iteration,
        }
        if ports is not None:
            values["ports"] = ports
            values["base_url"] = (
                f"/services/v1/{self.namespace}/{self.owner}/{self.project}/runs/{self.uuid.hex}"
            )
        return {**values, **self.extra}
