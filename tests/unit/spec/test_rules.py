"""One negative test (at least) per rule: each refusal names the path and what was expected."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from libs.common.spec import (
    SpecError,
    compile_child,
    compile_operation,
    load_content,
    load_operation,
)
from libs.common.spec.context import RunContext
from tests.unit.spec.support import CONTEXT, issues_of

JOB: dict[str, Any] = {"kind": "job", "container": {"image": "x", "command": ["echo", "{{ lr }}"]}}
INPUTS = [
    {"name": "lr", "type": "float", "value": 0.1, "isOptional": True},
    {"name": "act", "type": "str", "value": "relu", "isOptional": True},
    {"name": "epochs", "type": "int", "value": 1, "isOptional": True},
]


def op(**fields: Any) -> dict[str, Any]:
    component = {"inputs": INPUTS, "run": JOB, **fields.pop("component", {})}
    return {"kind": "operation", "component": component, **fields}


def refused(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as caught:
        compile_operation(load_operation(data), CONTEXT)
    return issues_of(caught.value)


@pytest.mark.parametrize(
    ("fields", "loc", "message"),
    [
        (
            {"matrix": {"kind": "grid", "params": {"lr": {"kind": "uniform", "value": [0, 1]}}}},
            "matrix.params.lr",
            "a uniform param is not allowed here; grid takes",
        ),
        (
            {"matrix": {"kind": "grid", "params": {"lr": {"kind": "linspace", "value": "1:0"}}}},
            "matrix.params.lr.value",
            "expected [start, stop, num]",
        ),
        (
            {
                "matrix": {
                    "kind": "bayes",
                    "numInitialRuns": 2,
                    "maxIterations": 2,
                    "metric": {"name": "loss", "optimization": "minimize"},
                    "params": {"lr": {"kind": "normal", "value": [0, 1]}},
                }
            },
            "matrix.params.lr",
            "bayes takes discrete params and uniform",
        ),
        (
            {"matrix": {"kind": "random", "params": {"lr": {"kind": "uniform", "value": [0, 1]}}}},
            "matrix.numRuns",
            "Field required",
        ),
        (
            {
                "matrix": {
                    "kind": "random",
                    "nunRuns": 3,
                    "numRuns": 3,
                    "params": {"lr": {"kind": "uniform", "value": [0, 1]}},
                }
            },
            "matrix.nunRuns",
            "unknown field",
        ),
        (
            {"matrix": {"kind": "sweep", "params": {}}},
            "matrix.kind",
            "unknown kind 'sweep'; expected one of 'grid', 'random', 'hyperband', 'bayes', 'tpe', 'iterative', 'mapping'",
        ),
        (
            {
                "matrix": {
                    "kind": "bayes",
                    "numInitialRuns": 2,
                    "maxIterations": 2,
                    "metric": {"name": "l", "optimization": "minimize"},
                    "utilityFunction": {"acquisitionFunction": "ei"},
                    "params": {"lr": {"kind": "uniform", "value": [0, 1]}},
                }
            },
            "matrix.utilityFunction",
            "the ei acquisition function needs eps",
        ),
        (
            {
                "matrix": {
                    "kind": "grid",
                    "params": {"lr": {"kind": "choice", "value": [1]}},
                    "earlyStopping": [{"kind": "failure_early_stopping", "percent": 120}],
                }
            },
            "matrix.earlyStopping[0].percent",
            "less than 100",
        ),
        (
            {
                "matrix": {
                    "kind": "grid",
                    "params": {"lr": {"kind": "choice", "value": [1]}},
                    "earlyStopping": [
                        {
                            "kind": "metric_early_stopping",
                            "metric": "loss",
                            "value": 1,
                            "optimization": "minimize",
                            "policy": {"kind": "median", "evaluationInterval": 0},
                        }
                    ],
                }
            },
            "matrix.earlyStopping[0].policy.evaluationInterval",
            "greater than or equal to 1",
        ),
        (
            {"schedule": {"kind": "cron", "cron": "every day"}},
            "schedule.cron",
            "not a cron expression",
        ),
        (
            {"schedule": {"kind": "interval", "frequency": -5}},
            "schedule.frequency",
            "greater than 0",
        ),
        ({"schedule": {"kind": "datetime"}}, "schedule.startAt", "Field required"),
        (
            {
                "schedule": {
                    "kind": "cron",
                    "cron": "0 0 * * *",
                    "startAt": "2024-02-01",
                    "endAt": "2024-01-01",
                }
            },
            "schedule",
            "endAt must be after startAt",
        ),
        (
            {"hooks": [{"hubRef": "slack", "trigger": "finished"}]},
            "hooks[0].trigger",
            "expected 'succeeded', 'failed', 'stopped', 'skipped', 'upstream_failed' or 'done'",
        ),
        (
            {"hooks": [{"hubRef": "tensorboard", "params": {"colour": "red"}}]},
            "hooks.params.colour",
            "",
        ),
        (
            {"joins": [{"query": "metrics.loss:<1", "limit": "5"}]},
            "joins[0].limit",
            "Input should be a valid integer",
        ),
        (
            {"events": [{"ref": "ops.a", "kinds": ["run_status_finished"]}]},
            "events[0].kinds",
            "unknown event kinds ['run_status_finished']",
        ),
        (
            {"termination": {"maxRetries": -1}},
            "termination.maxRetries",
            "greater than or equal to 0",
        ),
        ({"plugins": {"colectLogs": False}}, "plugins.colectLogs", "unknown field"),
        (
            {"cache": {"sections": ["everything"]}},
            "cache.sections[0]",
            "expected 'containers', 'init' or 'connections'",
        ),
        ({"trigger": "all_good"}, "trigger", "expected 'all_succeeded'"),
        ({"queue": "a/b/c"}, "queue", "String should match pattern"),
        (
            {"params": {"epochs": "many"}},
            "params.epochs",
            "expected an int for input type int, got 'many'",
        ),
        (
            {"params": {"momentum": 0.9}},
            "params.momentum",
            "no input or output named 'momentum' (declared: lr, act, epochs)",
        ),
        (
            {"params": {"lr": {"ref": "ops.train", "value": "outputs.lr"}}},
            "params.lr.ref",
            "references to other runs are resolved only inside a DAG",
        ),
        (
            {"params": {"lr": {"ref": "elsewhere"}}},
            "params.lr.ref",
            "expected 'dag', 'ops.<operation name>' or 'runs.<uuid>'",
        ),
    ],
)
def test_rules(fields: dict[str, Any], loc: str, message: str) -> None:
    issues = refused(op(**fields))
    if loc == "hooks.params.colour":
        assert issues == [
            ("hooks[0].params.colour", "hub component 'tensorboard' has no input 'colour'")
        ]
        return
    assert any(i_loc == loc and message in msg for i_loc, msg in issues), issues


@pytest.mark.parametrize(
    ("component", "loc", "message"),
    [
        (
            {"run": {"kind": "job", "container": {"image": "x", "args": ["{{ nope }}"]}}},
            "run.container.args[0]",
            "'nope' is undefined",
        ),
        (
            {"run": {"kind": "job", "init": [{"git": {"url": "u"}, "file": {"content": "c"}}]}},
            "run.init[0]",
            "an init entry takes one handler, got git, file",
        ),
        (
            {"run": {"kind": "tfjob", "worker": {"replicas": -1}}},
            "run.worker.replicas",
            "greater than or equal to 0",
        ),
        (
            {"run": {"kind": "pytorchjob", "cleanPodPolicy": "Sometimes"}},
            "run.cleanPodPolicy",
            "expected 'All', 'Running' or 'None'",
        ),
        (
            {"run": {"kind": "raycluster", "workers": {"small": {"rayStartParam": {}}}}},
            "run.workers.small.rayStartParam",
            "unknown field",
        ),
        (
            {"run": {"kind": "job", "environment": {"restartPolicy": "Sometimes"}}},
            "run.environment.restartPolicy",
            "expected 'Always', 'OnFailure', 'Never' or 'ExitCode'",
        ),
        (
            {"run": {"kind": "job", "container": {"resources": {"limit": {"cpu": 1}}}}},
            "run.container.resources",
            "expected only limits, requests, claims",
        ),
        (
            {"inputs": [{"name": "x", "type": "tensor"}], "run": JOB},
            "inputs[0].type",
            "unknown type 'tensor'",
        ),
        (
            {
                "inputs": [{"name": "x", "type": "int", "value": 5, "validation": {"lt": 3}}],
                "run": JOB,
            },
            "params.x",
            "expected a value < 3",
        ),
        (
            {"inputs": [{"name": "x", "type": "str", "value": "b", "options": ["a"]}], "run": JOB},
            "params.x",
            "expected one of ['a']",
        ),
        (
            {"inputs": [{"name": "x", "type": "image", "value": "not an image"}], "run": JOB},
            "params.x",
            "expected a container image",
        ),
        (
            {"inputs": [{"name": "x", "type": "datetime", "value": "yesterday"}], "run": JOB},
            "params.x",
            "expected a datetime",
        ),
        (
            {"inputs": [{"name": "x", "type": "git", "value": {"revision": "main"}}], "run": JOB},
            "params.x",
            "a mapping needs 'url'",
        ),
        (
            {"inputs": [{"name": "x"}, {"name": "x"}], "run": JOB},
            "component",
            "the name 'x' is used twice",
        ),
        (
            {"cmd": "echo hi", "run": {"kind": "dag", "operations": []}},
            "cmd",
            "apply to job and service runs, not dag",
        ),
        (
            {"run": {"kind": "dag", "operations": []}},
            "run.operations",
            "a DAG needs at least one operation",
        ),
    ],
)
def test_component_rules(component: dict[str, Any], loc: str, message: str) -> None:
    issues = refused({"kind": "operation", "component": component})
    # Model errors name the path in the submitted operation; compile errors the compiled one.
    assert any(i_loc in (loc, f"component.{loc}") and message in msg for i_loc, msg in issues), (
        issues
    )


def test_matrix_values_must_fit_the_input_types() -> None:
    issues = refused(
        op(
            matrix={
                "kind": "grid",
                "params": {
                    "epochs": {"kind": "choice", "value": [1, "two"]},
                    "nope": {"kind": "choice", "value": [1]},
                },
            }
        )
    )
    assert issues == [
        ("matrix.params.epochs.value", "'two': expected an int for input type int"),
        ("matrix.params.nope", "no input named 'nope'; a matrix param sets an input"),
    ]
    random = refused(
        op(
            matrix={
                "kind": "random",
                "numRuns": 2,
                "params": {"act": {"kind": "uniform", "value": [0, 1]}},
            }
        )
    )
    assert random == [
        ("matrix.params.act.kind", "a uniform param draws numbers; input 'act' is str")
    ]
    mapping = refused(op(matrix={"kind": "mapping", "values": [{"lr": 0.1}, {"lr": "fast"}]}))
    assert mapping == [("matrix.values[1].lr", "'fast': expected a float for input type float")]


def test_operation_names_one_component() -> None:
    issues = refused({"kind": "operation", "hubRef": "notify", "urlRef": "https://x/c.yaml"})
    assert issues == [("", "an operation names its component once; got hubRef, urlRef")]


def test_an_inline_component_wins_over_the_reference_it_was_resolved_from() -> None:
    # What Polyaxon's CLI sends for `pathRef: job.yaml`: the file's component, and the ref.
    operation = load_operation(
        {"kind": "operation", "pathRef": "job.yaml", "component": {"inputs": INPUTS, "run": JOB}}
    )
    assert operation.path_ref is None
    compiled = compile_operation(operation, CONTEXT).dump()
    assert compiled["run"]["container"]["command"] == ["echo", "0.1"]


def test_a_known_invalid_public_example() -> None:
    # polyaxon-examples' keras hyperparams file: `kind: operations` and `nunRuns`.
    with pytest.raises(SpecError, match="expected 'component' or 'operation', got 'operations'"):
        load_content("version: 1.1\nkind: operations\nmatrix: {kind: random, nunRuns: 2}")


def test_templating_contexts() -> None:
    args = [
        "{{ params.lr }}", "{{ inputs.act }}", "{{ params.epochs.as_arg }}", "{{ globals.run_uuid }}",
        "{{ globals.run_artifacts_path }}", "{{ globals.run_outputs_path }}", "{{ globals.schedule_at }}", "{{ stamp }}",
    ]  # fmt: skip
    data = op(
        component={"run": {"kind": "job", "container": {"image": "x", "args": args}}},
        schedule={"kind": "interval", "frequency": 60},
        params={"stamp": {"value": "{{ globals.schedule_at }}", "contextOnly": True}},
    )
    controller = compile_operation(load_operation(data), CONTEXT)
    assert controller.dump()["run"]["container"]["args"] == args  # ticks render, not the controller
    tick_at = datetime(2024, 5, 1, 10, 0)
    context = RunContext(**{**CONTEXT.__dict__, "schedule_at": tick_at})
    tick = compile_child(controller, context)
    rendered = tick.dump()["run"]["container"]["args"]
    root = f"/artifacts/demo/{CONTEXT.uuid.hex}"
    assert rendered == [
        "0.1",
        "relu",
        "--epochs=1",
        CONTEXT.uuid.hex,
        root,
        f"{root}/outputs",
        tick_at.isoformat(),
        tick_at.isoformat(),
    ]
    assert tick.schedule is None


def test_shortcuts_and_to_env() -> None:
    data = {
        "kind": "operation",
        "params": {"lr": {"value": 0.3, "toEnv": "LR"}},
        "component": {
            "inputs": INPUTS,
            "container": {"image": "python:3.11"},
            "cmd": ["echo one", "echo {{ lr }}"],
            "env": {"SEED": 1},
            "resources": {"cpu": "1..2", "memory": "1Gi", "gpu": "1"},
        },
    }
    compiled = compile_operation(load_operation(data), CONTEXT).dump()
    assert "cmd" not in compiled and "env" not in compiled
    container = compiled["run"]["container"]
    assert compiled["run"]["kind"] == "job"
    assert container["command"] == ["/bin/sh", "-c", "set -e\necho one\necho 0.3"]
    assert {"name": "SEED", "value": "1"} in container["env"] and {
        "name": "LR",
        "value": "0.3",
    } in container["env"]
    assert container["resources"] == {
        "requests": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"},
        "limits": {"cpu": "2", "memory": "1Gi", "nvidia.com/gpu": "1"},
    }
    service = compile_operation(
        load_operation(
            {"kind": "operation", "component": {"container": {"image": "nginx"}, "ports": [80]}}
        ),
        CONTEXT,
    )
    assert service.run is not None and service.run.kind == "service"


def test_distributed_kinds_are_typed_and_rendered() -> None:
    replica = {"replicas": 2, "container": {"image": "x", "args": ["--lr={{ lr }}"]}}
    for run in (
        {"kind": "tfjob", "cleanPodPolicy": "All", "chief": {"replicas": 1}, "worker": replica},
        {
            "kind": "pytorchjob",
            "master": replica,
            "worker": replica,
            "elasticPolicy": {"minReplicas": 1, "maxReplicas": 3},
        },
        {"kind": "mpijob", "slotsPerWorker": 2, "launcher": replica, "worker": replica},
        {
            "kind": "daskcluster",
            "scheduler": replica,
            "worker": replica,
            "minReplicas": 1,
            "maxReplicas": 4,
        },
        {
            "kind": "raycluster",
            "entrypoint": "python main.py",
            "head": replica,
            "workers": {"small": {**replica, "minReplicas": 1}},
        },
    ):
        compiled = compile_operation(load_operation(op(component={"run": run})), CONTEXT).dump()
        assert "--lr=0.1" in str(compiled["run"])


def test_templates_render_in_a_sandbox() -> None:
    issues = refused(
        op(
            component={
                "run": {
                    "kind": "job",
                    "container": {
                        "image": "x",
                        "args": ["{{ ''.__class__.__mro__[1].__subclasses__() }}"],
                    },
                }
            }
        )
    )
    assert issues and issues[0][0] == "run.container.args[0]"
    assert "unsafe" in issues[0][1] or "not safely" in issues[0][1]


def test_mounts_take_polyaxons_three_forms_and_name_a_bad_one() -> None:
    compiled = compile_operation(
        load_operation(op(mount=["data.csv:/inputs/data.csv", "./src", {"from": "c", "to": "d"}])),
        CONTEXT,
    )
    assert [(m.path_from, m.target) for m in compiled.mount or []] == [
        ("data.csv", "inputs/data.csv"),
        ("./src", "src"),
        ("c", "d"),
    ]
    assert refused(op(mount=[{"to": "x"}])) == [("mount[0].from", "Field required")]
