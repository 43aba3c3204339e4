"""Checks of a compiled operation's matrix (params name inputs, values fit their types) and
hooks (hub components and their inputs), and the sample suggestion a controller is dry-rendered
with."""

from __future__ import annotations

import random
from typing import Any

from libs.common.spec import generators
from libs.common.spec.errors import SpecIssue, join
from libs.common.spec.hparams import Choice, PChoice
from libs.common.spec.io import IO
from libs.common.spec.matrix import MappingMatrix
from libs.common.spec.models import CompiledOperation, Component
from libs.common.spec.refs import hub_component
from libs.common.spec.types import cast_value, is_numeric


def matrix_names(matrix: Any) -> set[str]:
    if matrix is None:
        return set()
    if isinstance(matrix, MappingMatrix):
        return {k for row in matrix.values for k in row}
    names = set(getattr(matrix, "params", None) or {})
    resource = getattr(matrix, "resource", None)
    # Hyperband sets its resource (e.g. epochs) per bracket.
    return names | {resource.name} if resource is not None else names


def check_matrix(matrix: Any, ios: list[IO], issues: list[SpecIssue], prefix: str = "") -> set[str]:
    """Matrix params name inputs and every value they can take fits the input's type."""
    loc = join(prefix, "matrix")
    inputs = {io.name: io for io in ios}
    if isinstance(matrix, MappingMatrix):
        for i, row in enumerate(matrix.values):
            for name, value in row.items():
                _check_value(inputs.get(name), name, value, f"{loc}.values[{i}].{name}", issues)
        return matrix_names(matrix)
    for name, param in (getattr(matrix, "params", None) or {}).items():
        where = f"{loc}.params.{name}"
        io = inputs.get(name)
        if io is None:
            issues.append(
                SpecIssue(where, f"no input named {name!r}; a matrix param sets an input")
            )
            continue
        if isinstance(param, Choice | PChoice) or param.is_discrete:
            options = (
                [v for v, _ in param.value]
                if isinstance(param, PChoice)
                else generators.values(param)
            )
            for value in options:
                if not _check_value(io, name, value, join(where, "value"), issues):
                    break
        elif io.type is not None and not is_numeric(io.type) and io.type.lower() != "any":
            issues.append(
                SpecIssue(
                    join(where, "kind"),
                    f"a {param.kind} param draws numbers; input {name!r} is {io.type}",
                )
            )
    resource = getattr(matrix, "resource", None)
    if resource is not None:
        io = inputs.get(resource.name)
        if io is None:
            issues.append(SpecIssue(f"{loc}.resource.name", f"no input named {resource.name!r}"))
        elif io.type is not None and not is_numeric(io.type):
            issues.append(
                SpecIssue(
                    f"{loc}.resource.name",
                    f"the resource input must be numeric, {resource.name!r} is {io.type}",
                )
            )
    return matrix_names(matrix)


def _check_value(io: IO | None, name: str, value: Any, loc: str, issues: list[SpecIssue]) -> bool:
    if io is None:
        issues.append(SpecIssue(loc, f"no input named {name!r}"))
        return False
    try:
        cast_value(io.type, value, is_list=io.is_list)
    except ValueError as exc:
        issues.append(SpecIssue(loc, f"{value!r}: {exc} for input type {io.type}"))
        return False
    return True


def sample_suggestions(compiled: CompiledOperation) -> list[dict[str, Any]]:
    """One representative set of matrix values to dry-render templates with."""
    matrix = compiled.matrix
    if matrix is None:
        return [{}]
    if isinstance(matrix, MappingMatrix):
        return [dict(matrix.values[0])]
    params = getattr(matrix, "params", None) or {}
    rng = random.Random(0)
    inputs = {io.name: io for io in compiled.inputs or []}
    return [
        {
            n: cast_value(inputs[n].type, generators.sample(p, rng), is_list=inputs[n].is_list)
            for n, p in params.items()
            if n in inputs
        }
    ]


def check_hooks(compiled: CompiledOperation, issues: list[SpecIssue]) -> None:
    for i, hook in enumerate(compiled.hooks or []):
        loc = f"hooks[{i}]"
        try:
            component = Component.model_validate(
                {"kind": "component", **hub_component(hook.hub_ref)}
            )
        except ValueError as exc:
            issues.append(SpecIssue(join(loc, "hubRef"), str(exc)))
            continue
        declared = {io.name for io in [*(component.inputs or []), *(component.outputs or [])]}
        for name, param in (hook.params or {}).items():
            if name not in declared and not param.context_only:
                issues.append(
                    SpecIssue(
                        f"{loc}.params.{name}",
                        f"hub component {hook.hub_ref!r} has no input {name!r}",
                    )
                )
