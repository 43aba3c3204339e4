"""docs/spec.md: every YAML example compiles, and every field of every spec model is named."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
import yaml
from pydantic import BaseModel

from libs.common.spec import CompiledOperation, Operation, apply_params, apply_preset
from libs.common.spec.errors import _members
from tests.unit.spec.support import compile_text, operation_data

DOC = (Path(__file__).parents[3] / "docs" / "spec.md").read_text()
EXAMPLES = re.findall(r"```yaml\n(.*?)```", DOC, flags=re.DOTALL)


def models(tp: Any, seen: dict[type[BaseModel], None]) -> dict[type[BaseModel], None]:
    tp, members = _members(tp)
    for inner in [*members, *(get_args(tp) if get_origin(tp) in (list, tuple, dict) else [])]:
        models(inner, seen)
    if isinstance(tp, type) and issubclass(tp, BaseModel) and tp not in seen:
        seen[tp] = None
        for field in tp.model_fields.values():
            models(field.annotation, seen)
    return seen


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.splitlines()[0][:40])
def test_every_example_compiles(example: str) -> None:
    if example.startswith("# preset"):
        base = operation_data(EXAMPLES[0])
        compiled = compile_text(yaml.safe_dump(apply_preset(base, yaml.safe_load(example))))
        assert compiled.queue == "agent/gpu"
        assert compiled.dump()["run"]["environment"]["nodeSelector"] == {"pool": "gpu"}
        return
    params = dict(re.findall(r"^# -P (\w+)=(\S+)$", example, flags=re.MULTILINE))
    data = apply_params(operation_data(example), params) if params else operation_data(example)
    assert compile_text(yaml.safe_dump(data)).run is not None


def test_every_field_is_documented() -> None:
    found = models(Operation, {})
    models(CompiledOperation, found)
    missing = sorted(
        f"{model.__name__}.{field.alias or name}"
        for model in found
        for name, field in model.model_fields.items()
        if f"`{field.alias or name}`" not in DOC
    )
    assert missing == []
