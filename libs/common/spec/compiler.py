"""From a submitted operation to a compiled one: the component inlined, presets and `runPatch`
applied, the 2.18 shortcuts folded into the run, params resolved, cast and checked against
their inputs, the matrix checked against the inputs, a DAG's graph checked, and the run section
rendered with Polyaxon's template contexts.

A run that a controller drives (a matrix, a schedule, a DAG, or one with joins) keeps its
templates: they are dry-rendered to find errors now, and rendered for real per trial, tick or
DAG operation by `compile_child` and `compile_dag_operation`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from libs.common.spec.checks import check_hooks, check_matrix, matrix_names, sample_suggestions
from libs.common.spec.context import RunContext
from libs.common.spec.dag import (
    CheckOperation,
    check_dag,
    component_of,
    resolve_refs,
)
from libs.common.spec.errors import SpecError, SpecIssue, from_validation
from libs.common.spec.io import Param
from libs.common.spec.models import (
    DISTRIBUTED_KINDS,
    EXECUTABLE_KINDS,
    CompiledOperation,
    Component,
    DagRun,
    Operation,
)
from libs.common.spec.params import (
    check_operation_params,
    param_dump,
    render_value,
    resolve,
    with_env,
)
from libs.common.spec.parsing import parse_content
from libs.common.spec.presets import POST_MERGE, patch
from libs.common.spec.refs import SERVER, Resolver
from libs.common.spec.shortcuts import fold_shortcuts, run_model
from libs.common.spec.templating import render, template_context

_RENDERED_KINDS = EXECUTABLE_KINDS | DISTRIBUTED_KINDS
# What an operation says about itself rather than about the run it compiles to.
_OPERATION_ONLY = (
    "kind", "component", "hubRef", "dagRef", "urlRef", "pathRef", "params", "runPatch",
    "patchStrategy", "isPreset", "version", "inputs", "outputs",
)  # fmt: skip


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
        error = from_validation(exc, model=Operation)
        raise (error.in_file(file) if file else error) from None


def load_content(text: str, *, file: str | None = None) -> Operation:
    return load_operation(parse_content(text, file=file), file=file)


def compile_operation(
    operation: Operation,
    context: RunContext,
    *,
    resolver: Resolver = SERVER,
    runs: Mapping[str, Mapping[str, Any]] | None = None,
) -> CompiledOperation:
    """The operation compiled for the run `context` describes; raises SpecError with every
    issue found (never a partial result). `runs` holds what the runs its params reference
    (`ref: runs.<uuid>`) expose: only the server knows them (see `run_refs`)."""
    issues: list[SpecIssue] = []
    component = _component(operation, resolver, issues)
    if component is None:
        raise SpecError(issues)
    data = _merge(component, operation, issues)
    if issues:
        raise SpecError(issues)
    try:
        compiled = CompiledOperation.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc, model=CompiledOperation) from None
    params = {**(component.params or {}), **(operation.params or {})}
    if runs is not None:
        declared = {io.name: io for io in [*(compiled.inputs or []), *(compiled.outputs or [])]}
        params = resolve_refs(
            params,
            declared,
            runs,
            issues,
            "params",
            unknown=lambda ref: f"no run {ref.removeprefix('runs.')} in this organization",
            selected=lambda ref: ref.startswith("runs."),
        )
        if issues:
            raise SpecError(issues)
    return _finish(compiled, params, context, resolver, issues)


def run_refs(operation: Operation) -> set[str]:
    """The `runs.<uuid>` references among an operation's params (and its component's)."""
    params = [*((operation.component.params or {}) if operation.component else {}).values()]
    params += [*(operation.params or {}).values()]
    return {p.ref for p in params if p.ref is not None and p.ref.startswith("runs.")}


def compile_child(
    compiled: CompiledOperation, context: RunContext, suggestion: Mapping[str, Any] | None = None
) -> CompiledOperation:
    """One trial of a matrix (`suggestion` holds its params) or one tick of a schedule
    (`context.schedule_at`): the controller's compiled operation without its matrix and
    schedule, rendered. A suggestion wins over every other value of a param."""
    data = compiled.dump()
    for field in ("kind", "matrix", "schedule", "params", "version"):
        data.pop(field, None)
    params = {**(compiled.params or {})}
    for name, value in (suggestion or {}).items():
        params[name] = Param(
            value=value, context_only=params[name].context_only if name in params else None
        )
    operation = Operation(
        kind="operation",
        component=Component.model_validate({"kind": "component", **data}),
        params=params,
    )
    return compile_operation(operation, context)


def compile_dag_operation(
    dag: CompiledOperation,
    name: str,
    context: RunContext,
    upstream: Mapping[str, Mapping[str, Any]],
    *,
    resolver: Resolver = SERVER,
) -> CompiledOperation:
    """The DAG's operation `name`, compiled for its own run with its upstream results.

    `upstream` maps an operation name to what its run exposes (`outputs`, `inputs`, `globals`,
    `artifacts`, `status`, ...); the key `dag` is the DAG run itself and defaults to the DAG's
    resolved params as `inputs`. `conditions` comes back rendered: see `conditions_met`."""
    run = dag.run
    if not isinstance(run, DagRun):
        raise SpecError.one("run.kind", "expected a dag")
    index = next((i for i, op in enumerate(run.operations or []) if op.name == name), None)
    if index is None:
        raise SpecError.one("run.operations", f"no operation {name!r} in this DAG")
    op = (run.operations or [])[index]
    loc = f"run.operations[{index}]"
    issues: list[SpecIssue] = []
    component = component_of(op, run, resolver, loc, issues)
    if component is None:
        raise SpecError(issues)
    dag_run = {"inputs": {n: p.value for n, p in (dag.params or {}).items()}, "globals": {}}
    sources = {"dag": dag_run, **{f"ops.{k}": v for k, v in upstream.items()}}
    if "dag" in upstream:
        sources["dag"] = upstream["dag"]
    targets = {io.name: io for io in [*(component.inputs or []), *(component.outputs or [])]}
    params = resolve_refs(
        op.params or {},
        targets,
        sources,
        issues,
        f"{loc}.params",
        unknown=lambda ref: f"no result for {ref} yet",
    )
    if issues:
        raise SpecError(issues)
    operation = op.model_copy(
        update={"component": component, "dag_ref": None, "hub_ref": None, "params": params}
    )
    return compile_operation(operation, context, resolver=resolver)


def conditions_met(compiled: CompiledOperation) -> bool:
    """Whether a compiled operation's rendered `conditions` hold (no conditions: they do)."""
    value = (compiled.conditions or "").strip().lower()
    return value not in ("false", "0", "none", "no", "") if compiled.conditions else True


def _component(
    operation: Operation, resolver: Resolver, issues: list[SpecIssue]
) -> Component | None:
    if operation.component is not None:
        return operation.component
    if operation.dag_ref is not None:
        issues.append(
            SpecIssue(
                "dagRef", "dagRef names a component of the enclosing DAG; use it in run.operations"
            )
        )
        return None
    holder = DagRun(kind="dag")
    return component_of(operation, holder, resolver, "", issues)


def _merge(component: Component, operation: Operation, issues: list[SpecIssue]) -> dict[str, Any]:
    strategy = operation.patch_strategy or POST_MERGE
    data = component.dump()
    values = {k: v for k, v in operation.dump().items() if k not in _OPERATION_ONLY}
    data = patch(data, values, strategy, CompiledOperation)
    if operation.run_patch:
        run = data.get("run")
        if run is None:
            issues.append(SpecIssue("runPatch", "the component has no run section to patch"))
        else:
            data["run"] = patch(run, operation.run_patch, strategy, run_model(run["kind"]))
    fold_shortcuts(data, issues)
    data["kind"] = "compiled_operation"
    data["version"] = 1.1
    return data


def _finish(
    compiled: CompiledOperation,
    params: dict[str, Param],
    context: RunContext,
    resolver: Resolver,
    issues: list[SpecIssue],
) -> CompiledOperation:
    inputs = compiled.inputs or []
    outputs = compiled.outputs or []
    declared = {io.name: io for io in (*inputs, *outputs)}
    from_matrix = check_matrix(compiled.matrix, inputs, issues) if compiled.matrix else set()
    if compiled.run is None:
        issues.append(
            SpecIssue("run", "a component needs a run section (or the cmd/container shortcuts)")
        )
    ports = getattr(compiled.run, "ports", None) if compiled.run is not None else None
    globals_ = context.globals(
        ports=ports if compiled.run and compiled.run.kind == "service" else None
    )
    controlled = bool(compiled.matrix or compiled.schedule or compiled.joins)
    # A controller's params may template what only a trial or tick knows (schedule_at): they
    # stay as written, and each child renders them.
    param_globals = None if controlled else globals_
    check_operation_params(
        params,
        inputs,
        outputs,
        "params",
        issues,
        in_dag=False,
        provided=from_matrix,
        globals_=param_globals,
    )
    check_hooks(compiled, issues)
    if isinstance(compiled.run, DagRun):
        inputs_by_name = {io.name: io for io in inputs}
        check_dag(
            compiled.run, inputs_by_name, resolver, "run", issues, _dag_operation_checker(resolver)
        )
    if issues:
        raise SpecError(issues)
    values = {io.name: resolve(io, params.get(io.name), param_globals) for io in inputs}
    output_values = {io.name: resolve(io, params.get(io.name), param_globals) for io in outputs}
    extra = {
        n: render_value(p.value, param_globals)
        for n, p in params.items()
        if p.context_only and n not in declared
    }
    flags = {io.name for io in (*inputs, *outputs) if io.is_flag}
    everything = {**values, **output_values, **extra}
    data = compiled.dump()
    run = data.get("run")
    if run is not None and run["kind"] in _RENDERED_KINDS:
        if controlled:
            for trial in sample_suggestions(compiled):
                ctx = template_context(
                    {**everything, **trial}, values | trial, output_values, flags, globals_
                )
                render(run, ctx, "run")
        else:
            ctx = template_context(everything, values, output_values, flags, globals_)
            data["run"] = with_env(render(run, ctx, "run"), compiled, params)
            if compiled.conditions:
                data["conditions"] = render(compiled.conditions, ctx, "conditions")
    data["params"] = {
        n: param_dump(v, params.get(n), context_only=n in extra)
        for n, v in everything.items()
        if v is not None
    } or None
    try:
        return CompiledOperation.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc, model=CompiledOperation) from None


def _dag_operation_checker(resolver: Resolver) -> CheckOperation:
    def check(
        op: Operation, component: Component, loc: str, issues: list[SpecIssue], in_dag: bool
    ) -> None:
        params = {**(component.params or {}), **(op.params or {})}
        matrix = op.matrix or component.matrix
        inputs, outputs = component.inputs or [], component.outputs or []
        check_operation_params(
            params,
            inputs,
            outputs,
            f"{loc}.params",
            issues,
            in_dag=in_dag,
            provided=matrix_names(matrix),
        )
        if matrix is not None:
            check_matrix(matrix, inputs, issues, prefix=loc)
        if isinstance(component.run, DagRun):
            dag_inputs = {io.name: io for io in inputs}
            check_dag(component.run, dag_inputs, resolver, f"{loc}.component.run", issues, check)

    return check
