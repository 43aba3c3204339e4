"""From a submitted operation to a compiled one: the component inlined, presets and `runPatch`
applied, the 2.18 shortcuts folded into the run, params resolved, cast and checked against
their inputs, the matrix checked against the inputs, a DAG's graph checked, and the run section
rendered with Polyaxon's template contexts.

A run that a controller drives (a matrix, a schedule, a DAG, or one with joins) keeps its
templates: they are dry-rendered to find errors now, and rendered for real per trial, tick or
DAG operation by `compile_child` and `compile_dag_operation`."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from libs.common.spec import generators
from libs.common.spec.context import RunContext
from libs.common.spec.dag import CheckOperation, cast_ref, check_dag, component_of, lookup
from libs.common.spec.errors import SpecError, SpecIssue, from_validation, join
from libs.common.spec.hparams import Choice, PChoice
from libs.common.spec.io import IO, Param
from libs.common.spec.matrix import MappingMatrix
from libs.common.spec.models import (
    DISTRIBUTED_KINDS,
    EXECUTABLE_KINDS,
    CompiledOperation,
    Component,
    DagRun,
    Operation,
)
from libs.common.spec.parsing import parse_content
from libs.common.spec.presets import POST_MERGE, patch
from libs.common.spec.refs import SERVER, Resolver
from libs.common.spec.shortcuts import fold_shortcuts, run_model
from libs.common.spec.templating import ParamsView, ParamView, render
from libs.common.spec.types import cast_value, is_numeric

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
    operation: Operation, context: RunContext, *, resolver: Resolver = SERVER
) -> CompiledOperation:
    """The operation compiled for the run `context` describes; raises SpecError with every
    issue found (never a partial result)."""
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
    return _finish(compiled, params, context, resolver, issues)


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
    params: dict[str, Param] = {}
    for param_name, param in (op.params or {}).items():
        if param.ref is None:
            params[param_name] = param
            continue
        ploc = f"{loc}.params.{param_name}"
        source = sources.get(param.ref)
        try:
            if source is None:
                raise KeyError(f"no result for {param.ref} yet")
            value = cast_ref(targets.get(param_name), lookup(source, str(param.value), param.ref))
        except (KeyError, ValueError) as exc:
            issues.append(SpecIssue(ploc, str(exc).strip("'\"")))
            continue
        params[param_name] = Param(
            value=value, context_only=param.context_only, to_env=param.to_env
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
    from_matrix = _check_matrix(compiled.matrix, inputs, issues) if compiled.matrix else set()
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
    _check_hooks(compiled, issues)
    if isinstance(compiled.run, DagRun):
        inputs_by_name = {io.name: io for io in inputs}
        check_dag(
            compiled.run, inputs_by_name, resolver, "run", issues, _dag_operation_checker(resolver)
        )
    if issues:
        raise SpecError(issues)
    values = {io.name: _resolve(io, params.get(io.name), param_globals) for io in inputs}
    output_values = {io.name: _resolve(io, params.get(io.name), param_globals) for io in outputs}
    extra = {
        n: _render_value(p.value, param_globals)
        for n, p in params.items()
        if p.context_only and n not in declared
    }
    flags = {io.name for io in (*inputs, *outputs) if io.is_flag}
    everything = {**values, **output_values, **extra}
    data = compiled.dump()
    run = data.get("run")
    if run is not None and run["kind"] in _RENDERED_KINDS:
        if controlled:
            for trial in _sample_suggestions(compiled):
                ctx = _template_context(
                    {**everything, **trial}, values | trial, output_values, flags, globals_
                )
                render(run, ctx, "run")
        else:
            ctx = _template_context(everything, values, output_values, flags, globals_)
            data["run"] = _with_env(render(run, ctx, "run"), compiled, params)
            if compiled.conditions:
                data["conditions"] = render(compiled.conditions, ctx, "conditions")
    data["params"] = {
        n: _param_dump(v, params.get(n), context_only=n in extra)
        for n, v in everything.items()
        if v is not None
    } or None
    try:
        return CompiledOperation.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc, model=CompiledOperation) from None


def _param_dump(value: Any, param: Param | None, *, context_only: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"value": value}
    if context_only:
        out["contextOnly"] = True
    if param is not None and param.to_env:
        out["toEnv"] = param.to_env
    return out


def _template_context(
    everything: dict[str, Any],
    inputs: dict[str, Any],
    outputs: dict[str, Any],
    flags: set[str],
    globals_: dict[str, Any],
) -> dict[str, Any]:
    return {
        **everything,
        "inputs": inputs,
        "outputs": outputs,
        "params": ParamsView(
            {n: ParamView(n, v, is_flag=n in flags) for n, v in everything.items()}
        ),
        "globals": globals_,
    }


def _with_env(
    run: dict[str, Any], compiled: CompiledOperation, params: dict[str, Param]
) -> dict[str, Any]:
    """Params and IO with `toEnv` become environment variables of the main container."""
    values = {n: p.value for n, p in (compiled.params or {}).items()}
    names: dict[str, str] = {}
    for io in [*(compiled.inputs or []), *(compiled.outputs or [])]:
        if io.to_env:
            names[io.name] = io.to_env
    for n, p in params.items():
        if p.to_env:
            names[n] = p.to_env
    container = run.get("container")
    if not names or not isinstance(container, dict):
        return run
    env = [e for e in container.get("env") or [] if e.get("name") not in names.values()]
    for param_name, env_name in names.items():
        value = values.get(param_name, params[param_name].value if param_name in params else None)
        if value is not None:
            env.append(
                {"name": env_name, "value": value if isinstance(value, str) else _json_text(value)}
            )
    return {**run, "container": {**container, "env": env}}


def _json_text(value: Any) -> str:
    import json

    return json.dumps(value) if isinstance(value, dict | list | bool) else str(value)


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def _render_value(value: Any, globals_: dict[str, Any] | None) -> Any:
    if globals_ is not None and _is_template(value):
        return render(value, {"globals": globals_}, "")
    return value


def _resolve(io: IO, param: Param | None, globals_: dict[str, Any] | None) -> Any:
    raw = param.value if param is not None and param.value is not None else io.value
    if raw is None or (globals_ is None and _is_template(raw)):
        return raw
    return cast_value(io.type, _render_value(raw, globals_), is_list=io.is_list)


def check_operation_params(
    params: Mapping[str, Param],
    inputs: list[IO],
    outputs: list[IO],
    loc: str,
    issues: list[SpecIssue],
    *,
    in_dag: bool,
    provided: set[str] | None = None,
    globals_: dict[str, Any] | None = None,
) -> None:
    """Names known, refs only where they resolve, required inputs present, values of their
    input's type and within its validation. Outputs are filled while the run runs: never
    required."""
    declared = {io.name: io for io in (*inputs, *outputs)}
    for name, param in params.items():
        if name not in declared and not param.context_only:
            known = ", ".join(declared) or "none"
            issues.append(
                SpecIssue(join(loc, name), f"no input or output named {name!r} (declared: {known})")
            )
        if param.ref is not None and not in_dag:
            where = "inside a DAG" if param.ref.startswith(("ops.", "dag")) else "yet"
            issues.append(
                SpecIssue(
                    join(loc, f"{name}.ref"), f"references to other runs are resolved only {where}"
                )
            )
    required = {io.name for io in inputs if not io.is_optional}
    for name, io in declared.items():
        given = params.get(name)
        if name in (provided or ()) or (given is not None and given.ref is not None):
            continue
        raw = given.value if given is not None and given.value is not None else io.value
        if raw is None:
            if name in required:
                issues.append(
                    SpecIssue(
                        join(loc, name),
                        f"required input has no value; pass it with -P {name}=VALUE",
                    )
                )
            continue
        if isinstance(raw, str) and "{{" in raw:
            if globals_ is None:
                continue
            try:
                raw = _render_value(raw, globals_)
            except SpecError as exc:
                issues.extend(exc.under(join(loc, name)).issues)
                continue
        try:
            value = cast_value(io.type, raw, is_list=io.is_list)
        except ValueError as exc:
            issues.append(
                SpecIssue(join(loc, name), f"{exc} for input type {io.type}, got {raw!r}")
            )
            continue
        rules = io.rules
        if rules is not None and not (rules.delay or io.delay_validation):
            issues.extend(SpecIssue(join(loc, name), p) for p in rules.problems(value))


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
            provided=_matrix_names(matrix),
        )
        if matrix is not None:
            _check_matrix(matrix, inputs, issues, prefix=loc)
        if isinstance(component.run, DagRun):
            dag_inputs = {io.name: io for io in inputs}
            check_dag(component.run, dag_inputs, resolver, f"{loc}.component.run", issues, check)

    return check


def _matrix_names(matrix: Any) -> set[str]:
    if matrix is None:
        return set()
    if isinstance(matrix, MappingMatrix):
        return {k for row in matrix.values for k in row}
    names = set(getattr(matrix, "params", None) or {})
    resource = getattr(matrix, "resource", None)
    # Hyperband sets its resource (e.g. epochs) per bracket.
    return names | {resource.name} if resource is not None else names


def _check_matrix(
    matrix: Any, ios: list[IO], issues: list[SpecIssue], prefix: str = ""
) -> set[str]:
    """Matrix params name inputs and every value they can take fits the input's type."""
    loc = join(prefix, "matrix")
    inputs = {io.name: io for io in ios}
    if isinstance(matrix, MappingMatrix):
        for i, row in enumerate(matrix.values):
            for name, value in row.items():
                _check_value(inputs.get(name), name, value, f"{loc}.values[{i}].{name}", issues)
        return _matrix_names(matrix)
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
    return _matrix_names(matrix)


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


def _sample_suggestions(compiled: CompiledOperation) -> list[dict[str, Any]]:
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


def _check_hooks(compiled: CompiledOperation, issues: list[SpecIssue]) -> None:
    from libs.common.spec.refs import hub_component

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
