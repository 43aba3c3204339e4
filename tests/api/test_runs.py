"""Runs over HTTP: create (compile on submit), read, update, statuses, stop, approve, delete."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from libs.common.events.contracts import RunSubmitted
from tests.conftest import Infra
from tests.support.apps import published, published_now

POLYAXONFILES = Path(__file__).parents[1] / "fixtures" / "polyaxonfiles"
TYPED = (POLYAXONFILES / "02-job-with-inputs.yaml").read_text()
RUNS = "/api/v1/default/demo/runs"


def as_cli_posts(text: str, **params: str) -> str:
    """What Polyaxon's CLI sends: the component wrapped in a JSON operation, -P values as strings."""
    import yaml

    component = yaml.safe_load(text)
    operation = {
        "version": 1.1,
        "kind": "operation",
        "params": {k: {"value": v} for k, v in params.items()},
        "component": component,
    }
    return json.dumps(operation)


async def test_create_compiles_and_submits(
    api: httpx.AsyncClient, project: str, infra: Infra
) -> None:
    body = {
        "content": as_cli_posts(TYPED, epochs="3", optimizer="sgd"),
        "managed_by": "agent",
        "name": "myrun",
        "description": "desc",
        "tags": ["x", "y"],
    }
    response = await api.post(RUNS, json=body)
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["status"] == "compiled"
    assert [c["type"] for c in run["status_conditions"]] == ["created", "compiled"]
    assert (run["name"], run["description"], run["tags"], run["kind"]) == (
        "myrun",
        "desc",
        ["x", "y"],
        "job",
    )
    assert run["inputs"]["epochs"] == 3 and run["inputs"]["optimizer"] == "sgd"
    assert run["settings"]["namespace"] == "ganglion"
    assert run["raw_content"] == body["content"]
    compiled = json.loads(run["content"])
    assert "--epochs=3" in compiled["run"]["container"]["args"]
    submitted = await published_now(infra, "scheduler.enqueue_submitted", 1)
    assert [e.open(RunSubmitted).uuid.hex for e in submitted] == [run["uuid"]]
    created = await published_now(infra, "tracking.run_created", 1)
    assert [e.subject for e in created] == [f"run:{submitted[0].open(RunSubmitted).uuid}"]


async def test_yaml_content_is_accepted_too(api: httpx.AsyncClient, project: str) -> None:
    response = await api.post(
        RUNS, json={"content": (POLYAXONFILES / "01-simple-job.yaml").read_text()}
    )
    assert response.status_code == 200
    assert response.json()["name"] == "simple-experiment"


@pytest.mark.parametrize(
    ("content", "loc", "message"),
    [
        ("kind: [unclosed", ["body", "content", ""], "not valid YAML or JSON at line 1"),
        (TYPED, ["body", "content", "params.epochs"], "required input has no value"),
        (
            as_cli_posts(TYPED, epochs="many"),
            ["body", "content", "params.epochs"],
            "expected an int",
        ),
        (
            "kind: component\nrun: {kind: job, container: {image: x, comand: [a]}}",
            ["body", "content", "component.run.container.comand"],
            "unknown field",
        ),
        ("", ["body", "content"], "needs content"),
    ],
)
async def test_bad_content_is_refused_and_nothing_is_stored(
    api: httpx.AsyncClient, project: str, content: str, loc: list[str], message: str
) -> None:
    response = await api.post(RUNS, json={"content": content})
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"] == loc
    assert message in detail["msg"]
    assert (await api.get(RUNS)).json()["count"] == 0


async def test_unknown_project_and_run(api: httpx.AsyncClient, project: str) -> None:
    missing = await api.post("/api/v1/default/nope/runs", json={"content": TYPED})
    assert missing.status_code == 404
    assert "ganglion project create nope" in missing.json()["detail"][0]["msg"]
    unknown = await api.get(f"{RUNS}/0123456789abcdef0123456789abcdef")
    assert unknown.status_code == 404
    assert unknown.json()["detail"][0]["loc"] == ["path", "uuid"]
    malformed = await api.get(f"{RUNS}/not-a-uuid")
    assert malformed.status_code == 422
    assert "not a run uuid" in malformed.json()["detail"][0]["msg"]


async def test_tracking_only_run_lifecycle(
    api: httpx.AsyncClient, project: str, infra: Infra
) -> None:
    created = await api.post(
        RUNS, json={"is_managed": False, "managed_by": "user", "name": "tracked", "tags": ["t1"]}
    )
    assert created.status_code == 200
    run = created.json()
    uuid = run["uuid"]
    assert run["status"] == "created" and run["content"] is None and run["kind"] is None
    status = {"condition": {"type": "running", "status": "True", "reason": "PolyaxonClient"}}
    assert (await api.post(f"{RUNS}/{uuid}/statuses", json=status)).json()["status"] == "running"
    await api.patch(f"{RUNS}/{uuid}", json={"inputs": {"lr": 0.1, "batch": 32}, "merge": True})
    await api.patch(f"{RUNS}/{uuid}", json={"inputs": {"epochs": 2}, "merge": True})
    await api.patch(f"{RUNS}/{uuid}", json={"meta_info": {"progress": 0.5}, "merge": True})
    await api.patch(f"{RUNS}/{uuid}", json={"tags": ["t2"], "merge": True})
    await api.patch(f"{RUNS}/{uuid}", json={"outputs": {"loss": 0.3}, "merge": True})
    done = await api.post(f"{RUNS}/{uuid}/statuses", json={"condition": {"type": "succeeded"}})
    assert done.status_code == 200
    final = (await api.get(f"{RUNS}/{uuid}")).json()
    assert final["inputs"] == {"lr": 0.1, "batch": 32, "epochs": 2}
    assert final["outputs"] == {"loss": 0.3}
    assert final["tags"] == ["t1", "t2"]
    assert final["meta_info"] == {"progress": 0.5}
    assert final["status"] == "succeeded"
    assert final["started_at"] and final["finished_at"] and final["duration"] is not None
    replaced = await api.patch(f"{RUNS}/{uuid}", json={"inputs": {"only": 1}})
    assert replaced.json()["inputs"] == {"only": 1}
    # Nothing was submitted for execution; tracking heard of the run.
    await published_now(infra, "tracking.run_created", 1)
    assert await published(infra, "scheduler.enqueue_submitted") == []


async def test_forbidden_transition_names_both_statuses(
    api: httpx.AsyncClient, project: str
) -> None:
    uuid = (await api.post(RUNS, json={"is_managed": False})).json()["uuid"]
    await api.post(f"{RUNS}/{uuid}/statuses", json={"condition": {"type": "running"}})
    await api.post(f"{RUNS}/{uuid}/statuses", json={"condition": {"type": "failed"}})
    refused = await api.post(f"{RUNS}/{uuid}/statuses", json={"condition": {"type": "running"}})
    assert refused.status_code == 409
    detail = refused.json()["detail"][0]
    assert detail["loc"] == ["body", "condition", "type"]
    assert "failed is final and cannot become running" in detail["msg"]
    unforced = await api.post(f"{RUNS}/{uuid}/statuses", json={"condition": {"type": "resuming"}})
    assert unforced.status_code == 409
    forced = await api.post(
        f"{RUNS}/{uuid}/statuses", json={"condition": {"type": "resuming"}, "force": True}
    )
    assert forced.json()["status"] == "resuming"
    bogus = await api.post(f"{RUNS}/{uuid}/statuses", json={"condition": {"type": "exploded"}})
    assert bogus.status_code == 422
    assert bogus.json()["detail"][0]["loc"] == ["body", "condition", "type"]


async def test_pending_upload_waits_for_approval(
    api: httpx.AsyncClient, project: str, infra: Infra
) -> None:
    run = (
        await api.post(RUNS, json={"content": as_cli_posts(TYPED, epochs="1"), "pending": "upload"})
    ).json()
    assert run["pending"] == "upload"
    await published_now(infra, "tracking.run_created", 1)
    assert await published(infra, "scheduler.enqueue_submitted") == []
    approved = await api.post(f"{RUNS}/{run['uuid']}/approve")
    assert approved.status_code == 200
    assert (await api.get(f"{RUNS}/{run['uuid']}")).json()["pending"] is None
    await published_now(infra, "scheduler.enqueue_submitted", 1)
    await api.post(f"{RUNS}/{run['uuid']}/approve")  # approving twice submits once
    await published_now(infra, "scheduler.enqueue_submitted", 1)


async def test_is_approved_false_waits_for_approval(api: httpx.AsyncClient, project: str) -> None:
    text = "kind: component\nisApproved: false\nrun: {kind: job, container: {image: x, command: [echo]}}"
    run = (await api.post(RUNS, json={"content": text})).json()
    assert run["pending"] == "approval" and run["is_approved"] is False


async def test_stop_before_execution_is_immediate(
    api: httpx.AsyncClient, project: str, infra: Infra
) -> None:
    run = (
        await api.post(RUNS, json={"content": as_cli_posts(TYPED, epochs="1"), "pending": "upload"})
    ).json()
    stopped = await api.post(f"{RUNS}/{run['uuid']}/stop")
    assert stopped.json()["status"] == "stopped"
    assert [e.name for e in await published_now(infra, "scheduler.stop_requested", 1)] == [
        "api.run.stop_requested"
    ]
    again = await api.post(f"{RUNS}/{run['uuid']}/stop")
    assert again.status_code == 200 and again.json()["status"] == "stopped"


async def test_stop_of_a_queued_run_asks_the_scheduler(
    api: httpx.AsyncClient, project: str, infra: Infra
) -> None:
    uuid = (await api.post(RUNS, json={"content": as_cli_posts(TYPED, epochs="1")})).json()["uuid"]
    # As if the scheduler had reported it queued.
    from libs.common.events import Envelope
    from libs.common.events.contracts import SchedulerRunStatusChanged
    from libs.common.ids import utcnow
    from tests.support.apps import publish
    from tests.support.waiting import eventually

    await publish(
        infra,
        Envelope.wrap(
            SchedulerRunStatusChanged(uuid=uuid, status="queued", transitioned_at=utcnow()),
            subject=f"run:{uuid}",
        ),
    )
    await eventually(lambda: _status(api, uuid, "queued"))
    assert (await api.post(f"{RUNS}/{uuid}/stop")).json()["status"] == "stopping"


async def _status(api: httpx.AsyncClient, uuid: str, status: str) -> bool:
    return bool((await api.get(f"{RUNS}/{uuid}")).json()["status"] == status)


async def test_list_sort_and_bad_sort(api: httpx.AsyncClient, project: str) -> None:
    for name in ("b", "a", "c"):
        await api.post(RUNS, json={"is_managed": False, "name": name})
    names = [r["name"] for r in (await api.get(RUNS, params={"sort": "name"})).json()["results"]]
    assert names == ["a", "b", "c"]
    newest = [r["name"] for r in (await api.get(RUNS)).json()["results"]]
    assert newest == ["c", "a", "b"]
    bad = await api.get(RUNS, params={"sort": "-colour"})
    assert bad.status_code == 400
    assert bad.json()["detail"][0]["loc"] == ["query", "sort"]
    assert "cannot sort by 'colour'" in bad.json()["detail"][0]["msg"]
    limit = await api.get(RUNS, params={"limit": 0})
    assert limit.status_code == 422 and limit.json()["detail"][0]["loc"] == ["query", "limit"]


async def test_delete_run(api: httpx.AsyncClient, project: str, infra: Infra) -> None:
    uuid = (await api.post(RUNS, json={"is_managed": False})).json()["uuid"]
    assert (await api.delete(f"{RUNS}/{uuid}")).status_code == 204
    assert (await api.get(f"{RUNS}/{uuid}")).status_code == 404
    assert [e.name for e in await published_now(infra, "tracking.run_deleted", 1)] == [
        "api.run.deleted"
    ]
    assert (await api.delete(f"{RUNS}/{uuid}")).status_code == 404


async def test_deleting_a_project_deletes_its_runs(
    api: httpx.AsyncClient, project: str, infra: Infra
) -> None:
    for _ in range(2):
        await api.post(RUNS, json={"is_managed": False})
    assert (await api.delete(f"/api/v1/default/{project}")).status_code == 204
    await published_now(infra, "scheduler.run_deleted", 2)
