"""Shared by the spec tests: the fixtures, a run context and a resolver that maps the quick-start
references to the local copy of typed.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from libs.common.spec import (
    CompiledOperation,
    Resolver,
    RunContext,
    apply_params,
    compile_operation,
    load_operation,
    parse_content,
)

POLYAXONFILES = Path(__file__).parents[2] / "fixtures" / "polyaxonfiles"
TYPED = POLYAXONFILES / "02-job-with-inputs.yaml"
TYPED_URL = "https://raw.githubusercontent.com/polyaxon/polyaxon-quick-start/master/scheduling/experimentation/typed.yaml"
RESOLVER = Resolver(urls={TYPED_URL: TYPED}, paths={"../experimentation/typed.yaml": TYPED})
CONTEXT = RunContext(
    uuid=UUID("01234567-89ab-7def-8123-456789abcdef"),
    owner="default",
    project="demo",
    username="admin",
    namespace="ganglion",
    artifacts_root="/artifacts",
)


def operation_data(text: str, **params: Any) -> dict[str, Any]:
    data = parse_content(text)
    if data.get("kind") == "component":
        data = {"kind": "operation", "component": data}
    return apply_params(data, params) if params else data


def compile_text(text: str, *, context: RunContext = CONTEXT, **params: Any) -> CompiledOperation:
    data = RESOLVER.resolve(operation_data(text, **params))
    return compile_operation(load_operation(data), context, resolver=RESOLVER)


def issues_of(error: Exception) -> list[tuple[str, str]]:
    return [(i.loc, i.msg) for i in getattr(error, "issues", [])]
