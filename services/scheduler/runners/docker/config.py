"""From a launch to the arguments of `docker.containers.create`: pure functions, tested without
an engine. The run's folder of the artifact store is bind-mounted at the path the spec rendered
(`{GANGLION_ARTIFACTS_ROOT}/{project}/{uuid}`), as on every other runner."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from docker.types import DeviceRequest

from libs.common.spec.runs import JobRun, ServiceRun
from services.scheduler.runners.base import Handle, Launch

MANAGED_BY = "app.kubernetes.io/managed-by"
RUN_LABEL = "ganglion.dev/run"
SCOPE_LABEL = "ganglion.dev/scope"
"""Which installation a container belongs to, when several share one engine."""
HANDLE_LABEL = "ganglion.dev/handle"
"""The handle `start` returned, so `list_active` returns exactly that."""

_QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
_UNITS = {
    "": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "m": 1e-3,
}  # fmt: skip


class ConfigError(ValueError):
    """The spec cannot become a container; the message names the field."""


@dataclass(frozen=True)
class DockerOptions:
    artifacts_root: str
    """Where the scheduler (and the spec) see the artifact store."""
    artifacts_host_root: str
    """Where the engine sees it (differs when the scheduler itself runs in a container)."""
    network: str | None = None
    pull: str = "missing"
    grace_period: float = 10.0
    scope: str = "ganglion"


def quantity(value: Any, where: str) -> float:
    """A Kubernetes quantity (`500m`, `2`, `4Gi`) as a number."""
    match = _QUANTITY.match(str(value).strip())
    if match is None or match.group(2) not in _UNITS:
        raise ConfigError(f"{where}: {value!r} is not a quantity such as 500m, 2 or 4Gi")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _resources(resources: dict[str, Any]) -> dict[str, Any]:
    """Limits (or, without them, requests) enforced by the engine: cpu, memory, GPUs."""
    limits = {**(resources.get("requests") or {}), **(resources.get("limits") or {})}
    kwargs: dict[str, Any] = {}
    if "cpu" in limits:
        kwargs["nano_cpus"] = int(quantity(limits["cpu"], "resources.cpu") * 1e9)
    if "memory" in limits:
        kwargs["mem_limit"] = int(quantity(limits["memory"], "resources.memory"))
    gpus = limits.get("nvidia.com/gpu")
    if gpus:
        count = int(quantity(gpus, "resources.nvidia.com/gpu"))
        kwargs["device_requests"] = [DeviceRequest(count=count, capabilities=[["gpu"]])]
    return kwargs


def container_name(launch: Launch, suffix: str) -> str:
    return f"ganglion-{launch.run_uuid.hex}-{suffix}"


def create_arguments(launch: Launch, options: DockerOptions, handle: Handle) -> dict[str, Any]:
    if not launch.image:
        raise ConfigError("run.container.image: the docker runner needs an image")
    run = PurePosixPath(launch.artifacts_path)
    try:
        relative = run.relative_to(options.artifacts_root)
    except ValueError:
        raise ConfigError(
            f"the run's artifacts path {run} is not under the artifact store "
            f"{options.artifacts_root}"
        ) from None
    spec = launch.spec
    container = spec.container if isinstance(spec, JobRun | ServiceRun) else None
    if container is not None and container.command:
        # The spec's command replaces the image's entrypoint, its args the image's command.
        entrypoint, command = container.command, container.args or []
    elif container is not None:
        entrypoint, command = None, container.args or []
    else:
        entrypoint, command = launch.command, []
    arguments: dict[str, Any] = {
        "image": launch.image,
        "name": handle["name"],
        "entrypoint": entrypoint,
        "command": command,
        "working_dir": launch.working_dir or launch.artifacts_path,
        "environment": {"PYTHONUNBUFFERED": "1", **launch.env},
        "labels": {
            MANAGED_BY: "ganglion",
            RUN_LABEL: launch.run_uuid.hex,
            SCOPE_LABEL: options.scope,
            HANDLE_LABEL: json.dumps(handle),
        },
        "volumes": {
            str(PurePosixPath(options.artifacts_host_root) / relative): {
                "bind": str(run),
                "mode": "rw",
            }
        },
        "stop_signal": "SIGTERM",
        "detach": True,
        **_resources(launch.resources),
    }
    if options.network:
        arguments["network_mode"] = options.network
    if isinstance(spec, ServiceRun) and spec.ports and options.network != "host":
        arguments["ports"] = {f"{port}/tcp": None for port in spec.ports}
    return arguments
