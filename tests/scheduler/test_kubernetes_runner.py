"""What is particular to the Kubernetes runner, against the fake cluster over real HTTP
(tests/support/kube.py): archived logs outliving the pod, stop deleting what start created,
services, training jobs, watches waking the scheduler."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from kubernetes_asyncio import client
from pydantic import TypeAdapter

from libs.common.spec.runs import DistributedRun, ServiceRun
from services.scheduler.runners.base import State
from services.scheduler.runners.kubernetes.pods import KubeOptions
from services.scheduler.runners.kubernetes.runner import KubernetesRunner
from tests.scheduler.test_runner_conformance import finished, launch
from tests.support.kube import FakeCluster, fake_cluster
from tests.support.waiting import eventually


@pytest.fixture
async def cluster() -> AsyncIterator[FakeCluster]:
    async with fake_cluster() as cluster:
        yield cluster


def make(cluster: FakeCluster, tmp_path: Path) -> KubernetesRunner:
    options = KubeOptions(
        namespace=cluster.namespace,
        artifacts_root=str(tmp_path / "artifacts"),
        artifacts_host_path=str(tmp_path / "artifacts"),
        grace_period=30,
    )
    return KubernetesRunner(options, configuration=client.Configuration(host=cluster.url))


@pytest.fixture
async def runner(cluster: FakeCluster, tmp_path: Path) -> AsyncIterator[KubernetesRunner]:
    runner = make(cluster, tmp_path)
    yield runner
    await runner.close()


def objects(cluster: FakeCluster, plural: str) -> list[str]:
    return [name for (res, _, name) in cluster.api.objects if res.plural == plural
            and not cluster.api.objects[res, _, name].deleted]  # fmt: skip


TRAINING: TypeAdapter[DistributedRun] = TypeAdapter(DistributedRun)


async def test_logs_are_archived_per_container_and_outlive_the_pod(
    cluster: FakeCluster, runner: KubernetesRunner, tmp_path: Path
) -> None:
    spec = launch(tmp_path, "print('one'); print('two')")
    handle = await runner.start(spec)
    assert (await finished(runner, handle)).exit_code == 0
    archive = Path(spec.artifacts_path, "logs", "main.jsonl")
    records = [json.loads(line) for line in archive.read_text().splitlines()]
    assert [r["value"] for r in records] == ["one", "two"]
    (pod,) = objects(cluster, "pods")
    assert {(r["container"], r["pod"], r["node"]) for r in records} == {("main", pod, "node-1")}
    await runner.stop(handle)  # deletes the Job; the garbage collector deletes the pod
    await eventually(lambda: objects(cluster, "pods") == [] and objects(cluster, "jobs") == [])
    assert [line.value async for line in runner.logs(handle)] == ["one", "two"]


async def test_stop_deletes_the_job_with_propagation_and_the_service(
    cluster: FakeCluster, runner: KubernetesRunner, tmp_path: Path
) -> None:
    spec = launch(tmp_path, "import time; print('serving', flush=True); time.sleep(60)")
    service = ServiceRun.model_validate(
        {
            "kind": "service",
            "ports": [8000],
            "container": {"image": "python:3.11", "command": spec.command},
        }
    )
    handle = await runner.start(replace(spec, kind="service", spec=service))
    assert objects(cluster, "services") == [handle["name"]]
    await eventually(lambda: _state(runner, handle, State.RUNNING))
    await runner.stop(handle)
    observation = await finished(runner, handle)
    assert observation.exit_code == 143  # SIGTERM, after the graceful deletion
    deletes = {path.rsplit("/", 2)[-2]: params for path, params in cluster.api.deletes}
    assert deletes["jobs"]["propagationPolicy"] == "Background"
    assert "services" in deletes
    await eventually(lambda: objects(cluster, "services") == [] and objects(cluster, "pods") == [])


async def test_a_watch_event_wakes_the_scheduler(
    cluster: FakeCluster, runner: KubernetesRunner, tmp_path: Path
) -> None:
    woken: list[int] = []
    runner.on_change(lambda: woken.append(1))
    handle = await runner.start(launch(tmp_path, "print('hi')"))
    await eventually(lambda: len(woken) >= 3)  # pod added, running, terminated; no polling
    assert (await finished(runner, handle)).exit_code == 0


async def test_a_restarted_scheduler_resumes_archiving_without_duplicates(
    cluster: FakeCluster, tmp_path: Path
) -> None:
    code = "import time\nfor i in range(6):\n    print(f'line {i}', flush=True); time.sleep(0.3)"
    first = make(cluster, tmp_path)
    spec = launch(tmp_path, code)
    handle = await first.start(spec)
    await eventually(lambda: _said(first, handle, "line 1"))
    await first.close()
    again = make(cluster, tmp_path)
    try:
        assert (await finished(again, handle)).exit_code == 0
        values = [line.value async for line in again.logs(handle)]
    finally:
        await again.close()
    assert values == [f"line {i}" for i in range(6)]


async def test_a_pytorchjob_runs_every_replica_and_archives_each(
    cluster: FakeCluster, runner: KubernetesRunner, tmp_path: Path
) -> None:
    spec = launch(tmp_path, "")
    command = ["python3", "-c", "import os; print('replica', os.environ['GANGLION_RUN_UUID'])"]
    run = TRAINING.validate_python(
        {
            "kind": "pytorchjob",
            "master": {"container": {"image": "trainer:1", "command": command}},
            "worker": {"replicas": 2, "container": {"image": "trainer:1", "command": command}},
        }
    )
    env = {"GANGLION_RUN_UUID": spec.run_uuid.hex}  # as launch_of gives every replica
    handle = await runner.start(replace(spec, kind="pytorchjob", spec=run, command=[], env=env))
    assert objects(cluster, "pytorchjobs") == [handle["name"]]
    observation = await finished(runner, handle)
    assert (observation.state, observation.exit_code) == (State.EXITED, 0)
    logs = Path(spec.artifacts_path, "logs")
    names = sorted(p.name for p in logs.glob("*.jsonl"))
    assert names == ["master-0.pytorch.jsonl", "worker-0.pytorch.jsonl", "worker-1.pytorch.jsonl"]
    values = [line.value async for line in runner.logs(handle)]
    assert values == [f"replica {spec.run_uuid.hex}"] * 3


async def test_a_failing_worker_fails_the_training_job_with_its_exit_code(
    cluster: FakeCluster, runner: KubernetesRunner, tmp_path: Path
) -> None:
    spec = launch(tmp_path, "")
    run = TRAINING.validate_python(
        {
            "kind": "tfjob",
            "chief": {
                "container": {
                    "image": "t:1",
                    "command": ["python3", "-c", "import time; time.sleep(5)"],
                }
            },
            "worker": {
                "container": {"image": "t:1", "command": ["python3", "-c", "raise SystemExit(4)"]}
            },
        }
    )
    handle = await runner.start(replace(spec, kind="tfjob", spec=run, command=[]))
    observation = await finished(runner, handle)
    assert (observation.state, observation.exit_code) == (State.EXITED, 4)


async def _state(runner: KubernetesRunner, handle: dict[str, object], state: State) -> bool:
    return (await runner.status(handle)).state == state


async def _said(runner: KubernetesRunner, handle: dict[str, object], text: str) -> bool:
    return any([line.value == text async for line in runner.logs(handle)])
