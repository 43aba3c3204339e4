"""Organization presets: saved by name, checked when saved, applied on submit in the order an
operation's `presets` lists them."""

from __future__ import annotations

import json

import httpx
import pytest

PRESETS = "/api/v1/orgs/default/presets"
RUNS = "/api/v1/default/demo/runs"
GPU = """
kind: operation
isPreset: true
patchStrategy: isnull
queue: gpu
termination: {maxRetries: 2}
runPatch:
  environment: {nodeSelector: {accelerator: a100}}
"""
OPERATION = """
kind: operation
presets: [%s]
termination: {maxRetries: 5}
component:
  run:
    kind: job
    container: {image: python:3.11, command: [python, -c, "print(1)"]}
"""


async def test_presets_are_saved_listed_changed_and_deleted(
    api: httpx.AsyncClient, project: str
) -> None:
    created = await api.post(PRESETS, json={"name": "gpu", "content": GPU, "description": "A100"})
    assert created.status_code == 200, created.text
    assert (created.json()["name"], created.json()["content"]) == ("gpu", GPU)
    again = await api.post(PRESETS, json={"name": "gpu", "content": GPU})
    assert again.status_code == 409 and again.json()["detail"][0]["loc"] == ["body", "name"]
    listed = (await api.get(PRESETS)).json()
    assert (listed["count"], [p["name"] for p in listed["results"]]) == (1, ["gpu"])
    changed = await api.patch(f"{PRESETS}/gpu", json={"content": "queue: cpu"})
    assert changed.status_code == 200 and changed.json()["content"] == "queue: cpu"
    assert (await api.get(f"{PRESETS}/gpu")).json()["content"] == "queue: cpu"
    assert (await api.delete(f"{PRESETS}/gpu")).status_code == 204
    missing = await api.get(f"{PRESETS}/gpu")
    assert missing.status_code == 404 and missing.json()["detail"][0]["loc"] == ["path", "name"]


@pytest.mark.parametrize(
    ("content", "loc", "message"),
    [
        ("kind: operation\nbogus: 1\n", "bogus", "unknown field"),
        ("kind: operation\nhubRef: notify\n", "hubRef", "it names no component"),
        ("kind: component\nrun: {kind: job}\n", "kind", "a preset is an operation"),
        ("termination: {maxRetries: many}\n", "termination.maxRetries", "integer"),
        ("[1, 2", "", "YAML"),
    ],
)
async def test_an_invalid_preset_is_refused_and_the_stored_one_kept(
    api: httpx.AsyncClient, project: str, content: str, loc: str, message: str
) -> None:
    assert (await api.post(PRESETS, json={"name": "gpu", "content": GPU})).status_code == 200
    for response in (
        await api.post(PRESETS, json={"name": "bad", "content": content}),
        await api.patch(f"{PRESETS}/gpu", json={"content": content}),
    ):
        assert response.status_code == 422, response.text
        detail = response.json()["detail"][0]
        assert detail["loc"][:2] == ["body", "content"] and detail["loc"][2:] == [loc]
        assert message in detail["msg"], detail
    assert (await api.get(f"{PRESETS}/gpu")).json()["content"] == GPU
    assert (await api.get(f"{PRESETS}/bad")).status_code == 404


async def test_bad_names_and_bodies_are_refused(api: httpx.AsyncClient, project: str) -> None:
    bad_name = await api.post(PRESETS, json={"name": "a b", "content": GPU})
    assert bad_name.status_code == 422 and bad_name.json()["detail"][0]["loc"] == ["body", "name"]
    no_content = await api.post(PRESETS, json={"name": "gpu"})
    assert no_content.status_code == 422
    assert no_content.json()["detail"][0]["loc"] == ["body", "content"]
    unknown = await api.patch(f"{PRESETS}/nope", json={"description": "x"})
    assert unknown.status_code == 404


async def test_an_operation_is_patched_by_the_presets_it_names(
    api: httpx.AsyncClient, project: str
) -> None:
    await api.post(PRESETS, json={"name": "gpu", "content": GPU})
    await api.post(
        PRESETS, json={"name": "tagged", "content": "kind: operation\ntags: [from-preset]\n"}
    )
    await api.post("/api/v1/orgs/default/queues", json={"name": "gpu"})
    response = await api.post(RUNS, json={"content": OPERATION % "gpu, tagged"})
    assert response.status_code == 200, response.text
    run = response.json()
    compiled = json.loads(run["content"])
    # isnull: the preset fills what the operation left empty and keeps what it set.
    assert compiled["queue"] == "gpu"
    assert compiled["termination"]["maxRetries"] == 5
    assert compiled["run"]["environment"]["nodeSelector"] == {"accelerator": "a100"}
    assert run["tags"] == ["from-preset"]


async def test_an_unknown_preset_is_refused_and_nothing_is_created(
    api: httpx.AsyncClient, project: str
) -> None:
    before = (await api.get(RUNS)).json()["count"]
    response = await api.post(RUNS, json={"content": OPERATION % "nope"})
    assert response.status_code == 422, response.text
    [detail] = response.json()["detail"]
    assert detail["loc"] == ["body", "content", "presets[0]"]
    assert "no preset named 'nope'" in detail["msg"]
    assert (await api.get(RUNS)).json()["count"] == before
