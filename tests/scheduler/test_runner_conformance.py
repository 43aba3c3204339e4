"""The Runner contract, for every runner (the local process runner here; Kubernetes and Docker
runners join the parametrisation when they exist)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import pytest

from services.scheduler.runners.base import Handle, Launch, Observation, Runner, State
from services.scheduler.runners.local import LocalRunner
from tests.support.waiting import eventually

RUNNERS: dict[str, Callable[[Path], Runner]] = {
    "local": lambda tmp: LocalRunner(tmp / "runner-state")
}


@pytest.fixture(params=sorted(RUNNERS))
def runner(request: pytest.FixtureRequest, tmp_path: Path) -> Runner:
    return RUNNERS[request.param](tmp_path)


def launch(tmp_path: Path, code: str, **env: str) -> Launch:
    uuid = uuid4()
    return Launch(
        run_uuid=uuid,
        owner="default",
        project="demo",
        namespace="ganglion",
        command=[sys.executable, "-c", code],
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
    return [(line.stream, line.value) async for line in runner.logs(handle)]


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
    assert ("stdout", "hello world") in logged
    assert ("stderr", "oops") in logged
    assert ("stdout", spec.artifacts_path) in logged  # the default working directory
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
    assert ("stdout", "got SIGTERM") in await lines(runner, handle)


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


async def test_another_runner_instance_finds_the_run_again(runner: Runner, tmp_path: Path) -> None:
    """What a restarted scheduler does: a new runner, the stored handle, the same run."""
    code = (
        "import time; print('started', flush=True); time.sleep(1.5); print('finished', flush=True)"
    )
    handle = await runner.start(launch(tmp_path, code))
    await runner.close()
    again = RUNNERS[handle["runner"]](tmp_path)
    await eventually(lambda: _printed(again, handle, "started"))
    assert [h["run_uuid"] for h in await again.list_active()] == [handle["run_uuid"]]
    observation = await finished(again, handle)
    assert observation.exit_code == 0
    assert ("stdout", "finished") in await lines(again, handle)
    assert await again.list_active() == []


async def _printed(runner: Runner, handle: Handle, text: str) -> bool:
    return any(text in value for _, value in await lines(runner, handle))


async def _running(runner: Runner, handle: Handle) -> bool:
    return (await runner.status(handle)).state == State.RUNNING
