"""Parsing, validating and compiling polyaxonfiles (the foundation's part of the spec)."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest

from libs.common.spec import RunContext, SpecError, compile_operation, load_content, parse_content

POLYAXONFILES = Path(__file__).parents[2] / "fixtures" / "polyaxonfiles"
CONTEXT = RunContext(
    uuid=UUID("01234567-89ab-7def-8123-456789abcdef"),
    owner="default",
    project="demo",
    username="admin",
    namespace="ganglion",
    artifacts_root="/artifacts",
)

JOB = """
kind: component
inputs:
- {name: lr, type: float, value: 0.1, isOptional: true}
- {name: epochs, type: int}
- {name: verbose, type: bool, value: false, isOptional: true, isFlag: true}
run:
  kind: job
  container:
    image: python:3.11
    command: [python, train.py]
    args: ["--lr={{ lr }}", "--epochs={{ params.epochs.value }}", "{{ params.verbose.as_arg }}", "{{ globals.run_outputs_path }}"]
"""


def compiled(text: str, **params: object) -> dict[str, object]:
    data = parse_content(text)
    if params:
        data = {
            "kind": "operation",
            "component": data,
            "params": {k: {"value": v} for k, v in params.items()},
        }
    from libs.common.spec import load_operation

    return compile_operation(load_operation(data), CONTEXT).dump()


def test_compiles_with_cast_params_and_templates() -> None:
    result = compiled(JOB, epochs="3")
    assert result["kind"] == "compiled_operation"
    container = result["run"]["container"]  # type: ignore[index]
    assert container["args"] == [
        "--lr=0.1",
        "--epochs=3",
        "",
        "/artifacts/demo/0123456789ab7def8123456789abcdef/outputs",
    ]
    assert result["params"] == {
        "lr": {"value": 0.1},
        "epochs": {"value": 3},
        "verbose": {"value": False},
    }


def test_missing_required_input_names_the_param() -> None:
    with pytest.raises(SpecError) as caught:
        compiled(JOB)
    assert [i.loc for i in caught.value.issues] == ["params.epochs"]
    assert "-P epochs=VALUE" in caught.value.issues[0].msg


def test_wrong_type_is_refused() -> None:
    with pytest.raises(SpecError) as caught:
        compiled(JOB, epochs="three")
    assert caught.value.issues[0].loc == "params.epochs"
    assert "expected an int" in caught.value.issues[0].msg


def test_unknown_param_is_refused() -> None:
    with pytest.raises(SpecError) as caught:
        compiled(JOB, epochs=1, momentum=0.9)
    assert [i.loc for i in caught.value.issues] == ["params.momentum"]


def test_unknown_field_names_its_path() -> None:
    with pytest.raises(SpecError) as caught:
        load_content("kind: component\nrun: {kind: job, container: {image: x, comand: [a]}}")
    assert [(i.loc, i.msg) for i in caught.value.issues] == [
        ("component.run.container.comand", "unknown field")
    ]


def test_undefined_template_variable_names_its_path() -> None:
    text = "kind: component\nrun: {kind: job, container: {image: x, args: [ok, '{{ nope }}']}}"
    with pytest.raises(SpecError) as caught:
        compile_operation(load_content(text), CONTEXT)
    assert caught.value.issues[0].loc == "run.container.args[1]"
    assert "'nope' is undefined" in caught.value.issues[0].msg


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "empty"),
        ("kind: [unclosed", "not valid YAML or JSON at line 1"),
        ("- a\n- b", "expected a mapping"),
        ("kind: experiment", "expected 'component' or 'operation'"),
    ],
)
def test_malformed_files(text: str, expected: str) -> None:
    with pytest.raises(SpecError, match=expected):
        load_content(text)


def test_json_content_as_polyaxons_cli_posts_it() -> None:
    text = '{"version": 1.1, "kind": "operation", "params": {"epochs": {"value": "2"}}, "component": {"inputs": [{"name": "epochs", "type": "int"}], "run": {"kind": "job", "container": {"image": "x", "command": ["echo", "{{ epochs }}"]}}}}'
    result = compile_operation(load_content(text), CONTEXT).dump()
    assert result["run"]["container"]["command"] == ["echo", "2"]  # type: ignore[index]


def test_short_form_params() -> None:
    text = "kind: operation\nparams: {epochs: 4}\ncomponent:\n  inputs: [{name: epochs, type: int}]\n  run: {kind: job, container: {image: x, command: ['{{ epochs }}']}}"
    result = compile_operation(load_content(text), CONTEXT).dump()
    assert result["run"]["container"]["command"] == ["4"]  # type: ignore[index]


@pytest.mark.parametrize(
    "name", ["01-simple-job.yaml", "09-schedule-cron-dag.yaml", "10-hooks.yaml"]
)
def test_shared_self_contained_files_compile(name: str) -> None:
    operation = load_content((POLYAXONFILES / name).read_text(), file=name)
    assert compile_operation(operation, CONTEXT).run is not None


def test_shared_typed_job_needs_its_required_input() -> None:
    text = (POLYAXONFILES / "02-job-with-inputs.yaml").read_text()
    with pytest.raises(SpecError, match=r"params\.epochs"):
        compile_operation(load_content(text), CONTEXT)
    result = compiled(text, epochs="3")
    assert "--epochs=3" in result["run"]["container"]["args"]  # type: ignore[index]
