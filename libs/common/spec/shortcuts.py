"""Polyaxon 2.18's shortcuts on a component or operation: `container`, `cmd`, `env`,
`resources` (`cpu`/`memory`/`gpu` as `request..limit`) and `ports` fold into the run's main
container; a file with no run becomes a job (a service when it has ports). `mount` stays as
written: the CLI uploads those paths."""

from __future__ import annotations

from typing import Any

from libs.common.spec.errors import SpecIssue
from libs.common.spec.k8s import Container
from libs.common.spec.presets import POST_MERGE, patch

_SHORTCUTS = ("container", "cmd", "env", "resources", "ports")
_RESOURCE_NAMES = {"cpu": "cpu", "memory": "memory", "gpu": "nvidia.com/gpu"}


def run_model(kind: str) -> Any:
    """The model class of a run kind, for patching it field by field."""
    from libs.common.spec.models import DagRun
    from libs.common.spec.runs import DISTRIBUTED_RUNS, JobRun, ServiceRun

    for model in (JobRun, ServiceRun, DagRun, *DISTRIBUTED_RUNS):
        if kind in model.model_fields["kind"].annotation.__args__:  # type: ignore[union-attr]
            return model
    return None


def resources(values: dict[str, str]) -> dict[str, Any]:
    """`{cpu: "1..2", memory: "1Gi"}` as Kubernetes requests and limits."""
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    for name, value in values.items():
        request, sep, limit = value.partition("..")
        key = _RESOURCE_NAMES[name]
        if request:
            requests[key] = request
        if sep and limit:
            limits[key] = limit
        elif not sep:
            limits[key] = request
    return {k: v for k, v in (("requests", requests), ("limits", limits)) if v}


def fold_shortcuts(data: dict[str, Any], issues: list[SpecIssue]) -> None:
    """Move the shortcuts of compiled data into its run, in place."""
    given = {k: data.pop(k) for k in _SHORTCUTS if data.get(k) is not None}
    if not given:
        return
    run = data.get("run") or {"kind": "service" if given.get("ports") else "job"}
    if run["kind"] not in ("job", "service"):
        names = ", ".join(given)
        issues.append(
            SpecIssue(
                next(iter(given)), f"{names} apply to job and service runs, not {run['kind']}"
            )
        )
        return
    container = patch(
        run.get("container") or {}, given.get("container") or {}, POST_MERGE, Container
    )
    if (cmd := given.get("cmd")) is not None:
        script = cmd if isinstance(cmd, str) else "\n".join(cmd)
        container["command"] = ["/bin/sh", "-c", f"set -e\n{script}"]
        container.pop("args", None)
    if env := given.get("env"):
        kept = [e for e in container.get("env") or [] if e.get("name") not in env]
        container["env"] = [*kept, *({"name": k, "value": v} for k, v in env.items())]
    if values := given.get("resources"):
        container["resources"] = patch(
            container.get("resources") or {}, resources(values), POST_MERGE
        )
    if ports := given.get("ports"):
        if run["kind"] == "job":
            issues.append(SpecIssue("ports", "a job has no ports; use a service run"))
            return
        run["ports"] = ports
    data["run"] = {**run, "container": container}
