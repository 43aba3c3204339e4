"""Presets and merge precedence: each patchStrategy as Polyaxon applies it, runPatch, and the
order matrix suggestion > -P > params > input defaults."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from libs.common.spec import (
    Operation,
    apply_params,
    apply_preset,
    compile_child,
    compile_operation,
    load_operation,
    patch,
)
from tests.unit.spec.support import CONTEXT

BASE: dict[str, Any] = {
    "kind": "operation",
    "tags": ["a"],
    "queue": "agent/default",
    "termination": {"maxRetries": 1},
    "runPatch": {"environment": {"nodeSelector": {"pool": "cpu"}}},
    "component": {
        "inputs": [{"name": "lr", "type": "float", "value": 0.1, "isOptional": True}],
        "run": {"kind": "job", "container": {"image": "x", "command": ["echo", "{{ lr }}"]}},
    },
}
PRESET: dict[str, Any] = {
    "tags": ["b"],
    "queue": "agent/gpu",
    "termination": {"ttl": 10},
    "runPatch": {"environment": {"nodeSelector": {"gpu": "yes"}}},
}


@pytest.mark.parametrize(
    ("strategy", "tags", "queue", "selector"),
    [
        ("replace", ["b"], "agent/gpu", {"gpu": "yes"}),
        ("isnull", ["a"], "agent/default", {"pool": "cpu"}),
        ("post_merge", ["a", "b"], "agent/gpu", {"pool": "cpu", "gpu": "yes"}),
        ("pre_merge", ["b", "a"], "agent/default", {"gpu": "yes", "pool": "cpu"}),
    ],
)
def test_each_patch_strategy(
    strategy: str, tags: list[str], queue: str, selector: dict[str, str]
) -> None:
    merged = apply_preset(
        BASE, {**PRESET, "kind": "operation", "isPreset": True, "patchStrategy": strategy}
    )
    assert merged["tags"] == tags and merged["queue"] == queue
    assert merged["runPatch"]["environment"]["nodeSelector"] == selector
    # Spec sections patch field by field whatever the strategy: termination keeps both keys.
    assert merged["termination"] == {"maxRetries": 1, "ttl": 10}
    assert "isPreset" not in merged


def test_presets_apply_in_order_and_runpatch_reaches_the_run() -> None:
    first = {"queue": "agent/one", "patchStrategy": "replace"}
    second = {
        "queue": "agent/two",
        "patchStrategy": "post_merge",
        "runPatch": {"container": {"env": [{"name": "A", "value": "1"}]}},
    }
    merged = apply_preset(apply_preset(BASE, first), second)
    compiled = compile_operation(load_operation(merged), CONTEXT).dump()
    assert compiled["queue"] == "agent/two"
    assert compiled["run"]["environment"]["nodeSelector"] == {"pool": "cpu"}
    assert {"name": "A", "value": "1"} in compiled["run"]["container"]["env"]


def test_a_run_of_another_kind_replaces_only_when_the_patch_wins() -> None:
    job = {"run": {"kind": "job", "container": {"image": "a"}}}
    service = {"run": {"kind": "service", "ports": [80]}}
    assert patch(job, service, "post_merge", Operation)["run"] == service["run"]
    assert patch(job, service, "pre_merge", Operation)["run"] == job["run"]
    same = {"run": {"kind": "job", "container": {"workingDir": "/w"}}}
    assert patch(job, same, "post_merge", Operation)["run"]["container"] == {
        "image": "a",
        "workingDir": "/w",
    }


def test_operation_fields_patch_the_component_fields() -> None:
    data = {**BASE, "component": {**BASE["component"], "tags": ["c"], "termination": {"ttl": 5}}}
    compiled = compile_operation(load_operation(data), CONTEXT)
    assert compiled.tags == ["c", "a"]  # post_merge: the operation's items after the component's
    assert compiled.termination is not None and compiled.termination.ttl == 5
    assert compiled.termination.max_retries == 1


maybe = st.one_of(st.none(), st.integers(-1000, 1000))


@given(default=maybe, param=maybe, cli=maybe, suggestion=maybe)
def test_precedence_suggestion_over_cli_over_params_over_default(
    default: int | None, param: int | None, cli: int | None, suggestion: int | None
) -> None:
    data: dict[str, Any] = {
        "kind": "operation",
        "component": {
            "inputs": [{"name": "n", "type": "int", "isOptional": True, "value": default}],
            "run": {"kind": "job", "container": {"image": "x", "command": ["echo", "{{ n }}"]}},
        },
    }
    if param is not None:
        data["params"] = {"n": param}
    if cli is not None:
        data = apply_params(data, {"n": str(cli)})  # -P values arrive as strings
    if suggestion is not None:
        # A matrix controller keeps its templates; each trial renders them with its suggestion.
        data["matrix"] = {
            "kind": "grid",
            "params": {"n": {"kind": "choice", "value": [suggestion]}},
        }
    compiled = compile_operation(load_operation(data), CONTEXT)
    if suggestion is not None:
        compiled = compile_child(compiled, CONTEXT, {"n": suggestion})
    expected = next((v for v in (suggestion, cli, param, default) if v is not None), None)
    params = compiled.params or {}
    assert (params["n"].value if "n" in params else None) == expected
    assert compiled.dump()["run"]["container"]["command"] == [
        "echo",
        "None" if expected is None else str(expected),
    ]


def test_cli_param_keeps_to_env_of_a_full_form_param() -> None:
    data = apply_params({"params": {"n": {"value": 1, "toEnv": "N"}}}, {"n": "2"})
    assert data["params"]["n"] == {"value": "2", "toEnv": "N"}
