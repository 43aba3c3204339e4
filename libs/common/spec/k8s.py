"""The Kubernetes parts of a run: the container and the pod environment, camelCase as in
Kubernetes manifests. Deep Kubernetes objects (probes, affinity, volumes) stay mappings: the
cluster validates them, and the local runner ignores them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from libs.common.spec.base import SpecModel

Mapping = dict[str, Any]
_RESOURCE_KEYS = frozenset({"limits", "requests", "claims"})


def _scalar_text(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    return value


class EnvVar(SpecModel):
    name: str
    value: str | None = None
    value_from: Mapping | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _stringify(cls, value: Any) -> Any:
        # Kubernetes wants strings; YAML gives numbers and booleans for `value: 1`.
        return _scalar_text(value)


class ContainerPort(SpecModel):
    container_port: int = Field(ge=1, le=65535)
    name: str | None = None
    protocol: Literal["TCP", "UDP", "SCTP"] | None = None
    host_ip: str | None = Field(None, alias="hostIP")
    host_port: int | None = None


class Container(SpecModel):
    """A Kubernetes container (V1Container)."""

    name: str | None = None
    image: str | None = None
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = None
    command: list[str] | None = None
    args: list[str] | None = None
    working_dir: str | None = None
    env: list[EnvVar] | None = None
    env_from: list[Mapping] | None = None
    resources: Mapping | None = None
    ports: list[ContainerPort] | None = None
    volume_mounts: list[Mapping] | None = None
    volume_devices: list[Mapping] | None = None
    security_context: Mapping | None = None
    lifecycle: Mapping | None = None
    liveness_probe: Mapping | None = None
    readiness_probe: Mapping | None = None
    startup_probe: Mapping | None = None
    resize_policy: list[Mapping] | None = None
    restart_policy: str | None = None
    stdin: bool | None = None
    stdin_once: bool | None = None
    tty: bool | None = None
    termination_message_path: str | None = None
    termination_message_policy: Literal["File", "FallbackToLogsOnError"] | None = None

    @field_validator("command", "args", mode="before")
    @classmethod
    def _one_string_is_a_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [value]
        if isinstance(value, list):
            # `args: [--epochs, 5]`: Kubernetes wants strings, YAML gives numbers.
            return [_scalar_text(v) for v in value]
        return value

    @field_validator("resources")
    @classmethod
    def _resources(cls, value: Mapping | None) -> Mapping | None:
        if value is not None and (unknown := set(value) - _RESOURCE_KEYS):
            raise ValueError(f"expected only limits, requests, claims; got {sorted(unknown)}")
        return value


class Environment(SpecModel):
    """Pod-level settings (V1Environment)."""

    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    node_selector: dict[str, str] | None = None
    affinity: Mapping | None = None
    tolerations: list[Mapping] | None = None
    node_name: str | None = None
    service_account_name: str | None = None
    host_aliases: list[Mapping] | None = None
    security_context: Mapping | None = None
    image_pull_secrets: list[str] | None = None
    host_network: bool | None = None
    host_pid: bool | None = Field(None, alias="hostPID")
    dns_policy: str | None = None
    dns_config: Mapping | None = None
    scheduler_name: str | None = None
    priority_class_name: str | None = None
    priority: int | None = None
    restart_policy: Literal["Always", "OnFailure", "Never", "ExitCode"] | None = None
