"""Acceptance: every shared polyaxonfile is accepted and compiles (the quick-start's urlRef and
07's pathRef map to the local typed.yaml), and their compiled forms say what the files say."""

from __future__ import annotations

import json

import pytest

from libs.common.spec import SpecError, compile_child
from libs.common.spec.matrix import TpeMatrix
from libs.common.spec.models import DagRun
from tests.unit.spec.support import CONTEXT, POLYAXONFILES, compile_text

FILES = sorted(p.name for p in POLYAXONFILES.glob("*.yaml"))


def test_all_ten_files_are_here() -> None:
    assert len(FILES) == 10


@pytest.mark.parametrize("name", FILES)
def test_every_shared_file_compiles(name: str) -> None:
    text = (POLYAXONFILES / name).read_text()
    params = {"epochs": "3"} if name.startswith("02") else {}
    compiled = compile_text(text, **params)
    assert compiled.kind == "compiled_operation" and compiled.run is not None
    # The compiled operation is what services pass each other: JSON, camelCase, self-contained.
    dumped = json.loads(json.dumps(compiled.dump()))
    assert "urlRef" not in json.dumps(dumped) and "pathRef" not in json.dumps(dumped)


def test_typed_job_renders_its_args_with_cast_params() -> None:
    compiled = compile_text((POLYAXONFILES / "02-job-with-inputs.yaml").read_text(), epochs="3")
    container = compiled.dump()["run"]["container"]
    assert "--epochs=3" in container["args"] and "--dropout=0.2" in container["args"]
    assert container["workingDir"] == (
        "/artifacts/demo/0123456789ab7def8123456789abcdef/polyaxon-quick-start/scheduling"
    )


def test_grid_file_keeps_its_templates_for_the_trials_and_a_trial_renders() -> None:
    compiled = compile_text((POLYAXONFILES / "03-grid-search.yaml").read_text())
    assert compiled.matrix is not None and compiled.matrix.kind == "grid"
    assert "--epochs={{ epochs }}" in compiled.dump()["run"]["container"]["args"]
    trial = compile_child(compiled, CONTEXT, {"learning_rate": 0.05, "epochs": 5})
    args = trial.dump()["run"]["container"]["args"]
    assert "--learning_rate=0.05" in args and "--epochs=5" in args
    assert trial.matrix is None


def test_hyperopt_is_read_as_tpe() -> None:
    compiled = compile_text((POLYAXONFILES / "07-hyperopt.yaml").read_text())
    assert isinstance(compiled.matrix, TpeMatrix)
    assert compiled.matrix.kind == "tpe" and compiled.matrix.algorithm == "tpe"
    assert compiled.matrix.tuner is not None and compiled.matrix.tuner.hub_ref == "hyperopt-tuner"


def test_dag_file_keeps_refs_and_conditions_for_the_pipelines_service() -> None:
    compiled = compile_text((POLYAXONFILES / "08-dag-dependencies-conditions.yaml").read_text())
    assert isinstance(compiled.run, DagRun)
    tune = (compiled.run.operations or [])[1]
    assert tune.conditions == "{{ upstream_loss > max_loss }}"
    assert tune.params is not None and tune.params["upstream_loss"].ref == "ops.experiment"
    # urlRef operations were inlined; the inline best_model keeps its own templates.
    assert all(op.component is not None for op in compiled.run.operations or [])


def test_cron_dag_resolves_dag_ref() -> None:
    compiled = compile_text((POLYAXONFILES / "09-schedule-cron-dag.yaml").read_text())
    assert compiled.schedule is not None and compiled.schedule.kind == "cron"
    assert isinstance(compiled.run, DagRun)
    assert (compiled.run.operations or [])[0].dag_ref == "experiment-template"


def test_hooks_file_names_hub_components_that_exist() -> None:
    compiled = compile_text((POLYAXONFILES / "10-hooks.yaml").read_text())
    assert [h.hub_ref for h in compiled.hooks or []] == ["tensorboard", "slack"]


def test_typed_file_without_its_required_input_is_refused() -> None:
    with pytest.raises(SpecError, match=r"params\.epochs: required input"):
        compile_text((POLYAXONFILES / "02-job-with-inputs.yaml").read_text())
