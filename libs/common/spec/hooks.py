"""What happens around a run: hooks (operations started when it ends), event triggers, joins
(params gathered from past runs), and the per-run options cache, termination, plugins, build
and template."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, StrictInt, field_validator, model_validator

from libs.common.spec.base import NonNegativeInt, SpecModel
from libs.common.spec.io import Param, normalize_params

HookTrigger = Literal["succeeded", "failed", "stopped", "skipped", "upstream_failed", "done"]
Trigger = Literal[
    "all_succeeded", "all_failed", "all_done", "one_succeeded", "one_failed", "one_done"
]
Mapping = dict[str, Any]


class _WithParams(SpecModel):
    params: dict[str, Param] | None = None

    @field_validator("params", mode="before")
    @classmethod
    def _short_params(cls, value: Any) -> Any:
        return normalize_params(value)


class Hook(_WithParams):
    """An operation from the hub run after the main run reaches `trigger` (V1Hook)."""

    hub_ref: str
    trigger: HookTrigger | None = None
    connection: str | None = None
    conditions: str | None = None
    presets: list[str] | None = None
    queue: str | None = None
    namespace: str | None = None
    disable_defaults: bool | None = None


EVENT_KINDS = frozenset(
    {
        "run_status_created", "run_status_resuming", "run_status_on_schedule",
        "run_status_compiled", "run_status_queued", "run_status_scheduled",
        "run_status_starting", "run_status_running", "run_status_processing",
        "run_status_stopping", "run_status_failed", "run_status_stopped",
        "run_status_succeeded", "run_status_skipped", "run_status_warning",
        "run_status_unschedulable", "run_status_upstream_failed", "run_status_retrying",
        "run_status_unknown", "run_status_done", "run_approved_actor",
        "run_invalidated_actor", "run_new_artifacts", "connection_git_commit",
        "connection_dataset_version", "connection_registry_image", "alert_info",
        "alert_warning", "alert_critical", "model_version_new_metric",
        "model_version_new_stage", "model_version_new_artifact", "project_custom_event",
        "org_custom_event",
    }
)  # fmt: skip


class EventTrigger(SpecModel):
    """Start this operation when `ref` emits one of `kinds` (V1EventTrigger)."""

    kinds: list[str] = Field(min_length=1)
    ref: str = Field(pattern=r"^(ops|runs|connections)\.[-a-zA-Z0-9_]+$")

    @field_validator("kinds")
    @classmethod
    def _known(cls, kinds: list[str]) -> list[str]:
        if unknown := [k for k in kinds if k not in EVENT_KINDS]:
            raise ValueError(f"unknown event kinds {unknown}; e.g. run_status_running")
        return kinds


class Join(_WithParams):
    """A search over past runs whose fields become list-valued params (V1Join)."""

    query: str
    sort: str | None = None
    limit: StrictInt | None = None
    offset: StrictInt | None = None
    ref: str | None = None


class Cache(SpecModel):
    disable: bool | None = None
    ttl: NonNegativeInt | None = None
    io: list[str] | None = None
    sections: list[Literal["containers", "init", "connections"]] | None = None


class Probe(SpecModel):
    exec: Mapping | None = None
    http: Mapping | None = None

    @model_validator(mode="after")
    def _one(self) -> Probe:
        if (self.exec is None) == (self.http is None):
            raise ValueError("a probe takes exactly one of exec, http")
        return self


class Culling(SpecModel):
    timeout: NonNegativeInt | None = None


class Termination(SpecModel):
    max_retries: NonNegativeInt | None = None
    ttl: NonNegativeInt | None = None
    timeout: NonNegativeInt | None = None
    culling: Culling | None = None
    probe: Probe | None = None
    pod_failure_policy: Mapping | None = None


class Notification(SpecModel):
    connections: list[str] = Field(min_length=1)
    trigger: HookTrigger | None = None


class Sidecar(SpecModel):
    image: str | None = None
    image_tag: str | None = None
    image_pull_policy: str | None = None
    sleep_interval: int | None = None
    sync_interval: int | None = None
    monitor_logs: bool | None = None
    monitor_spec: bool | None = None
    no_connections: bool | None = None
    resources: Mapping | None = None


class Plugins(SpecModel):
    auth: bool | None = None
    docker: bool | None = None
    shm: bool | None = None
    mount_artifacts_store: bool | None = None
    collect_artifacts: bool | None = None
    collect_logs: bool | None = None
    collect_resources: bool | None = None
    sync_statuses: bool | None = None
    auto_resume: bool | None = None
    log_level: str | None = None
    external_host: bool | None = None
    sidecar: Sidecar | None = None
    notifications: list[Notification] | None = None
    tmux: bool | None = None
    sandbox: bool | Mapping | None = None
    ssh: bool | Mapping | None = None


class Build(_WithParams):
    hub_ref: str
    connection: str | None = None
    presets: list[str] | None = None
    queue: str | None = None
    namespace: str | None = None
    cache: Cache | None = None
    run_patch: Mapping | None = None
    patch_strategy: Literal["replace", "isnull", "post_merge", "pre_merge"] | None = None


class Template(SpecModel):
    enabled: bool | None = None
    description: str | None = None
    fields: list[str] | None = None
