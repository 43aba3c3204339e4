"""The Runner contract, for every runner: local processes, Kubernetes (against a fake cluster
over real HTTP, tests/support/kube.py) and Docker (against a Docker-compatible engine, when one
answers)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from uuid import uuid4

import pytest
from kubernetes_asyncio import client

from services.scheduler.runners.base import Handle, Launch, Observation, Runner, State
from services.scheduler.runners.docker.config import DockerOptions
from services.scheduler.runners.docker.runner import DockerRunner
from services.scheduler.runners.kubernetes.pods import KubeOptions
from services.scheduler.runners.kubernetes.runner import KubernetesRunner
from services.scheduler.runners.local import LocalRunner
from tests.support.engine import docker_engine
from tests.support.kube import fake_cluster
from tests.support.waiting import eventually

MakeRunner = Callable[[], Runner]

SEPARATE_STREAMS = {"local": True, "kubernetes": False, "docker": True}
"""Whether the runtime keeps stdout and stderr apart (the Kubernetes log API merges them)."""


async def _local(tmp: Path, stack: AsyncExitStack) -> MakeRunner:
    return lambda: LocalRunner(tmp / "runner-state")


async def _kubernetes(tmp: Path, stack: AsyncExitStack) -> MakeRunner:
    cluster = await stack.enter_async_context(fake_cluster())
    options = KubeOptions(
        namespace=cluster.namespace,
        artifacts_root=str(tmp / "artifacts"),
        artifacts_host_path=str(tmp / "artifacts"),
        grace_period=30,
    )
    return lambda: KubernetesRunner(options, configuration=client.Configuration(host=cluster.url))


async def _docker(tmp: Path, stack: AsyncExitStack) -> MakeRunner:
    engine = await stack.enter_async_context(docker_engine())
    options = DockerOptions(
        artifacts_root=str(tmp / "artifacts"),
        artifacts_host_root=str(tmp / "artifacts"),
        pull="never",
        scope=tmp.name,  # the engine is shared by every test
    )
    return lambda: DockerRunner(options, tmp / "runner-state", base_url=engine)


RUNNERS = {"local": _local, "kubernetes": _kubernetes, "docker": _docker}


@pytest.fixture(params=sorted(RUNNERS))
async def make_runner(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MakeRunner]:
    """Makes runners of one kind that share one environment (a state folder, a cluster), as the
    scheduler processes of one installation do; each is closed at the end."""
    async with AsyncExitStack() as stack:
        make = await RUNNERS[request.param](tmp_path, stack)

        def tracked() -> Runner:
            runner = make()
            stack.push_async_callback(runner.close)
            return runner

        yield tracked


@pytest.fixture
def runner(make_runner: MakeRunner) -> Runner:
    return make_runner()


def launch(tmp_path: Path, code: str, **env: str) -> Launch:
    uuid = uuid4()
    return Launch(
        run_uuid=uuid,
        owner="default",
        project="demo",
        namespace="ganglion",
        # Whatever python3 the runtime has: the scheduler's (local), the node's, the image's.
        command=["python3", "-c", code],
        artifacts_path=str(tmp_path / "artifacts" / "demo" / uuid.hex),
        image="python:3.11",
        env=env,
        resources={"requests": {"cpu": "1"}},
    )


async def finished(runner: Runner, handle: Handle) -> Observation:
    async def over() -> Observation | None:
        observation = await runner.status(handle)
        return observation if observation.state in (State.EXITED, State.GONE) else None

    return await eventually(over, timeout=20)


async def lines(runner: Runner, handle: Handle) -> list[tuple[str | None, str]]:
    separate = SEPARATE_STREAMS[handle["runner"]]
    return [(line.stream if separate else None, line.value) async for line in runner.logs(handle)]


def out(handle: Handle, value: str, stream: str = "stdout") -> tuple[str | None, str]:
    return (stream if SEPARATE_STREAMS[handle["runner"]] else None, value)


async def test_runs_to_completion_with_logs_and_env(runner: Runner, tmp_path: Path) -> None:
    code = "import os, sys; print('hello', os.environ['GREETING']); print('oops', file=sys.stderr); print(os.getcwd())"
    spec = launch(tmp_path, code, GREETING="world")
    handle = await runner.start(spec)
    observation = await finished(runner, handle)
    assert (observation.state, observation.exit_code, observation.started) == (
        State.EXITED,
        0,
        True,
    )
    logged = await lines(runner, handle)
    assert out(handle, "hello world") in logged
    assert out(handle, "oops", "stderr") in logged
    assert out(handle, spec.artifacts_path) in logged  # the default working directory
    assert Path(spec.artifacts_path, "outputs").is_dir()
    assert handle["image"] == "python:3.11" and handle["resources"] == {"requests": {"cpu": "1"}}


async def test_exit_code_is_reported(runner: Runner, tmp_path: Path) -> None:
    handle = await runner.start(launch(tmp_path, "import sys; print('bye'); sys.exit(3)"))
    observation = await finished(runner, handle)
    assert (observation.state, observation.exit_code) == (State.EXITED, 3)


async def test_a_command_that_cannot_start_fails_with_a_reason(
    runner: Runner, tmp_path: Path
) -> None:
    spec = launch(tmp_path, "")
    spec = Launch(**{**spec.__dict__, "command": ["definitely-not-a-command-xyz"]})
    handle = await runner.start(spec)
    observation = await finished(runner, handle)
    assert (
        observation.state == State.EXITED
        and observation.exit_code == 127
        and not observation.started
    )
    assert "definitely-not-a-command-xyz" in (observation.message or "")
    assert any("cannot start" in value for _, value in await lines(runner, handle))


async def test_stop_sends_sigterm_first(runner: Runner, tmp_path: Path) -> None:
    code = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: (print('got SIGTERM', flush=True), sys.exit(0)))\n"
        "print('waiting', flush=True)\n"
        "time.sleep(60)\n"
    )
    handle = await runner.start(launch(tmp_path, code))
    await eventually(lambda: _printed(runner, handle, "waiting"))
    assert (await runner.status(handle)).state == State.RUNNING
    await runner.stop(handle)
    observation = await finished(runner, handle)
    assert observation.exit_code == 0
    assert out(handle, "got SIGTERM") in await lines(runner, handle)


async def test_forced_stop_ends_a_run_that_ignores_sigterm(runner: Runner, tmp_path: Path) -> None:
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('stubborn', flush=True); time.sleep(60)"
    handle = await runner.start(launch(tmp_path, code))
    await eventually(lambda: _printed(runner, handle, "stubborn"))
    await runner.stop(handle)
    await __import__("asyncio").sleep(0.5)
    assert (await runner.status(handle)).state == State.RUNNING
    await runner.stop(handle, force=True)
    observation = await finished(runner, handle)
    assert observation.state in (State.GONE, State.EXITED)
    assert observation.exit_code in (None, 137)


async def test_another_runner_instance_finds_the_run_again(
    make_runner: MakeRunner, tmp_path: Path
) -> None:
    """What a restarted scheduler does: a new runner, the stored handle, the same run."""
    code = (
        "import time; print('started', flush=True); time.sleep(1.5); print('finished', flush=True)"
    )
    runner = make_runner()
    handle = await runner.start(launch(tmp_path, code))
    await runner.close()
    again = make_runner()
    await eventually(lambda: _printed(again, handle, "started"))
    assert [h["run_uuid"] for h in await again.list_active()] == [handle["run_uuid"]]
    observation = await finished(again, handle)
    assert observation.exit_code == 0
    assert out(handle, "finished") in await lines(again, handle)
    assert await again.list_active() == []


async def _printed(runner: Runner, handle: Handle, text: str) -> bool:
    return any(text in value for _, value in await lines(runner, handle))


async def _running(runner: Runner, handle: Handle) -> bool:
    return (await runner.status(handle)).state == State.RUNNING
