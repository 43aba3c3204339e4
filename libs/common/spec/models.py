"""Polyaxon v1.1 components and operations as typed models (camelCase, as in polyaxonfiles).

Unknown fields are errors. Sections that only later services act on (matrix, hooks, schedule,
plugins, ...) are accepted as mappings here and typed by the spec issue.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

NAME_PATTERN = r"^[-a-zA-Z0-9_]+$"
Name = Annotated[str, Field(pattern=NAME_PATTERN)]


class SpecModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
    )

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class IO(SpecModel):
    """An input or output of a component (V1IO)."""

    name: Name
    description: str | None = None
    type: str | None = None
    value: Any = None
    is_optional: bool | None = None
    is_list: bool | None = None
    is_flag: bool | None = None
    arg_format: str | None = None
    connection: str | None = None
    to_init: bool | None = None
    to_env: str | None = None
    validation: dict[str, Any] | None = None
    delay_validation: bool | None = None
    options: list[Any] | None = None


PARAM_KEYS = frozenset({"value", "ref", "contextOnly", "connection", "toInit", "toEnv"})


class Param(SpecModel):
    """A value given to an input (V1Param). The short form `lr: 0.1` means `{value: 0.1}`."""

    value: Any = None
    ref: str | None = None
    context_only: bool | None = None
    connection: str | None = None
    to_init: bool | None = None
    to_env: str | None = None


def normalize_params(raw: Any) -> Any:
    if not isinstance(raw, dict):
        return raw
    return {
        name: value if isinstance(value, dict) and PARAM_KEYS & value.keys() else {"value": value}
        for name, value in raw.items()
    }


class EnvVar(SpecModel):
    name: str
    value: str | None = None
    value_from: dict[str, Any] | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _stringify(cls, value: Any) -> Any:
        # Kubernetes wants strings; YAML gives numbers and booleans for `value: 1`.
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, int | float):
            return str(value)
        return value


class Container(SpecModel):
    """A Kubernetes container (V1Container)."""

    name: str | None = None
    image: str | None = None
    image_pull_policy: str | None = None
    command: list[str] | None = None
    args: list[str] | None = None
    working_dir: str | None = None
    env: list[EnvVar] | None = None
    env_from: list[dict[str, Any]] | None = None
    resources: dict[str, Any] | None = None
    ports: list[dict[str, Any]] | None = None
    volume_mounts: list[dict[str, Any]] | None = None
    volume_devices: list[dict[str, Any]] | None = None
    security_context: dict[str, Any] | None = None
    lifecycle: dict[str, Any] | None = None
    liveness_probe: dict[str, Any] | None = None
    readiness_probe: dict[str, Any] | None = None
    startup_probe: dict[str, Any] | None = None
    resize_policy: list[dict[str, Any]] | None = None
    restart_policy: str | None = None
    stdin: bool | None = None
    stdin_once: bool | None = None
    tty: bool | None = None
    termination_message_path: str | None = None
    termination_message_policy: str | None = None

    @field_validator("command", "args", mode="before")
    @classmethod
    def _one_string_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class Environment(SpecModel):
    """Pod-level settings (V1Environment)."""

    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    node_selector: dict[str, str] | None = None
    affinity: dict[str, Any] | None = None
    tolerations: list[dict[str, Any]] | None = None
    node_name: str | None = None
    service_account_name: str | None = None
    host_aliases: list[dict[str, Any]] | None = None
    security_context: dict[str, Any] | None = None
    image_pull_secrets: list[str] | None = None
    host_network: bool | None = None
    host_pid: bool | None = Field(None, alias="hostPID")
    dns_policy: str | None = None
    dns_config: dict[str, Any] | None = None
    scheduler_name: str | None = None
    priority_class_name: str | None = None
    priority: int | None = None
    restart_policy: Literal["Always", "OnFailure", "Never", "ExitCode"] | None = None


class _PodRuntime(SpecModel):
    environment: Environment | None = None
    connections: list[str] | None = None
    volumes: list[dict[str, Any]] | None = None
    init: list[dict[str, Any]] | None = None
    sidecars: list[Container] | None = None
    container: Container | None = None


class JobRun(_PodRuntime):
    kind: Literal["job"]


class ServiceRun(_PodRuntime):
    kind: Literal["service"]
    ports: list[int] | None = None
    rewrite_path: bool | None = None
    is_external: bool | None = None
    replicas: int | None = None


class DagRun(SpecModel):
    kind: Literal["dag"]
    operations: list[dict[str, Any]] | None = None
    components: list[dict[str, Any]] | None = None
    environment: Environment | None = None
    connections: list[str] | None = None
    volumes: list[dict[str, Any]] | None = None
    concurrency: int | None = None
    early_stopping: list[dict[str, Any]] | None = None


class DistributedRun(SpecModel):
    """tfjob, pytorchjob, mpijob, daskcluster, raycluster: replicas of pod runtimes."""

    model_config = ConfigDict(extra="allow")
    kind: Literal["tfjob", "pytorchjob", "mpijob", "daskcluster", "raycluster"]


Run = Annotated[JobRun | ServiceRun | DagRun | DistributedRun, Field(discriminator="kind")]

EXECUTABLE_KINDS = frozenset({"job", "service"})
"""Run kinds a runner executes directly; the others need a controller service."""


class _Polyaxonfile(SpecModel):
    """Fields components and operations share (2.18 gives both the same set)."""

    version: float | None = None
    name: Name | None = None
    description: str | None = None
    tags: list[str] | None = None
    presets: list[str] | None = None
    queue: str | None = None
    namespace: str | None = None
    cache: dict[str, Any] | None = None
    termination: dict[str, Any] | None = None
    plugins: dict[str, Any] | None = None
    build: dict[str, Any] | None = None
    hooks: list[dict[str, Any]] | None = None
    is_approved: bool | None = None
    cost: float | None = None
    schedule: dict[str, Any] | None = None
    events: list[dict[str, Any]] | None = None
    matrix: dict[str, Any] | None = None
    joins: list[dict[str, Any]] | None = None
    dependencies: list[str] | None = None
    trigger: str | None = None
    conditions: str | None = None
    skip_on_upstream_skip: bool | None = None
    inputs: list[IO] | None = None
    outputs: list[IO] | None = None
    params: dict[str, Param] | None = None
    run: Run | None = None
    template: dict[str, Any] | None = None
    patch_strategy: Literal["replace", "isnull", "post_merge", "pre_merge"] | None = None
    is_preset: bool | None = None
    run_patch: dict[str, Any] | None = None
    container: dict[str, Any] | None = None
    cmd: str | list[str] | None = None
    env: dict[str, str] | None = None
    resources: dict[str, str] | None = None
    ports: list[int] | None = None
    mount: list[str] | None = None

    @field_validator("params", mode="before")
    @classmethod
    def _short_params(cls, value: Any) -> Any:
        return normalize_params(value)


class Component(_Polyaxonfile):
    kind: Literal["component"]


class Operation(_Polyaxonfile):
    kind: Literal["operation"]
    component: Component | None = None
    hub_ref: str | None = None
    dag_ref: str | None = None
    url_ref: str | None = None
    path_ref: str | None = None

    @field_validator("component", mode="before")
    @classmethod
    def _component_kind(cls, value: Any) -> Any:
        # Inline components usually omit their kind.
        if isinstance(value, dict) and "kind" not in value:
            return {"kind": "component", **value}
        return value


class CompiledOperation(_Polyaxonfile):
    """A self-contained operation: component inlined, params resolved, templates rendered."""

    kind: Literal["compiled_operation"]
