"""Each service its own OS process over Postgres, RabbitMQ and Redis: the example end to end,
and a scheduler killed while runs are in flight."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ganglion.client import ApiClient
from tests.conftest import TOKEN, Infra
from tests.e2e.processes import Service, cli
from tests.support.live import free_port
from tests.support.waiting import wait_until

EXAMPLE = Path(__file__).parents[2] / "examples" / "logistic-regression"


class Platform:
    def __init__(self, infra: Infra, logs: Path) -> None:
        self.api = Service("api", free_port(), infra.env("api"), logs / "api.log")
        self.tracking = Service(
            "tracking", free_port(), infra.env("tracking"), logs / "tracking.log"
        )
        scheduler_env = infra.env("scheduler") | {
            "GANGLION_SCHEDULER_RUN_API_URL": self.api.url,
            "GANGLION_SCHEDULER_RUN_STREAMS_URL": self.tracking.url,
            "GANGLION_SCHEDULER_POLL_INTERVAL": "0.2",
            "GANGLION_SCHEDULER_CLAIM_TIMEOUT": "3",
        }
        self.scheduler = Service("scheduler", free_port(), scheduler_env, logs / "scheduler.log")
        self.client_env = {
            "GANGLION_HOST": self.api.url,
            "GANGLION_STREAMS_HOST": self.tracking.url,
            "GANGLION_TOKEN": TOKEN,
        }

    def client(self) -> ApiClient:
        return ApiClient(self.api.url, TOKEN, streams_host=self.tracking.url)

    def stop(self) -> None:
        for service in (self.scheduler, self.tracking, self.api):
            service.stop()


@pytest.fixture
def platform(infra: Infra, tmp_path: Path) -> Iterator[Platform]:
    running = Platform(infra, tmp_path)
    try:
        for service in (running.api, running.tracking, running.scheduler):
            service.start()
        yield running
    finally:
        running.stop()


def test_example_end_to_end_across_processes(platform: Platform) -> None:
    with platform.client() as api:
        api.create_project("demo")
    submitted = cli(
        "run",
        "-f",
        "polyaxonfile.yaml",
        "-p",
        "demo",
        "-u",
        "-P",
        "epochs=5",
        "--watch",
        cwd=EXAMPLE,
        env=platform.client_env,
    )
    assert submitted.returncode == 0, (
        submitted.stdout + submitted.stderr + platform.scheduler.log.read_text()[-2000:]
    )
    uuid = submitted.stdout.split()[1]
    with platform.client() as api:
        run = api.get_run("demo", uuid)
        assert run["status"] == "succeeded"
        assert [c["type"] for c in run["status_conditions"]] == [
            "created",
            "compiled",
            "queued",
            "scheduled",
            "starting",
            "running",
            "succeeded",
        ]
        assert api.get_metrics("ganglion", "demo", uuid)["accuracy"]["step"] == [1, 2, 3, 4, 5]
        lines = [line["value"] for line in api.get_logs("ganglion", "demo", uuid)["logs"]]
        assert lines[-1].startswith("done: validation accuracy")


TICKS = """kind: component
inputs: [{name: ticks, type: int}]
run:
  kind: job
  container:
    image: python
    command:
    - python3
    - -c
    - |
      import sys, time
      for i in range(int(sys.argv[1])):
          print("tick", i, flush=True)
          time.sleep(0.1)
      print("finished", flush=True)
    - "{{ ticks }}"
"""


def ticking(ticks: int) -> dict[str, object]:
    return {
        "kind": "operation",
        "params": {"ticks": {"value": ticks}},
        "component": yaml.safe_load(TICKS),
    }


def test_runs_survive_a_scheduler_crash(platform: Platform) -> None:
    with platform.client() as api:
        api.create_project("demo")
        short = api.create_run("demo", ticking(15))["uuid"]
        long = api.create_run("demo", ticking(60))["uuid"]
        for uuid in (short, long):
            wait_until(lambda uuid=uuid: api.get_run("demo", uuid)["status"] == "running")
        platform.scheduler.kill()
        # While it is down: the short run ends, the long one keeps going.
        time.sleep(2.5)
        assert api.get_run("demo", short)["status"] == "running"
        platform.scheduler.start()
        for uuid, ticks in ((short, 15), (long, 60)):
            wait_until(
                lambda uuid=uuid: api.get_run("demo", uuid)["status"] in ("succeeded", "failed"),
                timeout=60,
            )
            run = api.get_run("demo", uuid)
            assert run["status"] == "succeeded", run["status_conditions"]
            statuses = [c["type"] for c in run["status_conditions"]]
            assert statuses.count("running") == 1 and statuses[-1] == "succeeded"
            lines = [line["value"] for line in api.get_logs("ganglion", "demo", uuid)["logs"]]
            assert lines == [f"tick {i}" for i in range(ticks)] + ["finished"]


def test_a_stop_reaches_a_run_across_processes(platform: Platform) -> None:
    with platform.client() as api:
        api.create_project("demo")
        uuid = api.create_run("demo", ticking(600))["uuid"]
        wait_until(lambda: api.get_run("demo", uuid)["status"] == "running")
        api.stop_run("demo", uuid)
        wait_until(lambda: api.get_run("demo", uuid)["status"] == "stopped", timeout=30)
        statuses = [c["type"] for c in api.get_run("demo", uuid)["status_conditions"]]
        assert statuses[-2:] == ["stopping", "stopped"]
