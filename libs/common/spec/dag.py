"""DAG checks at submit time and the compilation of one DAG operation when it runs.

At submit the graph is checked, not run: operation names, components (`dagRef` to the DAG's
`components`, hub components inlined), edges from `dependencies`, from `{ref: ops.X}` params
and from `events`, acyclicity (a cycle is named), and the types flowing along each edge. An
operation's templates that need upstream results are rendered only when the pipelines service
compiles it, with `compile_dag_operation`."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from libs.common.spec.errors import SpecError, SpecIssue, from_validation, join
from libs.common.spec.io import IO, Param
from libs.common.spec.models import Component, DagRun, Operation
from libs.common.spec.refs import Resolver
from libs.common.spec.types import cast_value, compatible

CheckOperation = Callable[[Operation, Component, str, list[SpecIssue], bool], None]


def component_of(
    op: Operation, dag: DagRun, resolver: Resolver, loc: str, issues: list[SpecIssue]
) -> Component | None:
    """The component an operation of `dag` runs."""
    if op.component is not None:
        return op.component
    reference = op.reference
    if reference is None:
        issues.append(
            SpecIssue(loc, "an operation needs a component, dagRef, hubRef, urlRef or pathRef")
        )
        return None
    alias, ref = reference
    if alias == "dagRef":
        for component in dag.components or []:
            if component.name == ref:
                return component
        names = ", ".join(c.name for c in dag.components or [] if c.name) or "none"
        issues.append(
            SpecIssue(join(loc, alias), f"no component {ref!r} in run.components (it has {names})")
        )
        return None
    try:
        data, _ = resolver.reference(alias, ref, None)
        return Component.model_validate({"kind": "component", **data})
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            issues.extend(from_validation(exc, join(loc, alias), Component).issues)
        else:
            issues.append(SpecIssue(join(loc, alias), str(exc)))
    except SpecError as exc:
        issues.extend(exc.under(join(loc, alias)).issues)
    return None


def _io(component: Component) -> dict[str, IO]:
    return {io.name: io for io in [*(component.inputs or []), *(component.outputs or [])]}


def _find_cycle(graph: Mapping[str, list[str]], nodes: set[str]) -> list[str]:
    """A cycle among `nodes` (each has an upstream among them), as a path ending where it began."""
    start = min(nodes)
    seen: dict[str, int] = {}
    path: list[str] = []
    node = start
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = next(u for u in graph[node] if u in nodes)
    # `path` walks upstream; read it back downstream: a -> b means b runs after a.
    cycle = [*path[seen[node] :], node]
    return list(reversed(cycle))


def check_dag(
    dag: DagRun,
    dag_inputs: Mapping[str, IO],
    resolver: Resolver,
    loc: str,
    issues: list[SpecIssue],
    check_operation: CheckOperation,
) -> None:
    """Every issue of the DAG's graph and operations, appended to `issues`."""
    components: dict[str, Component] = {}
    for i, component in enumerate(dag.components or []):
        where = f"{loc}.components[{i}]"
        if component.name is None:
            issues.append(SpecIssue(join(where, "name"), "a DAG component needs a name for dagRef"))
        elif component.name in components:
            issues.append(
                SpecIssue(join(where, "name"), f"the name {component.name!r} is used twice")
            )
        else:
            components[component.name] = component
    operations = dag.operations or []
    if not operations:
        issues.append(SpecIssue(join(loc, "operations"), "a DAG needs at least one operation"))
        return
    index: dict[str, int] = {}
    resolved: dict[str, Component] = {}
    for i, op in enumerate(operations):
        where = f"{loc}.operations[{i}]"
        if op.name is None:
            issues.append(SpecIssue(join(where, "name"), "a DAG operation needs a name"))
            continue
        if op.name in index:
            issues.append(SpecIssue(join(where, "name"), f"the name {op.name!r} is used twice"))
            continue
        index[op.name] = i
        found = component_of(op, dag, resolver, where, issues)
        if found is not None:
            resolved[op.name] = found
    upstream: dict[str, list[str]] = {name: [] for name in index}
    for name, i in index.items():
        op = operations[i]
        where = f"{loc}.operations[{i}]"
        for j, dependency in enumerate(op.dependencies or []):
            _edge(upstream, index, name, dependency, f"{where}.dependencies[{j}]", issues)
        for j, event in enumerate(op.events or []):
            if event.ref.startswith("ops."):
                _edge(upstream, index, name, event.ref[4:], f"{where}.events[{j}].ref", issues)
        op_component = resolved.get(name)
        for param_name, param in (op.params or {}).items():
            ploc = f"{where}.params.{param_name}"
            if param.ref_op is not None:
                if _edge(upstream, index, name, param.ref_op, join(ploc, "ref"), issues):
                    target = _io(op_component).get(param_name) if op_component else None
                    _check_edge(param, target, resolved.get(param.ref_op), ploc, issues)
            elif param.ref == "dag":
                _check_dag_ref(
                    param,
                    dag_inputs,
                    _io(op_component).get(param_name) if op_component else None,
                    ploc,
                    issues,
                )
        if op_component is not None:
            check_operation(op, op_component, where, issues, True)
    order = _topological(upstream)
    if len(order) < len(upstream):
        cycle = _find_cycle(upstream, set(upstream) - set(order))
        issues.append(
            SpecIssue(join(loc, "operations"), f"the DAG has a cycle: {' -> '.join(cycle)}")
        )


def _edge(
    upstream: dict[str, list[str]],
    index: Mapping[str, int],
    op: str,
    other: str,
    loc: str,
    issues: list[SpecIssue],
) -> bool:
    if other == op:
        issues.append(SpecIssue(loc, f"operation {op!r} cannot depend on itself"))
        return False
    if other not in index:
        issues.append(SpecIssue(loc, f"no operation {other!r} in this DAG"))
        return False
    if other not in upstream[op]:
        upstream[op].append(other)
    return True


def _topological(upstream: Mapping[str, list[str]]) -> list[str]:
    downstream: dict[str, list[str]] = {n: [] for n in upstream}
    waiting = {n: len(ups) for n, ups in upstream.items()}
    for node, ups in upstream.items():
        for u in ups:
            downstream[u].append(node)
    ready = deque(n for n, count in waiting.items() if count == 0)
    order: list[str] = []
    while ready:
        node = ready.popleft()
        order.append(node)
        for d in downstream[node]:
            waiting[d] -= 1
            if waiting[d] == 0:
                ready.append(d)
    return order


def topological_order(dag: DagRun) -> list[str]:
    """The operations' names in an order that runs every upstream first (the DAG is valid)."""
    names = {op.name for op in dag.operations or [] if op.name}
    upstream: dict[str, list[str]] = {n: [] for n in names}
    for op in dag.operations or []:
        if op.name is None:
            continue
        refs = [p.ref_op for p in (op.params or {}).values() if p.ref_op]
        events = [e.ref[4:] for e in op.events or [] if e.ref.startswith("ops.")]
        for other in [*(op.dependencies or []), *refs, *events]:
            if other in names and other not in upstream[op.name]:
                upstream[op.name].append(other)
    return _topological(upstream)


def _check_edge(
    param: Param, target: IO | None, upstream: Component | None, loc: str, issues: list[SpecIssue]
) -> None:
    section, _, name = str(param.value or "").partition(".")
    if section not in ("outputs", "inputs") or not name:
        if section not in ("globals", "outputs", "inputs", "io", "artifacts"):
            issues.append(
                SpecIssue(
                    join(loc, "value"),
                    "expected outputs.<name>, inputs.<name>, globals.<key>, artifacts or io",
                )
            )
        return
    if upstream is None:
        return
    ios = upstream.outputs if section == "outputs" else upstream.inputs
    source = next((io for io in ios or [] if io.name == name), None)
    if source is None:
        known = ", ".join(io.name for io in ios or []) or "none"
        issues.append(
            SpecIssue(
                join(loc, "value"), f"the upstream has no {section} {name!r} ({section}: {known})"
            )
        )
        return
    if target is not None and not param.context_only and not compatible(source.type, target.type):
        issues.append(
            SpecIssue(
                loc,
                f"type mismatch: {param.ref}.{section}.{name} is {source.type}, "
                f"this input is {target.type}",
            )
        )


def _check_dag_ref(
    param: Param, dag_inputs: Mapping[str, IO], target: IO | None, loc: str, issues: list[SpecIssue]
) -> None:
    section, _, name = str(param.value or "").partition(".")
    if section != "inputs":
        return
    source = dag_inputs.get(name)
    if source is None:
        known = ", ".join(dag_inputs) or "none"
        issues.append(
            SpecIssue(join(loc, "value"), f"the DAG has no input {name!r} (inputs: {known})")
        )
    elif target is not None and not param.context_only and not compatible(source.type, target.type):
        issues.append(
            SpecIssue(
                loc,
                f"type mismatch: dag.inputs.{name} is {source.type}, this input is {target.type}",
            )
        )


def lookup(run: Mapping[str, Any], dotted: str, what: str) -> Any:
    """`outputs.loss` in an upstream run's {globals, inputs, outputs, artifacts, ...}."""
    value: Any = run
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise KeyError(f"{what} has no {dotted}")
        value = value[part]
    return value


def cast_ref(target: IO | None, value: Any) -> Any:
    return value if target is None else cast_value(target.type, value, is_list=target.is_list)


def resolve_refs(
    params: Mapping[str, Param],
    declared: Mapping[str, IO],
    sources: Mapping[str, Mapping[str, Any]],
    issues: list[SpecIssue],
    loc: str,
    *,
    unknown: Callable[[str], str],
    selected: Callable[[str], bool] = lambda ref: True,
) -> dict[str, Param]:
    """Params `{ref: X, value: outputs.loss}` (those whose ref is `selected`) with the value
    `sources[X]` exposes ({inputs, outputs, globals, status, artifacts}), cast to the input's
    type; a ref missing from `sources` is an issue worded by `unknown`."""
    resolved = dict(params)
    for name, param in params.items():
        if param.ref is None or not selected(param.ref):
            continue
        source = sources.get(param.ref)
        try:
            if source is None:
                raise KeyError(unknown(param.ref))
            value = cast_ref(declared.get(name), lookup(source, str(param.value), param.ref))
        except (KeyError, ValueError) as exc:
            issues.append(SpecIssue(join(loc, name), str(exc).strip("'\"")))
            continue
        resolved[name] = param.model_copy(update={"ref": None, "value": value})
    return resolved
