"""The api compiles every submission with the full spec: controllers (matrix, schedule, DAG)
are compiled and wait for their service; an invalid spec is a 422 naming the path, and no run
is created."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from ganglion.cli.specfile import build_operation
from libs.common.spec import Resolver

POLYAXONFILES = Path(__file__).parents[1] / "fixtures" / "polyaxonfiles"
TYPED = POLYAXONFILES / "02-job-with-inputs.yaml"
TYPED_URL = "https://raw.githubusercontent.com/polyaxon/polyaxon-quick-start/master/scheduling/experimentation/typed.yaml"
RESOLVER = Resolver(urls={TYPED_URL: TYPED}, paths={"../experimentation/typed.yaml": TYPED})
RUNS = "/api/v1/default/demo/runs"


def posted(name: str) -> str:
    """What `ganglion run -f <name>` posts (refs inlined on the client)."""
    return json.dumps(build_operation([POLYAXONFILES / name], {}, resolver=RESOLVER))


@pytest.mark.parametrize(
    ("name", "kind", "service"),
    [
        ("03-grid-search.yaml", "job", "optimizer"),
        ("07-hyperopt.yaml", "job", "optimizer"),
        ("08-dag-dependencies-conditions.yaml", "dag", "pipelines"),
        ("09-schedule-cron-dag.yaml", "dag", "ci"),
    ],
)
async def test_controllers_compile_and_wait_for_their_service(
    api: httpx.AsyncClient, project: str, name: str, kind: str, service: str
) -> None:
    response = await api.post(RUNS, json={"content": posted(name)})
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["status"] == "compiled" and run["kind"] == kind
    assert service in run["status_conditions"][-1]["message"]
    compiled = json.loads(run["content"])
    assert compiled["kind"] == "compiled_operation"
    if name.startswith("07"):
        assert compiled["matrix"]["kind"] == "tpe"


async def test_hub_components_resolve_on_the_server(api: httpx.AsyncClient, project: str) -> None:
    response = await api.post(RUNS, json={"content": "kind: operation\nhubRef: jupyterlab\n"})
    assert response.status_code == 200, response.text
    assert response.json()["kind"] == "service"


@pytest.mark.parametrize(
    ("content", "loc", "message"),
    [
        (
            (POLYAXONFILES / "03-grid-search.yaml").read_text(),
            "urlRef",
            "urlRef is resolved by the client",
        ),
        (
            json.dumps(
                {
                    "kind": "operation",
                    "matrix": {
                        "kind": "grid",
                        "params": {"dropout": {"kind": "uniform", "value": [0, 1]}},
                    },
                    "component": json.loads(posted("02-job-with-inputs.yaml"))["component"],
                }
            ),
            "matrix.params.dropout",
            "a uniform param is not allowed here",
        ),
        (
            "kind: component\nrun:\n  kind: dag\n  operations:\n"
            "  - {name: a, dependencies: [b], component: {run: {kind: job}}}\n"
            "  - {name: b, dependencies: [a], component: {run: {kind: job}}}\n",
            "run.operations",
            "the DAG has a cycle: a -> b -> a",
        ),
        (
            "kind: component\nschedule: {kind: cron, cron: 'at noon'}\nrun: {kind: job}\n",
            "component.schedule.cron",
            "not a cron expression",
        ),
    ],
)
async def test_invalid_specs_are_refused_whole(
    api: httpx.AsyncClient, project: str, content: str, loc: str, message: str
) -> None:
    response = await api.post(RUNS, json={"content": content})
    assert response.status_code == 422, response.text
    details = response.json()["detail"]
    assert any(d["loc"] == ["body", "content", loc] and message in d["msg"] for d in details), (
        details
    )
    assert (await api.get(RUNS)).json()["count"] == 0


EVALUATE = """
kind: operation
params:
  threshold: {ref: runs.%s, value: outputs.loss}
  model: {ref: runs.%s, value: artifacts.model}
  source: {ref: runs.%s, value: globals.uuid}
component:
  inputs:
  - {name: threshold, type: float}
  - {name: model, type: path}
  - {name: source, type: str}
  run:
    kind: job
    container: {image: python:3.11, command: [python, -c, "print({{ threshold }})"]}
"""


async def _trained(api: httpx.AsyncClient) -> str:
    uuid: str = (await api.post(RUNS, json={"is_managed": False})).json()["uuid"]
    await api.patch(f"{RUNS}/{uuid}", json={"outputs": {"loss": 0.25}, "merge": True})
    lineage = {"artifacts": [{"name": "model", "kind": "model", "path": "outputs/model.pt"}]}
    assert (await api.post(f"{RUNS}/{uuid}/lineage/artifacts", json=lineage)).status_code == 201
    return uuid


async def test_params_take_values_from_the_runs_they_reference(
    api: httpx.AsyncClient, project: str
) -> None:
    trained = await _trained(api)
    response = await api.post(RUNS, json={"content": EVALUATE % (trained, trained, trained)})
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["inputs"] == {"threshold": 0.25, "model": "outputs/model.pt", "source": trained}
    compiled = json.loads(run["content"])
    assert compiled["run"]["container"]["command"][-1] == "print(0.25)"
    assert compiled["params"]["threshold"] == {"value": 0.25}


@pytest.mark.parametrize(
    ("value", "loc", "message"),
    [
        ("outputs.missing", "threshold", "has no outputs.missing"),
        ("inputs", "threshold", "expected a float"),
    ],
)
async def test_a_reference_that_does_not_resolve_is_refused(
    api: httpx.AsyncClient, project: str, value: str, loc: str, message: str
) -> None:
    trained = await _trained(api)
    content = (EVALUATE % (trained, trained, trained)).replace("outputs.loss", value)
    before = (await api.get(RUNS)).json()["count"]
    response = await api.post(RUNS, json={"content": content})
    assert response.status_code == 422, response.text
    [detail] = response.json()["detail"]
    assert detail["loc"][-1] == f"params.{loc}" and message in detail["msg"], detail
    assert (await api.get(RUNS)).json()["count"] == before


async def test_a_reference_to_an_unknown_run_is_refused(
    api: httpx.AsyncClient, project: str
) -> None:
    trained, unknown = await _trained(api), "0" * 32
    response = await api.post(RUNS, json={"content": EVALUATE % (unknown, trained, trained)})
    assert response.status_code == 422, response.text
    [detail] = response.json()["detail"]
    assert detail["loc"][-1] == "params.threshold"
    assert f"no run {unknown}" in detail["msg"]


JOINED = """
kind: operation
joins:
- query: "%s"
  sort: "-outputs.accuracy"
  limit: 2
  params:
    accuracies: {value: outputs.accuracy}
    sources: {value: globals.uuid}
component:
  inputs:
  - {name: accuracies, type: float, isList: true}
  - {name: sources, type: str, isList: true}
  run:
    kind: job
    container: {image: python:3.11, command: [echo, "{{ accuracies }}"]}
"""


async def test_joins_fill_list_params_from_the_runs_their_query_finds(
    api: httpx.AsyncClient, project: str
) -> None:
    made = {}
    for accuracy in (0.95, 0.5, 0.92, 0.91):
        uuid = (await api.post(RUNS, json={"is_managed": False})).json()["uuid"]
        await api.patch(f"{RUNS}/{uuid}", json={"outputs": {"accuracy": accuracy}, "merge": True})
        made[accuracy] = uuid
    response = await api.post(RUNS, json={"content": JOINED % "outputs.accuracy:>0.9"})
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["inputs"] == {"accuracies": [0.95, 0.92], "sources": [made[0.95], made[0.92]]}
    # Resolved, the run is an ordinary job: submitted, not waiting for a controller.
    assert run["kind"] == "job" and run["status_conditions"][-1]["reason"] == "Compiler"
    compiled = json.loads(run["content"])
    assert "joins" not in compiled
    assert compiled["run"]["container"]["command"] == ["echo", "[0.95, 0.92]"]


@pytest.mark.parametrize(
    ("query", "loc", "message"),
    [
        ("outputs.accuracy:>>0.9", "joins[0].query", "unexpected '>' at position 18"),
        ("nosuchfield:1", "joins[0].query", "nosuchfield"),
    ],
)
async def test_a_join_with_a_bad_query_is_refused(
    api: httpx.AsyncClient, project: str, query: str, loc: str, message: str
) -> None:
    before = (await api.get(RUNS)).json()["count"]
    response = await api.post(RUNS, json={"content": JOINED % query})
    assert response.status_code == 422, response.text
    [detail] = response.json()["detail"]
    assert detail["loc"][-1] == loc and message in detail["msg"], detail
    assert (await api.get(RUNS)).json()["count"] == before


async def test_a_run_with_a_build_waits_for_the_image_builder(
    api: httpx.AsyncClient, project: str
) -> None:
    content = (
        "kind: operation\nbuild: {hubRef: kaniko, params: {destination: {value: 'img:1'}}}\n"
        "component:\n  run: {kind: job, container: {image: img:1}}\n"
    )
    response = await api.post(RUNS, json={"content": content})
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["status"] == "compiled"
    assert run["status_conditions"][-1]["reason"] == "NoController"
    assert "image builder" in run["status_conditions"][-1]["message"]
