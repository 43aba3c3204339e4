"""Params against their inputs: the checks at submit (names, refs, required inputs, types,
validation), the resolved values (cast, `{{ globals }}` rendered), and `toEnv`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from libs.common.spec.errors import SpecError, SpecIssue, join
from libs.common.spec.io import IO, Param
from libs.common.spec.models import CompiledOperation
from libs.common.spec.templating import render
from libs.common.spec.types import cast_value


def param_dump(value: Any, param: Param | None, *, context_only: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"value": value}
    if context_only:
        out["contextOnly"] = True
    if param is not None and param.to_env:
        out["toEnv"] = param.to_env
    return out


def with_env(
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
    return json.dumps(value) if isinstance(value, dict | list | bool) else str(value)


def is_template(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def render_value(value: Any, globals_: dict[str, Any] | None) -> Any:
    if globals_ is not None and is_template(value):
        return render(value, {"globals": globals_}, "")
    return value


def resolve(io: IO, param: Param | None, globals_: dict[str, Any] | None) -> Any:
    raw = param.value if param is not None and param.value is not None else io.value
    if raw is None or (globals_ is None and is_template(raw)):
        return raw
    return cast_value(io.type, render_value(raw, globals_), is_list=io.is_list)


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
            where = (
                "inside a DAG"
                if param.ref.startswith(("ops.", "dag"))
                else "by the server, when the run is submitted"
            )
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
                raw = render_value(raw, globals_)
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
