"""From a submitted operation to a compiled one: the component inlined, params resolved and cast
to their input types, and the run section rendered with Polyaxon's template contexts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from libs.common.artifacts import OUTPUTS, run_path
from libs.common.ids import utcnow
from libs.common.spec.errors import SpecError, SpecIssue, from_validation
from libs.common.spec.models import (
    EXECUTABLE_KINDS,
    IO,
    CompiledOperation,
    Component,
    Operation,
    Param,
)
from libs.common.spec.parsing import parse_content
from libs.common.spec.templating import ParamsView, ParamView, render
from libs.common.spec.types import cast_value

# Fields an operation may set over its component's.
_OVERRIDABLE = (
    "name", "description", "tags", "presets", "queue", "namespace", "cache", "termination",
    "plugins", "build", "hooks", "is_approved", "cost", "schedule", "events", "matrix", "joins",
    "dependencies", "trigger", "conditions", "skip_on_upstream_skip",
)  # fmt: skip


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

    @property
    def run_artifacts_path(self) -> str:
        return str(run_path(self.artifacts_root, self.project, self.uuid))

    def globals(self) -> dict[str, Any]:
        artifacts = self.run_artifacts_path
        return {
            "owner_name": self.owner,
            "project_name": self.project,
            "project_unique_name": f"{self.owner}.{self.project}",
            "project_uuid": str(self.project_uuid) if self.project_uuid else None,
            "run_info": f"{self.owner}.{self.project}.runs.{self.uuid.hex}",
            "name": self.name,
            "uuid": self.uuid.hex,
            "username": self.username,
            "namespace": self.namespace,
            # On the local runner a run's context is its own folder in the artifact store.
            "context_path": artifacts,
            "artifacts_path": artifacts,
            "run_artifacts_path": artifacts,
            "run_outputs_path": f"{artifacts}/{OUTPUTS}",
            "run_relative_outputs_path": f"{self.uuid.hex}/{OUTPUTS}",
            "created_at": (self.created_at or utcnow()).isoformat(),
            "compiled_at": utcnow().isoformat(),
            "cloning_kind": None,
            "original_uuid": None,
            "iteration": None,
        }


def load_operation(data: dict[str, Any], *, file: str | None = None) -> Operation:
    """Validate a polyaxonfile's data as an operation; a component is wrapped in one."""
    kind = data.get("kind")
    if kind == "component":
        data = {"kind": "operation", "component": data}
    elif kind != "operation":
        raise SpecError.one("kind", f"expected 'component' or 'operation', got {kind!r}", file)
    try:
        return Operation.model_validate(data)
    except ValidationError as exc:
        error = from_validation(exc)
        raise (error.in_file(file) if file else error) from None


def load_content(text: str, *, file: str | None = None) -> Operation:
    return load_operation(parse_content(text, file=file), file=file)


def compile_operation(operation: Operation, context: RunContext) -> CompiledOperation:
    component = _inline_component(operation)
    params: dict[str, Param] = {**(component.params or {}), **(operation.params or {})}
    inputs = component.inputs or []
    outputs = component.outputs or []
    issues: list[SpecIssue] = []
    declared = {io.name for io in (*inputs, *outputs)}
    for name, param in params.items():
        if name not in declared and not param.context_only:
            issues.append(SpecIssue(f"params.{name}", "no input or output of that name"))
        if param.ref is not None:
            issues.append(
                SpecIssue(
                    f"params.{name}.ref", "references to other runs are resolved inside a DAG"
                )
            )
    values = {io.name: _resolve(io, params.get(io.name), issues) for io in inputs}
    output_values = {
        io.name: _resolve(io, params.get(io.name), [], required=False) for io in outputs
    }
    extra = {n: p.value for n, p in params.items() if p.context_only and n not in declared}
    if component.run is None:
        issues.append(SpecIssue("run", "a component needs a run section"))
    if issues:
        raise SpecError(issues)
    assert component.run is not None
    flags = {io.name for io in (*inputs, *outputs) if io.is_flag}
    everything = {**values, **output_values, **extra}
    template_context: dict[str, Any] = {
        **everything,
        "inputs": values,
        "outputs": output_values,
        "params": ParamsView(
            {n: ParamView(n, v, is_flag=n in flags) for n, v in everything.items()}
        ),
        "globals": context.globals(),
    }
    run = component.run.model_dump(mode="json", by_alias=True, exclude_none=True)
    if component.run.kind in EXECUTABLE_KINDS:
        # A DAG's operations are rendered one by one when they run, in their own contexts.
        run = render(run, template_context, "run")
    fields: dict[str, Any] = {}
    for field in _OVERRIDABLE:
        value = getattr(operation, field)
        fields[field] = value if value is not None else getattr(component, field)
    resolved = {n: Param(value=v) for n, v in everything.items() if v is not None}
    try:
        return CompiledOperation.model_validate(
            {
                "kind": "compiled_operation",
                "version": 1.1,
                **_by_alias(fields),
                "inputs": [io.dump() for io in inputs] or None,
                "outputs": [io.dump() for io in outputs] or None,
                "params": {n: p.dump() for n, p in resolved.items()} or None,
                "run": run,
            }
        )
    except ValidationError as exc:
        raise from_validation(exc) from None


def _inline_component(operation: Operation) -> Component:
    if operation.component is not None:
        return operation.component
    for field, alias in (
        ("hub_ref", "hubRef"),
        ("url_ref", "urlRef"),
        ("path_ref", "pathRef"),
        ("dag_ref", "dagRef"),
    ):
        if getattr(operation, field):
            raise SpecError.one(
                alias, "this reference must be resolved to an inline component first"
            )
    raise SpecError.one("component", "an operation needs a component (inline or by reference)")


def _resolve(io: IO, param: Param | None, issues: list[SpecIssue], *, required: bool = True) -> Any:
    raw = param.value if param is not None and param.value is not None else io.value
    if raw is None:
        if required and not io.is_optional:
            issues.append(
                SpecIssue(
                    f"params.{io.name}",
                    f"required input has no value; pass it with -P {io.name}=VALUE",
                )
            )
        return None
    try:
        return cast_value(io.type, raw, is_list=io.is_list)
    except ValueError as exc:
        issues.append(
            SpecIssue(f"params.{io.name}", f"{exc} for input type {io.type}, got {raw!r}")
        )
        return None


def _by_alias(fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if value is None:
            continue
        alias = Operation.model_fields[name].alias or name
        out[alias] = value.dump() if hasattr(value, "dump") else value
    return out
