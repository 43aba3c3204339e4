"""What is particular to the local process runner."""

from __future__ import annotations

import os
from pathlib import Path

from services.scheduler.runners.base import State
from services.scheduler.runners.local import LocalRunner
from tests.scheduler.test_runner_conformance import _printed, finished, launch
from tests.support.waiting import eventually


async def test_a_killed_process_group_is_gone(tmp_path: Path) -> None:
    runner = LocalRunner(tmp_path / "state")
    handle = await runner.start(launch(tmp_path, "import time; time.sleep(60)"))
    await eventually(lambda: _running(runner, handle))
    os.killpg(int(handle["pid"]), 9)
    observation = await finished(runner, handle)
    assert observation.state == State.GONE
    assert "without reporting an exit code" in (observation.message or "")


async def test_runs_find_the_python_ganglion_runs_in(tmp_path: Path) -> None:
    runner = LocalRunner(tmp_path / "state")
    spec = launch(tmp_path, "")
    spec = type(spec)(
        **{**spec.__dict__, "command": ["python3", "-c", "import ganglion, sys; print(sys.prefix)"]}
    )
    handle = await runner.start(spec)
    observation = await finished(runner, handle)
    assert observation.exit_code == 0


async def test_scheduler_settings_do_not_leak_into_runs(
    tmp_path: Path, monkeypatch: object
) -> None:
    os.environ["GANGLION_API_DATABASE_URL"] = "postgresql://secret"
    try:
        runner = LocalRunner(tmp_path / "state")
        code = "import os; print(os.environ.get('GANGLION_API_DATABASE_URL', 'absent'))"
        handle = await runner.start(launch(tmp_path, code))
        await finished(runner, handle)
        assert [line.value async for line in runner.logs(handle)] == ["absent"]
    finally:
        del os.environ["GANGLION_API_DATABASE_URL"]


async def _running(runner: LocalRunner, handle: dict[str, object]) -> bool:
    return (await runner.status(handle)).state == State.RUNNING


async def test_processes_left_by_a_killed_shim_are_found_and_stopped(tmp_path: Path) -> None:
    runner = LocalRunner(tmp_path / "state")
    handle = await runner.start(
        launch(tmp_path, "import time; print('child', flush=True); time.sleep(60)")
    )
    # Once it printed: a print into the dead shim's pipe would kill it (SIGPIPE).
    await eventually(lambda: _printed(runner, handle, "child"))
    os.kill(int(handle["pid"]), 9)  # the shim only: the run's own process lives on
    observation = await finished(runner, handle)
    assert observation.state == State.GONE
    assert [h["run_uuid"] for h in await runner.list_active()] == [handle["run_uuid"]]
    await runner.stop(handle, force=True)
    await eventually(lambda: _none_active(runner))


async def _none_active(runner: LocalRunner) -> bool:
    return await runner.list_active() == []
