"""The whole run lifecycle through the api, over real Postgres, RabbitMQ and Redis: queues,
quotas and explanations; skip, restart, copy, resume; retries, timeouts, TTL; bulk operations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from libs.common.lifecycle import RunStatus
from services.scheduler.loops.reconciler import Reconciler
from tests.conftest import Infra
from tests.support.platform import RUNS, Platform, job, platform
from tests.support.waiting import eventually

SLEEP = "import time; time.sleep(60)"


@pytest.fixture
async def ganglion(infra: Infra) -> AsyncIterator[Platform]:
    async with platform(infra, concurrency=3) as running:
        yield running


async def test_queues_are_created_and_runs_use_them(ganglion: Platform) -> None:
    created = await ganglion.client.post(
        "/api/v1/orgs/default/queues", json={"name": "gpu", "priority": 5, "concurrency": 1}
    )
    assert created.status_code == 200, created.text
    first = await ganglion.submit(job(SLEEP, queue="agent/gpu"))
    second = await ganglion.submit(job(SLEEP, queue="gpu"))
    await ganglion.reaches(first, "running")
    await ganglion.reaches(second, "queued")
    waiting = (await ganglion.execution(second))["waiting"]
    assert waiting["reason"] == "queue_full"
    assert waiting["message"] == "queue 'gpu' is full (1/1 running); position 1 of 1 in queue 'gpu'"
    # Raising the limit lets it start, without a restart.
    patched = await ganglion.client.patch(
        "/api/v1/orgs/default/queues/gpu", json={"concurrency": 2}
    )
    assert patched.json()["concurrency"] == 2
    await ganglion.reaches(second, "running")
    listed = (await ganglion.client.get("/api/v1/orgs/default/queues")).json()
    assert [q["name"] for q in listed["results"]] == ["gpu"]


async def test_queue_bad_input(ganglion: Platform) -> None:
    unknown = await ganglion.client.post(
        RUNS,
        json={
            "content": '{"kind": "component", "queue": "nope", "run": {"kind": "job", "container": {"image": "x", "command": ["true"]}}}'
        },
    )
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["body", "content", "queue"]
    assert "ganglion queue create nope" in unknown.json()["detail"][0]["msg"]
    bad = await ganglion.client.post(
        "/api/v1/orgs/default/queues", json={"name": "x", "concurrency": 0}
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "concurrency"]
    await ganglion.client.post("/api/v1/orgs/default/queues", json={"name": "x"})
    assert (
        await ganglion.client.post("/api/v1/orgs/default/queues", json={"name": "x"})
    ).status_code == 409
    assert (await ganglion.client.get("/api/v1/orgs/default/queues/default")).status_code == 404
    assert (await ganglion.client.delete("/api/v1/orgs/default/queues/x")).status_code == 204
    assert (await ganglion.client.delete("/api/v1/orgs/default/queues/x")).status_code == 404


async def test_project_quota_holds_runs_and_says_why(ganglion: Platform) -> None:
    quota = await ganglion.client.put(
        "/api/v1/orgs/default/quotas/project/demo", json={"runs": 1, "memory": "2Gi"}
    )
    assert quota.status_code == 200 and quota.json()["memory"] == 2 * 2**30
    await asyncio.sleep(0.3)  # the scheduler learns of it through an event
    first = await ganglion.submit(job("import time; time.sleep(1)"))
    second = await ganglion.submit(job("print('second')"))
    await ganglion.reaches(first, "running")
    await ganglion.reaches(second, "queued")
    waiting = (await ganglion.execution(second))["waiting"]
    assert waiting["reason"] == "project_quota"
    assert waiting["message"].startswith("project 'demo' quota: runs 1/1")
    await ganglion.reaches(first, "succeeded")
    await ganglion.reaches(second, "succeeded")
    bad = await ganglion.client.put("/api/v1/orgs/default/quotas/team/demo", json={"runs": 1})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["path", "kind"]
    bad = await ganglion.client.put(
        "/api/v1/orgs/default/quotas/project/demo", json={"memory": "lots"}
    )
    assert bad.status_code == 422 and "not a Kubernetes quantity" in bad.json()["detail"][0]["msg"]


async def test_skip_only_before_a_run_starts(ganglion: Platform) -> None:
    waiting = await ganglion.submit(job("print(1)"), pending="approval")
    skipped = await ganglion.client.post(f"{RUNS}/{waiting}/skip")
    assert skipped.json()["status"] == "skipped"
    running = await ganglion.submit(job(SLEEP))
    await ganglion.reaches(running, "running")
    refused = await ganglion.client.post(f"{RUNS}/{running}/skip")
    assert (
        refused.status_code == 409
        and "only a run that has not started" in refused.json()["detail"][0]["msg"]
    )


async def test_restart_makes_a_new_run_from_the_same_spec(ganglion: Platform) -> None:
    uuid = await ganglion.submit(job("print('hello')"), name="original")
    await ganglion.reaches(uuid, "succeeded")
    restarted = await ganglion.client.post(f"{RUNS}/{uuid}/restart", json={})
    assert restarted.status_code == 200
    new = restarted.json()
    assert new["uuid"] != uuid and new["name"] == "original"
    assert new["original"] == {"uuid": uuid, "name": "original", "kind": "restart"}
    await ganglion.reaches(new["uuid"], "succeeded")


async def test_copy_starts_with_the_originals_artifacts(ganglion: Platform) -> None:
    write = "import os; open(os.path.join(os.environ['GANGLION_RUN_OUTPUTS_PATH'], 'model.txt'), 'w').write('weights')"
    uuid = await ganglion.submit(job(write))
    await ganglion.reaches(uuid, "succeeded")
    read = "import os; print(open(os.path.join(os.environ['GANGLION_RUN_OUTPUTS_PATH'], 'model.txt')).read())"
    copied = await ganglion.client.post(
        f"{RUNS}/{uuid}/copy",
        json={
            "content": '{"kind": "component", "run": {"kind": "job", "container": {"image": "python", "command": ["python3", "-c", "'
            + read.replace('"', '\\"')
            + '"]}}}'
        },
    )
    assert copied.status_code == 200, copied.text
    copy = copied.json()
    assert copy["original"]["kind"] == "copy" and copy["pending"] == "upload"
    assert copy["meta_info"]["copy_artifacts"] == {"dirs": [uuid]}
    run = await ganglion.reaches(copy["uuid"], "succeeded", "failed")
    assert run["status"] == "succeeded", run["status_conditions"]
    logs = (
        await ganglion.client.get(f"/streams/v1/ganglion/default/demo/runs/{copy['uuid']}/logs")
    ).json()["logs"]
    assert [line["value"] for line in logs] == ["weights"]


async def test_resume_continues_the_same_run_from_its_checkpoint(ganglion: Platform) -> None:
    code = (
        "import os, sys\n"
        "path = os.path.join(os.environ['GANGLION_RUN_OUTPUTS_PATH'], 'checkpoint')\n"
        "if os.path.exists(path):\n"
        "    print('resumed from', open(path).read()); sys.exit(0)\n"
        "open(path, 'w').write('epoch 3'); print('crashed'); sys.exit(1)\n"
    )
    uuid = await ganglion.submit(job(code))
    await ganglion.reaches(uuid, "failed")
    assert (await ganglion.client.post(f"{RUNS}/{uuid}/resume", json={})).status_code == 200
    run = await ganglion.reaches(uuid, "succeeded")
    statuses = ganglion.statuses(run)
    assert statuses.count("running") == 2 and "resuming" in statuses and statuses[-1] == "succeeded"
    logs = (
        await ganglion.client.get(f"/streams/v1/ganglion/default/demo/runs/{uuid}/logs")
    ).json()["logs"]
    assert [line["value"] for line in logs] == ["crashed", "resumed from epoch 3"]
    again = await ganglion.client.post(f"{RUNS}/{uuid}/resume", json={})
    assert again.status_code == 200  # a finished run may be resumed again
    running = await ganglion.submit(job(SLEEP))
    await ganglion.reaches(running, "running")
    refused = await ganglion.client.post(f"{RUNS}/{running}/resume", json={})
    assert (
        refused.status_code == 409
        and "only a finished run can be resumed" in refused.json()["detail"][0]["msg"]
    )


async def test_tracking_only_runs_cannot_be_restarted(ganglion: Platform) -> None:
    uuid = (await ganglion.client.post(RUNS, json={"is_managed": False})).json()["uuid"]
    for action in ("restart", "copy", "resume"):
        refused = await ganglion.client.post(f"{RUNS}/{uuid}/{action}", json={})
        assert refused.status_code == 409, action


async def test_retries_with_back_off_then_success(ganglion: Platform) -> None:
    code = (
        "import os, sys\n"
        "path = os.path.join(os.environ['GANGLION_RUN_OUTPUTS_PATH'], 'attempts')\n"
        "n = int(open(path).read()) if os.path.exists(path) else 0\n"
        "open(path, 'w').write(str(n + 1)); print('attempt', n + 1); sys.exit(0 if n == 2 else 1)\n"
    )
    uuid = await ganglion.submit(job(code, termination={"maxRetries": 3}))
    run = await ganglion.reaches(uuid, "succeeded", "failed")
    assert run["status"] == "succeeded"
    assert ganglion.statuses(run).count("retrying") == 2
    retry = next(c for c in run["status_conditions"] if c["type"] == "retrying")
    assert retry["message"] == "exited with code 1; retry 1 of 3 in 0.1s"
    logs = (
        await ganglion.client.get(f"/streams/v1/ganglion/default/demo/runs/{uuid}/logs")
    ).json()["logs"]
    assert [line["value"] for line in logs] == ["attempt 1", "attempt 2", "attempt 3"]
    assert (await ganglion.execution(uuid))["attempt"] == 2


async def test_retries_run_out(ganglion: Platform) -> None:
    uuid = await ganglion.submit(job("import sys; sys.exit(2)", termination={"maxRetries": 1}))
    run = await ganglion.reaches(uuid, "failed")
    assert ganglion.statuses(run).count("retrying") == 1
    assert run["status_conditions"][-1]["message"] == "exited with code 2"


async def test_timeout_stops_the_run_with_the_reason(ganglion: Platform) -> None:
    uuid = await ganglion.submit(job(SLEEP, termination={"timeout": 1}))
    run = await ganglion.reaches(uuid, "stopped")
    assert run["status_conditions"][-1]["message"] == "Stopped: timeout after 1s"
    assert "stopping" in ganglion.statuses(run)


async def test_ttl_cleans_the_runners_leftovers(ganglion: Platform) -> None:
    uuid = await ganglion.submit(job("print(1)", termination={"ttl": 1}))
    await ganglion.reaches(uuid, "succeeded")
    handle = (await ganglion.execution(uuid))["handle"]
    assert Path(handle["state_dir"]).exists()
    reconciler: Reconciler = ganglion.scheduler.extras["reconciler"]  # type: ignore[assignment]
    await asyncio.sleep(1.1)
    assert await reconciler.clean_expired() == 1
    assert not Path(handle["state_dir"]).exists()
    logs = (
        await ganglion.client.get(f"/streams/v1/ganglion/default/demo/runs/{uuid}/logs")
    ).json()["logs"]
    assert [line["value"] for line in logs] == ["1"]  # logs are not leftovers


async def test_bulk_stop_and_delete(ganglion: Platform) -> None:
    uuids = [await ganglion.submit(job(SLEEP)) for _ in range(3)]
    for uuid in uuids:
        await ganglion.reaches(uuid, "running")
    stopped = await ganglion.client.post(f"{RUNS}/stop", json={"uuids": [*uuids, "0" * 32]})
    assert stopped.json() == {"uuids": uuids, "not_found": ["0" * 32]}
    for uuid in uuids:
        await ganglion.reaches(uuid, "stopped")
    deleted = await ganglion.client.request("DELETE", f"{RUNS}/delete", json={"uuids": uuids})
    assert deleted.json()["uuids"] == uuids
    assert (await ganglion.client.get(RUNS)).json()["count"] == 0
    bad = await ganglion.client.post(f"{RUNS}/stop", json={"uuids": ["nope"]})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "uuids", 0]
    empty = await ganglion.client.post(f"{RUNS}/stop", json={"uuids": []})
    assert empty.status_code == 422


async def test_lost_status_events_are_healed_by_resync(ganglion: Platform, infra: Infra) -> None:
    uuid = await ganglion.submit(job("print(1)"))
    await ganglion.reaches(uuid, "succeeded")
    # As if the api had missed the last events: put its view back to running.
    from services.api.db.tables import Run

    api = ganglion.router.api.state.runtime
    async with api.db.session() as session, session.begin():
        run = await session.get(Run, __import__("uuid").UUID(uuid))
        assert run is not None
        run.status_conditions = run.status_conditions[:-1]
        run.status = RunStatus.RUNNING.value
        run.finished_at = None
    assert (await ganglion.run(uuid))["status"] == "running"
    reconciler: Reconciler = ganglion.scheduler.extras["reconciler"]  # type: ignore[assignment]
    assert await reconciler.resync() >= 1
    await ganglion.reaches(uuid, "succeeded")


async def test_an_orphaned_process_is_stopped(ganglion: Platform) -> None:
    from uuid import uuid4

    from services.scheduler.runners.base import Launch

    runner = ganglion.scheduler.extras["runner"]
    stranger = uuid4()
    artifacts = str(ganglion.scheduler.settings.resolved_artifacts_root / "demo" / stranger.hex)
    handle = await runner.start(
        Launch(stranger, "default", "demo", "ganglion", ["sleep", "60"], artifacts)
    )  # type: ignore[attr-defined]
    reconciler: Reconciler = ganglion.scheduler.extras["reconciler"]  # type: ignore[assignment]
    assert await reconciler.stop_orphans() == [stranger.hex]

    async def gone() -> bool:
        return (await runner.status(handle)).state in ("exited", "gone")  # type: ignore[attr-defined,no-any-return]

    await eventually(gone)
