"""The polyaxonfile spec: parse, validate, resolve and compile operations.

Entry points: `load_content`/`load_operation` (text or data to a validated `Operation`),
`Resolver` (inline `hubRef`/`urlRef`/`pathRef`), `apply_preset`/`apply_params` (what
`-f preset.yaml` and `-P` do), `compile_operation` (what the api stores as `content`),
`compile_child` (a matrix trial or a schedule tick), `compile_dag_operation` (one DAG operation
with its upstream results), and the param generators in `generators`."""

from libs.common.spec.compiler import (
    compile_child,
    compile_dag_operation,
    compile_operation,
    conditions_met,
    load_content,
    load_operation,
    run_refs,
)
from libs.common.spec.context import RunContext
from libs.common.spec.errors import SpecError, SpecIssue
from libs.common.spec.models import (
    DISTRIBUTED_KINDS,
    EXECUTABLE_KINDS,
    CompiledOperation,
    Component,
    Operation,
)
from libs.common.spec.parsing import parse_content
from libs.common.spec.presets import apply_params, apply_preset, patch
from libs.common.spec.refs import SERVER, Resolver, hub_component

__all__ = [
    "DISTRIBUTED_KINDS",
    "EXECUTABLE_KINDS",
    "SERVER",
    "CompiledOperation",
    "Component",
    "Operation",
    "Resolver",
    "RunContext",
    "SpecError",
    "SpecIssue",
    "apply_params",
    "apply_preset",
    "compile_child",
    "compile_dag_operation",
    "compile_operation",
    "conditions_met",
    "hub_component",
    "load_content",
    "load_operation",
    "parse_content",
    "patch",
    "run_refs",
]
