"""DAG checks at submit (graph, refs, types, cycles) and compiling one operation with its
upstream results."""

from __future__ import annotations

from typing import Any

import pytest

from libs.common.spec import (
    SpecError,
    compile_dag_operation,
    compile_operation,
    conditions_met,
    load_operation,
)
from libs.common.spec.dag import topological_order
from libs.common.spec.models import DagRun
from tests.unit.spec.support import CONTEXT, issues_of

TRAIN = {
    "name": "train",
    "inputs": [{"name": "lr", "type": "float", "value": 0.1, "isOptional": True}],
    "outputs": [{"name": "loss", "type": "float"}, {"name": "model", "type": "path"}],
    "run": {"kind": "job", "container": {"image": "x", "command": ["train", "--lr={{ lr }}"]}},
}
REPORT = {
    "name": "report",
    "inputs": [
        {"name": "loss", "type": "float"},
        {"name": "title", "type": "str", "value": "r", "isOptional": True},
    ],
    "run": {
        "kind": "job",
        "container": {
            "image": "x",
            "command": ["report", "{{ loss }}", "{{ title }}", "{{ globals.uuid }}"],
        },
    },
}


def dag(operations: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "kind": "operation",
        "component": {
            "inputs": [{"name": "threshold", "type": "float", "value": 0.5, "isOptional": True}],
            "run": {"kind": "dag", "components": [TRAIN, REPORT], "operations": operations},
            **extra,
        },
    }


def compile_dag(operations: list[dict[str, Any]]) -> Any:
    return compile_operation(load_operation(dag(operations)), CONTEXT)


def refused(operations: list[dict[str, Any]]) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as caught:
        compile_dag(operations)
    return issues_of(caught.value)


def test_inferred_edges_and_order() -> None:
    compiled = compile_dag(
        [
            {
                "name": "report",
                "dagRef": "report",
                "params": {"loss": {"ref": "ops.train", "value": "outputs.loss"}},
            },
            {"name": "train", "dagRef": "train"},
            {"name": "after", "dagRef": "train", "dependencies": ["report"]},
        ]
    )
    assert isinstance(compiled.run, DagRun)
    assert topological_order(compiled.run) == ["train", "report", "after"]


def test_a_cycle_is_refused_and_named() -> None:
    issues = refused(
        [
            {"name": "a", "dagRef": "train", "dependencies": ["c"]},
            {
                "name": "b",
                "dagRef": "report",
                "params": {"loss": {"ref": "ops.a", "value": "outputs.loss"}},
            },
            {"name": "c", "dagRef": "train", "dependencies": ["b"]},
        ]
    )
    assert issues == [("run.operations", "the DAG has a cycle: a -> b -> c -> a")]


def test_self_dependency_unknown_op_and_unknown_dag_ref() -> None:
    issues = refused(
        [
            {"name": "a", "dagRef": "train", "dependencies": ["a", "zz"]},
            {"name": "b", "dagRef": "nope"},
        ]
    )
    assert issues == [
        (
            "run.operations[1].dagRef",
            "no component 'nope' in run.components (it has train, report)",
        ),
        ("run.operations[0].dependencies[0]", "operation 'a' cannot depend on itself"),
        ("run.operations[0].dependencies[1]", "no operation 'zz' in this DAG"),
    ]


def test_types_must_match_across_an_edge() -> None:
    issues = refused(
        [
            {"name": "train", "dagRef": "train"},
            {
                "name": "report",
                "dagRef": "report",
                "params": {"loss": {"ref": "ops.train", "value": "outputs.model"}},
            },
        ]
    )
    assert issues == [
        (
            "run.operations[1].params.loss",
            "type mismatch: ops.train.outputs.model is path, this input is float",
        )
    ]


def test_ref_to_a_missing_output_and_a_missing_dag_input() -> None:
    issues = refused(
        [
            {
                "name": "train",
                "dagRef": "train",
                "params": {"lr": {"ref": "dag", "value": "inputs.nope"}},
            },
            {
                "name": "report",
                "dagRef": "report",
                "params": {"loss": {"ref": "ops.train", "value": "outputs.acc"}},
            },
        ]
    )
    assert issues == [
        ("run.operations[0].params.lr.value", "the DAG has no input 'nope' (inputs: threshold)"),
        (
            "run.operations[1].params.loss.value",
            "the upstream has no outputs 'acc' (outputs: loss, model)",
        ),
    ]


def test_required_input_of_an_op_and_duplicate_names() -> None:
    issues = refused(
        [{"name": "report", "dagRef": "report"}, {"name": "report", "dagRef": "train"}]
    )
    assert issues == [
        ("run.operations[1].name", "the name 'report' is used twice"),
        (
            "run.operations[0].params.loss",
            "required input has no value; pass it with -P loss=VALUE",
        ),
    ]


def test_one_operation_compiles_with_its_upstream_results() -> None:
    compiled = compile_dag(
        [
            {"name": "train", "dagRef": "train"},
            {
                "name": "report",
                "dagRef": "report",
                "conditions": "{{ loss < threshold }}",
                "params": {
                    "loss": {"ref": "ops.train", "value": "outputs.loss"},
                    "threshold": {"ref": "dag", "value": "inputs.threshold", "contextOnly": True},
                },
            },
        ]
    )
    op = compile_dag_operation(
        compiled, "report", CONTEXT, {"train": {"outputs": {"loss": "0.25"}}}
    )
    assert op.dump()["run"]["container"]["command"] == ["report", "0.25", "r", CONTEXT.uuid.hex]
    assert conditions_met(op)
    skipped = compile_dag_operation(
        compiled, "report", CONTEXT, {"train": {"outputs": {"loss": 0.9}}}
    )
    assert not conditions_met(skipped)
    with pytest.raises(SpecError, match=r"ops\.train has no outputs\.loss"):
        compile_dag_operation(compiled, "report", CONTEXT, {"train": {"outputs": {}}})
    with pytest.raises(SpecError, match=r"no result for ops\.train yet"):
        compile_dag_operation(compiled, "report", CONTEXT, {})


def test_a_nested_dag_is_checked_too() -> None:
    inner = {
        "name": "inner",
        "component": {
            "run": {
                "kind": "dag",
                "operations": [{"name": "x", "dependencies": ["x"], "component": TRAIN}],
            }
        },
    }
    issues = refused([inner])
    assert issues == [
        (
            "run.operations[0].component.run.operations[0].dependencies[0]",
            "operation 'x' cannot depend on itself",
        )
    ]
