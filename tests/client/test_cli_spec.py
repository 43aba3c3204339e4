"""`ganglion run` and `ganglion check` build operations as Polyaxon's CLI does: refs inlined on
the client, later -f files as presets, -P cast by the compiler, -HP and --matrix-* as a matrix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ganglion.cli.common import UserError
from ganglion.cli.main import main
from ganglion.cli.specfile import build_operation, parse_hparams
from ganglion.client import ApiClient

JOB = (
    "kind: component\nname: counter\n"
    "inputs: [{name: n, type: int, value: 1, isOptional: true}, {name: lr, type: float, value: 0.1, isOptional: true}]\n"
    "run: {kind: job, container: {image: python, command: [python3, -c, 'print({{ n }})']}}\n"
)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {"job": tmp_path / "job.yaml", "op": tmp_path / "op.yaml"}
    out["job"].write_text(JOB)
    out["op"].write_text("kind: operation\npathRef: job.yaml\nparams: {n: 2}\nqueue: agent/one\n")
    out["preset"] = tmp_path / "preset.yaml"
    out["preset"].write_text(
        "kind: operation\nisPreset: true\npatchStrategy: isnull\nqueue: agent/two\n"
        "runPatch: {environment: {nodeSelector: {pool: gpu}}}\n"
    )
    out["override"] = tmp_path / "override.yaml"
    out["override"].write_text("queue: agent/three\ntags: [late]\n")
    return out


def test_presets_apply_in_order_after_the_refs(files: dict[str, Path]) -> None:
    op = build_operation([files["op"], files["preset"]], {"n": "5"})
    assert op["component"]["name"] == "counter" and "pathRef" not in op
    assert op["queue"] == "agent/one"  # isnull keeps what is set
    assert op["runPatch"] == {"environment": {"nodeSelector": {"pool": "gpu"}}}
    assert op["params"]["n"] == {"value": "5"}  # -P over the file's params, still a string
    op = build_operation([files["op"], files["preset"], files["override"]], {})
    assert op["queue"] == "agent/three" and op["tags"] == ["late"]


def test_hparams_and_matrix_options(files: dict[str, Path]) -> None:
    hparams = parse_hparams(
        ["lr=linspace:0.001:0.1:5", "n=choice:1,2,3", "a=pchoice:[[x, 0.3], [y, 0.7]]"]
    )
    assert hparams == {
        "lr": {"kind": "linspace", "value": "0.001:0.1:5"},
        "n": {"kind": "choice", "value": [1, 2, 3]},
        "a": {"kind": "pchoice", "value": [["x", 0.3], ["y", 0.7]]},
    }
    op = build_operation(
        [files["job"]], {}, hparams=hparams, matrix_kind="random", matrix_num_runs=4
    )
    assert op["matrix"]["kind"] == "random" and op["matrix"]["numRuns"] == 4
    assert op["matrix"]["concurrency"] == 1
    for bad, message in (
        ("lr", "expects name=kind:value"),
        ("lr=gauss:0:1", "unknown kind 'gauss'"),
    ):
        with pytest.raises(UserError, match=message):
            parse_hparams([bad])


def test_check_with_presets_and_a_matrix(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    code, out, err = run_cli(
        capsys, "check", "-f", str(files["op"]), "-f", str(files["preset"]),
        "-HP", "lr=uniform:0:1", "--matrix-kind", "random", "--matrix-num-runs", "3",
    )  # fmt: skip
    assert code == 0, err
    assert "valid random matrix of job operation 'counter'" in out
    code, _, err = run_cli(
        capsys, "check", "-f", str(files["job"]), "-HP", "lr=uniform:0:1", "-HP", "m=choice:1"
    )
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1
    assert (
        lines[0]
        == f"{files['job']}: matrix.params.lr: a uniform param is not allowed here; grid takes choice, range, linspace, logspace, geomspace, daterange, datetimerange"
    )
    code, _, err = run_cli(capsys, "check", "-f", str(files["job"]), "-P", "n=x", "-P", "lr=y")
    assert code == 2 and err.strip().splitlines() == [
        f"{files['job']}: params.n: expected an int for input type int, got 'x'",
        f"{files['job']}: params.lr: expected a float for input type float, got 'y'",
    ]


def test_a_preset_naming_a_component_is_refused(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    code, _, err = run_cli(capsys, "check", "-f", str(files["job"]), "-f", str(files["op"]))
    assert (
        code == 2
        and err.strip()
        == f"{files['op']}: pathRef: a preset patches the operation; it names no component"
    )


def test_run_posts_the_resolved_operation(
    api: ApiClient, capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    api.create_queue("one")  # the preset's queue; the api refuses queues nobody defined
    code, out, err = run_cli(
        capsys, "run", "-f", str(files["op"]), "-f", str(files["preset"]), "-p", "demo", "-P", "n=7",
        "-HP", "lr=choice:0.1,0.2", "--matrix-concurrency", "2",
    )  # fmt: skip
    assert code == 0, err
    uuid = out.split()[1]
    run = api.get_run("demo", uuid)
    assert run["status"] == "compiled" and "optimizer" in run["status_conditions"][-1]["message"]
    posted = json.loads(run["raw_content"])
    assert posted["component"]["name"] == "counter" and posted["params"]["n"] == {"value": "7"}
    compiled = json.loads(run["content"])
    assert compiled["matrix"] == {
        "kind": "grid", "concurrency": 2, "params": {"lr": {"kind": "choice", "value": [0.1, 0.2]}}
    }  # fmt: skip
    assert compiled["params"]["n"] == {"value": 7}
    assert compiled["run"]["environment"]["nodeSelector"] == {"pool": "gpu"}
