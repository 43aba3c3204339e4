"""What `ganglion run` and `ganglion check` post, built as Polyaxon's CLI builds it: the first
`-f` file with its `hubRef`/`pathRef`/`urlRef` inlined (a component wrapped as an operation),
the later files applied as presets in order, then `-P` values (strings, cast by the compiler)
and `-HP` matrix params."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import yaml

from ganglion.cli.common import UserError, warn
from libs.common.spec import Resolver, SpecError, apply_params, apply_preset, parse_content
from libs.common.spec.hparams import CONTINUOUS_KINDS, DISCRETE_KINDS
from libs.common.spec.presets import check_preset

HP_KINDS = DISCRETE_KINDS | CONTINUOUS_KINDS | {"pchoice"}
MATRIX_KINDS = ("grid", "random", "hyperband", "bayes", "tpe", "hyperopt", "iterative", "mapping")


def fail(error: SpecError, file: str | None = None) -> typer.Exit:
    """Print one line per issue; the caller raises the returned exit (code 2)."""
    for issue in error.in_file(file).issues if file else error.issues:
        warn(str(issue))
    return typer.Exit(2)


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    return parse_content(path.read_text(), file=str(path))


def parse_hparams(values: list[str] | None) -> dict[str, Any]:
    """`-HP lr='linspace:0.001:0.1:5'`, `-HP act='choice:relu,tanh'`,
    `-HP p='pchoice:[[a, 0.3], [b, 0.7]]'` as matrix params."""
    params: dict[str, Any] = {}
    for raw in values or []:
        name, sep, spec = raw.partition("=")
        kind, colon, value = spec.partition(":")
        if not sep or not name.strip() or not colon:
            raise UserError(f"-HP expects name=kind:value, got {raw!r}")
        kind = kind.strip()
        if kind not in HP_KINDS:
            raise UserError(
                f"-HP {name}: unknown kind {kind!r}; expected one of {sorted(HP_KINDS)}"
            )
        parsed: Any = value
        if value.strip().startswith(("[", "{")):
            try:
                parsed = yaml.safe_load(value)
            except yaml.YAMLError:
                raise UserError(f"-HP {name}: {value!r} is not a valid list or mapping") from None
        elif kind == "choice":
            parsed = [yaml.safe_load(v) for v in value.split(",")]
        params[name.strip()] = {"kind": kind, "value": parsed}
    return params


def build_operation(
    files: list[Path],
    params: dict[str, str],
    *,
    hparams: dict[str, Any] | None = None,
    matrix_kind: str | None = None,
    matrix_concurrency: int | None = None,
    matrix_num_runs: int | None = None,
    resolver: Resolver | None = None,
) -> dict[str, Any]:
    """The operation to post; raises SpecError (with file names) or UserError."""
    if not files:
        raise UserError("pass the polyaxonfile with -f FILE")
    main, presets = files[0], files[1:]
    data = _read(main)
    kind = data.get("kind")
    if kind == "component":
        data = {"version": data.get("version", 1.1), "kind": "operation", "component": data}
    elif kind != "operation":
        raise SpecError.one("kind", f"expected 'component' or 'operation', got {kind!r}", str(main))
    try:
        data = (resolver or Resolver()).resolve(data, file=str(main))
    except SpecError as exc:
        raise exc.in_file(str(main)) from None
    for path in presets:
        preset = _read(path)
        check_preset(preset, str(path))
        data = apply_preset(data, preset)
    if params:
        data = apply_params(data, params)
    if hparams or matrix_kind:
        if matrix_kind is not None and matrix_kind not in MATRIX_KINDS:
            raise UserError(
                f"--matrix-kind: expected one of {', '.join(MATRIX_KINDS)}, got {matrix_kind!r}"
            )
        matrix: dict[str, Any] = dict(data.get("matrix") or {})
        matrix["kind"] = matrix_kind or matrix.get("kind") or "grid"
        matrix["concurrency"] = matrix_concurrency or matrix.get("concurrency") or 1
        if hparams:
            matrix["params"] = {**(matrix.get("params") or {}), **hparams}
        if matrix_num_runs:
            matrix["numRuns"] = matrix_num_runs
        data["matrix"] = matrix
    return data
