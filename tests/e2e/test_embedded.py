"""The quick start: the example job on the embedded default, through the CLI, as a user runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganglion.client import ApiClient
from ganglion.config import load_config
from tests.e2e.processes import cli
from tests.support.live import free_port

EXAMPLE = Path(__file__).parents[2] / "examples" / "logistic-regression"


def test_example_runs_on_the_embedded_default(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    started = cli("up", "--detach", "--home", str(home), "--port", str(port))
    assert started.returncode == 0, started.stdout + started.stderr
    assert f"http://127.0.0.1:{port}" in started.stdout and "token:" in started.stdout
    try:
        assert cli("project", "create", "quickstart").returncode == 0
        submitted = cli(
            "run",
            "-f",
            "polyaxonfile.yaml",
            "-p",
            "quickstart",
            "-u",
            "-P",
            "epochs=8",
            "--watch",
            cwd=EXAMPLE,
        )
        assert submitted.returncode == 0, submitted.stdout + submitted.stderr
        uuid = submitted.stdout.split()[1]
        # `up` wrote the client config: the SDK and CLI need nothing else.
        config = load_config()
        with ApiClient(config.host, config.token) as api:
            run = api.get_run("quickstart", uuid)
            assert run["status"] == "succeeded"
            assert run["inputs"]["epochs"] == 8 and run["inputs"]["learning_rate"] == 0.5
            assert 0.8 < run["outputs"]["accuracy"] <= 1.0
            metrics = api.get_metrics(run["settings"]["namespace"], "quickstart", uuid)
            assert metrics["loss"]["step"] == list(range(1, 9))
            assert metrics["loss"]["metric"][-1] < metrics["loss"]["metric"][0]
            assert set(metrics) == {"loss", "accuracy", "val_loss", "val_accuracy"}
            lines = [
                line["value"]
                for line in api.get_logs(run["settings"]["namespace"], "quickstart", uuid)["logs"]
            ]
            assert lines[0].startswith("epoch   1") and lines[-1].startswith(
                "done: validation accuracy"
            )
        logs = cli("ops", "logs", "-p", "quickstart")
        assert "done: validation accuracy" in logs.stdout
    finally:
        stopped = cli("down", "--home", str(home))
        assert stopped.returncode == 0, stopped.stderr
    assert cli("project", "ls").returncode == 1  # it is really down


@pytest.mark.parametrize("port_in_use", [True])
def test_up_refuses_a_second_instance_on_the_same_home(tmp_path: Path, port_in_use: bool) -> None:
    home = tmp_path / "home"
    port = free_port()
    assert cli("up", "--detach", "--home", str(home), "--port", str(port)).returncode == 0
    try:
        again = cli("up", "--detach", "--home", str(home), "--port", str(free_port()))
        assert again.returncode == 2 and "already runs" in again.stderr
    finally:
        cli("down", "--home", str(home))


def test_the_quickstart_script(tmp_path: Path) -> None:
    """The README's first command, minus the install it starts with."""
    import os
    import subprocess

    repository = Path(__file__).parents[2]
    env = {**os.environ, "GANGLION_PORT": str(free_port())}
    try:
        result = subprocess.run(
            ["bash", "scripts/quickstart.sh"],
            cwd=repository,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "done: validation accuracy" in result.stdout
        assert "status: succeeded" in result.stdout
        assert "accuracy: 0." in result.stdout
    finally:
        cli("down")
