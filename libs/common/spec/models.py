"""Polyaxon v1.1 components and operations as typed models (camelCase, as in polyaxonfiles).

Unknown fields are errors. `V1Component` and `V1Operation` share one field set in 2.18; an
operation also names its component (inline or by reference). The compiled operation is what
services pass each other: self-contained, params resolved, templates rendered."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from libs.common.spec.base import Name, PositiveInt, SpecModel
from libs.common.spec.hooks import (
    Build,
    Cache,
    EventTrigger,
    Hook,
    Join,
    Plugins,
    Template,
    Termination,
    Trigger,
)
from libs.common.spec.io import IO, Param, normalize_params
from libs.common.spec.k8s import Container, Environment, _scalar_text
from libs.common.spec.matrix import EarlyStopping, Matrix, normalize_matrix
from libs.common.spec.runs import (
    DaskClusterRun,
    JobRun,
    MPIJobRun,
    PytorchJobRun,
    RayClusterRun,
    ServiceRun,
    TFJobRun,
)
from libs.common.spec.schedules import Schedule

PatchStrategy = Literal["replace", "isnull", "post_merge", "pre_merge"]
REFERENCES = ("hub_ref", "dag_ref", "url_ref", "path_ref")
_RESOURCE_SHORTCUTS = frozenset({"cpu", "memory", "gpu"})


class DagRun(SpecModel):
    kind: Literal["dag"]
    operations: list[Operation] | None = None
    components: list[Component] | None = None
    environment: Environment | None = None
    connections: list[str] | None = None
    volumes: list[dict[str, Any]] | None = None
    concurrency: PositiveInt | None = None
    early_stopping: list[EarlyStopping] | None = None

    @field_validator("components", mode="before")
    @classmethod
    def _component_kind(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [_as_component(c) for c in value]
        return value

    @field_validator("operations", mode="before")
    @classmethod
    def _operation_kind(cls, value: Any) -> Any:
        # Operations in a DAG usually omit their kind.
        if isinstance(value, list):
            return [
                {"kind": "operation", **op} if isinstance(op, dict) and "kind" not in op else op
                for op in value
            ]
        return value


Run = Annotated[
    JobRun | ServiceRun | DagRun | TFJobRun | PytorchJobRun | MPIJobRun | DaskClusterRun
    | RayClusterRun,
    Field(discriminator="kind"),
]  # fmt: skip

EXECUTABLE_KINDS = frozenset({"job", "service"})
"""Run kinds a runner executes directly; the others need a controller service."""
DISTRIBUTED_KINDS = frozenset({"tfjob", "pytorchjob", "mpijob", "daskcluster", "raycluster"})


def _as_component(value: Any) -> Any:
    # Inline components usually omit their kind.
    if isinstance(value, dict) and "kind" not in value:
        return {"kind": "component", **value}
    return value


class Mount(SpecModel):
    """A local file or folder the CLI uploads into the run's folder before the run starts
    (V1Mount): `{from: ./src, to: src}`, or the short forms `./src:src` and `./src`."""

    path_from: str = Field(alias="from", min_length=1)
    path_to: str | None = Field(None, alias="to")

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        if isinstance(value, str):
            source, _, target = value.partition(":")
            return {"from": source, "to": target or None}
        return value

    @property
    def target(self) -> str:
        """Where it lands, relative to the run's folder (a leading `/` is taken as that folder)."""
        return (self.path_to or self.path_from).lstrip("/").removeprefix("./") or "."


class _Polyaxonfile(SpecModel):
    """Fields components and operations share (2.18 gives both the same set)."""

    version: float | None = None
    name: Name | None = None
    description: str | None = None
    tags: list[str] | None = None
    presets: list[str] | None = None
    queue: str | None = Field(None, pattern=r"^[-a-zA-Z0-9_]+(/[-a-zA-Z0-9_]+)?$")
    namespace: str | None = None
    cache: Cache | None = None
    termination: Termination | None = None
    plugins: Plugins | None = None
    build: Build | None = None
    hooks: list[Hook] | None = None
    is_approved: bool | None = None
    cost: float | None = Field(None, ge=0)
    schedule: Schedule | None = None
    events: list[EventTrigger] | None = None
    matrix: Matrix | None = None
    joins: list[Join] | None = None
    dependencies: list[Name] | None = None
    trigger: Trigger | None = None
    conditions: str | None = None
    skip_on_upstream_skip: bool | None = None
    inputs: list[IO] | None = None
    outputs: list[IO] | None = None
    params: dict[Name, Param] | None = None
    run: Run | None = None
    template: Template | None = None
    patch_strategy: PatchStrategy | None = None
    is_preset: bool | None = None
    run_patch: dict[str, Any] | None = None
    container: Container | None = None
    cmd: str | list[str] | None = None
    env: dict[str, str] | None = None
    resources: dict[str, str] | None = None
    ports: list[Annotated[int, Field(ge=1, le=65535)]] | None = None
    mount: list[Mount] | None = None

    @field_validator("params", mode="before")
    @classmethod
    def _short_params(cls, value: Any) -> Any:
        return normalize_params(value)

    @field_validator("matrix", mode="before")
    @classmethod
    def _matrix_alias(cls, value: Any) -> Any:
        return normalize_matrix(value)

    @field_validator("env", "resources", mode="before")
    @classmethod
    def _texts(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: _scalar_text(v) for k, v in value.items()}
        return value

    @field_validator("resources")
    @classmethod
    def _resource_names(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is not None and (unknown := set(value) - _RESOURCE_SHORTCUTS):
            raise ValueError(f"expected cpu, memory, gpu; got {sorted(unknown)}")
        return value

    @model_validator(mode="after")
    def _unique_io(self) -> _Polyaxonfile:
        seen: set[str] = set()
        for io in [*(self.inputs or []), *(self.outputs or [])]:
            if io.name in seen:
                raise ValueError(f"inputs and outputs: the name {io.name!r} is used twice")
            seen.add(io.name)
        return self


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
        return _as_component(value)

    @model_validator(mode="after")
    def _one_reference(self) -> Operation:
        used = [r for r in REFERENCES if getattr(self, r) is not None]
        if len(used) > 1:
            names = ", ".join(type(self).model_fields[r].alias or r for r in used)
            raise ValueError(f"an operation names its component once; got {names}")
        if used and self.component is not None:
            # Polyaxon's CLI resolves a reference itself and sends the component along with the
            # reference it came from: the inline component is what runs.
            setattr(self, used[0], None)
        return self

    @property
    def reference(self) -> tuple[str, str] | None:
        """The (alias, value) of the component reference, if the component is not inline."""
        for field in REFERENCES:
            value = getattr(self, field)
            if value is not None:
                return type(self).model_fields[field].alias or field, value
        return None


class CompiledOperation(_Polyaxonfile):
    """A self-contained operation: component inlined, params resolved and cast, templates
    rendered (except in sections a controller renders later: a DAG's operations, and the run of
    a matrix or schedule, rendered per trial or tick by `compile_child`)."""

    kind: Literal["compiled_operation"]


DagRun.model_rebuild()
