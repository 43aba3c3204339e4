"""Polyaxon's own CLI (the real `polyaxon` 2.18, unchanged, as a subprocess) against a Ganglion
started by the test: every step checks what Ganglion stored, not only the exit code. One Ganglion
serves the module; each test works in a project of its own."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from ganglion.client import ApiClient, GanglionError
from tests.support.live import Live, embedded
from tests.support.polyaxon import polyaxon_cli, polyaxon_python
from tests.support.waiting import wait_until

FIXTURES = Path(__file__).parents[1] / "fixtures" / "polyaxon"
DONE = {"succeeded", "failed", "stopped", "skipped", "upstream_failed"}


@dataclass
class Polyaxon:
    live: Live
    api: ApiClient
    work: Path

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = polyaxon_cli(self.live.url, self.live.token, self.work, *args, cwd=self.work)
        if ok:
            assert done.returncode == 0, f"polyaxon {' '.join(args)}:\n{done.stdout}{done.stderr}"
        return done

    def submit(self, project: str, *args: str) -> str:
        """`polyaxon run -f ...`; the new run's uuid, as the CLI prints it."""
        out = self("run", "-p", project, *args).stdout
        found = re.search(r"@([0-9a-f]{32})", out)
        assert found, out
        return found.group(1)

    def python(self, code: str) -> subprocess.CompletedProcess[str]:
        """Polyaxon's Python client, in its own venv, with the CLI's environment."""
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.work),
            "POLYAXON_HOME": str(self.work / ".polyaxon"),
            "POLYAXON_HOST": self.live.url,
            "POLYAXON_AUTH_TOKEN": self.live.token,
            "POLYAXON_NO_OP": "false",
        }
        done = subprocess.run(
            [str(polyaxon_python()), "-c", code],
            env=env,
            cwd=self.work,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    def status(self, project: str, uuid: str) -> str:
        return str(self.api.get_run(project, uuid)["status"])

    def wait_for(self, project: str, uuid: str, *statuses: str, timeout: float = 60) -> str:
        return wait_until(
            lambda: (s := self.status(project, uuid)) in statuses and s, timeout=timeout
        )


@pytest.fixture(scope="module")
def polyaxon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Polyaxon]:
    polyaxon_python()  # the venv, created once, before any timing matters
    home = tmp_path_factory.mktemp("ganglion")
    # The CLI caches the last project and run in its working folder: a copy, not the fixtures.
    work = tmp_path_factory.mktemp("polyaxon-work")
    for source in FIXTURES.glob("*.yaml"):
        shutil.copy(source, work / source.name)
    with embedded(home) as live, ApiClient(live.url, live.token) as api:
        yield Polyaxon(live, api, work)


def conditions(run: dict[str, Any]) -> list[str]:
    return [c["type"] for c in run["status_conditions"]]


def test_version_check_reads_installation_and_compatibility(polyaxon: Polyaxon) -> None:
    out = polyaxon("version", "--check").stdout
    installation = polyaxon.api.installation()
    assert installation["key"] in out and installation["dist"] == "ce"
    assert '"latest":"2.18.0"' in out.replace(" ", "")
    # The CLI stored what the server answered; it is not upgrading or complaining.
    assert "no longer supported" not in out and "ahead of" not in out


def test_project_create_ls_get_update_delete(polyaxon: Polyaxon) -> None:
    polyaxon("project", "create", "--name", "catalog", "--description", "d", "--tags", "a,b")
    stored = polyaxon.api.get_project("catalog")
    assert (stored["description"], stored["tags"], stored["is_public"]) == ("d", ["a", "b"], False)

    listed = polyaxon("project", "ls").stdout
    assert "catalog" in listed and f"count {polyaxon.api.list_projects()['count']}" in listed

    got = polyaxon("project", "get", "-p", "catalog").stdout
    assert "d" in got and stored["uuid"] in got.replace("\n", "")

    polyaxon("project", "update", "-p", "catalog", "--description", "renewed")
    assert polyaxon.api.get_project("catalog")["description"] == "renewed"

    polyaxon("project", "delete", "-p", "catalog", "--yes")
    with pytest.raises(GanglionError) as gone:
        polyaxon.api.get_project("catalog")
    assert gone.value.status == 404


def test_run_with_params_then_ls_get_statuses_and_logs(polyaxon: Polyaxon) -> None:
    polyaxon("project", "create", "--name", "counting")
    uuid = polyaxon.submit(
        "counting",
        *("-f", "local-job.yaml", "-P", "word=hello", "-P", "steps=4"),
        *("--name", "first", "--tags", "x,y", "--description", "counting"),
    )
    polyaxon.wait_for("counting", uuid, *DONE)
    run = polyaxon.api.get_run("counting", uuid)
    assert run["status"] == "succeeded", run["status_conditions"]
    assert (run["name"], run["tags"], run["description"]) == ("first", ["x", "y"], "counting")
    # -P values arrive as strings and are cast to the component's input types.
    assert run["inputs"] == {"word": "hello", "steps": 4, "pause": 0.0}
    assert run["settings"]["namespace"] and run["kind"] == "job"
    other = polyaxon.submit("counting", "-f", "local-job.yaml", "-P", "word=other", "-P", "steps=1")
    polyaxon.wait_for("counting", other, *DONE)

    listed = polyaxon("ops", "ls", "-p", "counting", "-q", "name:first", "-s", "-created_at")
    assert uuid in listed.stdout
    assert "other" not in listed.stdout and "count 1" in listed.stdout
    everything = polyaxon("ops", "ls", "-p", "counting", "-s", "created_at", "-l", "1").stdout
    assert "count 2" in everything and "first" in everything and "other" not in everything
    second_page = polyaxon(
        "ops", "ls", "-p", "counting", "-s", "created_at", "-l", "1", "-off", "1"
    )
    assert other in second_page.stdout and uuid not in second_page.stdout

    got = polyaxon("ops", "get", "-p", "counting", "-uid", uuid).stdout
    assert "counting" in got and "hello" in got and "succeeded" in got

    statuses = polyaxon("ops", "statuses", "-p", "counting", "-uid", uuid).stdout
    assert "Latest status: succeeded" in statuses
    for condition in conditions(run):
        assert condition in statuses

    logs = polyaxon("ops", "logs", "-p", "counting", "-uid", uuid).stdout
    stored = polyaxon.api.get_logs(run["settings"]["namespace"], "counting", uuid)["logs"]
    expected = [line["value"] for line in stored]
    assert expected == [*(f"hello step {i}" for i in range(1, 5)), "hello done"]
    printed = [line.split(" | ", 1)[1] for line in logs.splitlines() if " | " in line]
    assert printed == expected


def test_logs_follow_a_running_run_to_its_end(polyaxon: Polyaxon) -> None:
    polyaxon("project", "create", "--name", "follow")
    uuid = polyaxon.submit(
        "follow", "-f", "local-job.yaml", "-P", "word=live", "-P", "steps=6", "-P", "pause=0.4"
    )
    logs = polyaxon("ops", "logs", "-p", "follow", "-uid", uuid).stdout
    # The CLI returned only once the run was done, with every line it printed on the way.
    assert polyaxon.status("follow", uuid) == "succeeded"
    printed = [line.split(" | ", 1)[1] for line in logs.splitlines() if " | " in line]
    assert printed == [*(f"live step {i}" for i in range(1, 7)), "live done"]


def test_stop_restart_copy_resume_and_bulk_stop(polyaxon: Polyaxon) -> None:
    polyaxon("project", "create", "--name", "lifecycle")
    slow = ("-f", "local-job.yaml", "-P", "word=slow", "-P", "steps=600", "-P", "pause=0.1")
    uuid = polyaxon.submit("lifecycle", *slow)
    polyaxon.wait_for("lifecycle", uuid, "running")
    polyaxon("ops", "stop", "-p", "lifecycle", "-uid", uuid, "--yes")
    polyaxon.wait_for("lifecycle", uuid, "stopped")

    restarted = polyaxon("ops", "restart", "-p", "lifecycle", "-uid", uuid).stdout
    restart = re.search(r"restarted with uid ([0-9a-f]{32})", restarted)
    assert restart, restarted
    run = polyaxon.api.get_run("lifecycle", restart.group(1))
    assert run["original"] == {"uuid": uuid, "name": run["original"]["name"], "kind": "restart"}
    assert run["inputs"]["steps"] == 600

    copied = polyaxon("ops", "restart", "--copy", "-p", "lifecycle", "-uid", uuid).stdout
    copy = re.search(r"copied with uid ([0-9a-f]{32})", copied)
    assert copy, copied
    assert polyaxon.api.get_run("lifecycle", copy.group(1))["original"]["kind"] == "copy"

    # Resume reuses the stopped run's record and starts it again.
    resumed = polyaxon("ops", "resume", "-p", "lifecycle", "-uid", uuid).stdout
    assert f"resumed with uid {uuid}" in resumed
    polyaxon.wait_for("lifecycle", uuid, "running")
    history = conditions(polyaxon.api.get_run("lifecycle", uuid))
    assert "resuming" in history[history.index("stopped") :]

    # Polyaxon's Python client stops several at once.
    others = [uuid, restart.group(1), copy.group(1)]
    polyaxon.python(
        "from polyaxon.client import ProjectClient\n"
        f"ProjectClient(owner='default', project='lifecycle').stop_runs({others!r})\n"
    )
    for other in others:
        polyaxon.wait_for("lifecycle", other, "stopped")


def test_update_approve_skip_and_delete(polyaxon: Polyaxon) -> None:
    polyaxon("project", "create", "--name", "manage")
    waiting = polyaxon.submit("manage", "-f", "local-job.yaml", "-P", "word=a", "--approved=false")
    run = polyaxon.api.get_run("manage", waiting)
    assert (run["status"], run["pending"], run["is_approved"]) == ("compiled", "approval", False)

    polyaxon(
        "ops", "update", "-p", "manage", "-uid", waiting,
        *("--name", "renamed", "--tags", "z", "--description", "newdesc"),
    )  # fmt: skip
    run = polyaxon.api.get_run("manage", waiting)
    assert (run["name"], run["description"]) == ("renamed", "newdesc")
    assert "z" in run["tags"]

    polyaxon("ops", "approve", "-p", "manage", "-uid", waiting)
    assert polyaxon.wait_for("manage", waiting, *DONE) == "succeeded"

    skipped = polyaxon.submit("manage", "-f", "local-job.yaml", "-P", "word=b", "--approved=false")
    polyaxon("ops", "skip", "-p", "manage", "-uid", skipped, "--yes")
    assert polyaxon.status("manage", skipped) == "skipped"

    polyaxon("ops", "delete", "-p", "manage", "-uid", skipped, "--yes")
    with pytest.raises(GanglionError) as gone:
        polyaxon.api.get_run("manage", skipped)
    assert gone.value.status == 404


def test_bulk_operations_of_the_python_client(polyaxon: Polyaxon) -> None:
    polyaxon("project", "create", "--name", "bulk")
    job = ("-f", "local-job.yaml", "-P", "word=bulk", "--approved=false")
    first, second, third = (polyaxon.submit("bulk", *job) for _ in range(3))
    polyaxon.python(
        "from polyaxon.client import ProjectClient\n"
        "client = ProjectClient(owner='default', project='bulk')\n"
        f"client.tag_runs({[first, second]!r}, tags=['swept', 'bulk'])\n"
        f"client.approve_runs({[first]!r})\n"
        f"client.skip_runs({[second]!r})\n"
    )
    assert polyaxon.wait_for("bulk", first, *DONE) == "succeeded"
    assert polyaxon.status("bulk", second) == "skipped"
    assert {"swept", "bulk"} <= set(polyaxon.api.get_run("bulk", first)["tags"])
    assert "swept" not in polyaxon.api.get_run("bulk", third)["tags"]
    polyaxon.python(
        "from polyaxon.client import ProjectClient\n"
        f"ProjectClient(owner='default', project='bulk').delete_runs({[second, third]!r})\n"
    )
    assert [r["uuid"] for r in polyaxon.api.list_runs("bulk")["results"]] == [first]


def test_ops_transfer_moves_a_finished_run_with_its_logs(polyaxon: Polyaxon) -> None:
    polyaxon("project", "create", "--name", "stay")
    polyaxon("project", "create", "--name", "elsewhere")
    uuid = polyaxon.submit("stay", "-f", "local-job.yaml", "-P", "word=moved")
    polyaxon.wait_for("stay", uuid, "succeeded")
    waiting = polyaxon.submit("stay", "-f", "local-job.yaml", "-P", "word=t", "--approved=false")
    refused = polyaxon(
        "ops", "transfer", "-p", "stay", "-uid", waiting, "-to", "elsewhere", ok=False
    )
    assert "only a finished run can be transferred" in " ".join(refused.stdout.split())
    assert polyaxon.api.get_run("stay", waiting)["project"] == "stay"

    polyaxon("ops", "transfer", "-p", "stay", "-uid", uuid, "-to", "elsewhere")
    run = polyaxon.api.get_run("elsewhere", uuid)
    assert run["project"] == "elsewhere"
    assert [r["uuid"] for r in polyaxon.api.list_runs("elsewhere")["results"]] == [uuid]
    # Tracking moves the logs and artifacts when the event reaches it; then they are served
    # under the new project, through Polyaxon's CLI too.
    namespace = run["settings"]["namespace"]
    logs = wait_until(
        lambda: polyaxon.api.get_logs(namespace, "elsewhere", uuid)["logs"], timeout=30
    )
    assert [line["value"] for line in logs][-1] == "moved done"
    printed = polyaxon("ops", "logs", "-p", "elsewhere", "-uid", uuid).stdout
    assert "moved done" in printed
    assert not (polyaxon.live.home / "artifacts" / "stay" / uuid).exists()


@pytest.mark.parametrize(
    ("polyaxonfile", "kind", "service"),
    [("grid.yaml", "matrix", "optimizer"), ("dag.yaml", "dag", "pipelines")],
)
def test_sweeps_and_dags_wait_compiled_with_a_reason(
    polyaxon: Polyaxon, polyaxonfile: str, kind: str, service: str
) -> None:
    project = f"waiting-{kind}"
    polyaxon("project", "create", "--name", project)
    uuid = polyaxon.submit(project, "-f", polyaxonfile)
    run = polyaxon.api.get_run(project, uuid)
    assert run["status"] == "compiled"
    last = run["status_conditions"][-1]
    assert last["reason"] == "NoController" and service in last["message"]
    assert json.loads(run["content"])[kind if kind == "matrix" else "run"]["kind"] in {
        "grid",
        "dag",
    }
    statuses = " ".join(polyaxon("ops", "statuses", "-p", project, "-uid", uuid).stdout.split())
    assert "Latest status: compiled" in statuses and "NoController" in statuses
    assert polyaxon.api.list_runs(project)["count"] == 1  # no trials or steps were started


SHARED = Path(__file__).parents[1] / "fixtures" / "polyaxonfiles"


@pytest.mark.parametrize(
    ("polyaxonfile", "params", "inputs"),
    [
        ("01-simple-job.yaml", [], {}),
        ("02-job-with-inputs.yaml", ["-P", "epochs=3", "-P", "dropout=0.5"], None),
        ("09-schedule-cron-dag.yaml", [], None),
    ],
)
def test_the_shared_polyaxonfiles_the_cli_reads_offline_are_accepted_as_written(
    polyaxon: Polyaxon, polyaxonfile: str, params: list[str], inputs: dict[str, Any] | None
) -> None:
    """Polyaxon's quick-start files (those without a urlRef the CLI would fetch from GitHub):
    submitted unchanged, with -P, they are stored compiled with their inputs cast. They need the
    quick-start image and a git clone to run to the end, so each is stopped once stored."""
    project = "shared-" + polyaxonfile.split("-")[0]
    polyaxon("project", "create", "--name", project)
    shutil.copy(SHARED / polyaxonfile, polyaxon.work / polyaxonfile)
    uuid = polyaxon.submit(project, "-f", polyaxonfile, *params)
    run = polyaxon.api.get_run(project, uuid)
    source = (SHARED / polyaxonfile).read_text()
    compiled = json.loads(run["content"])
    assert compiled["kind"] == "compiled_operation"
    written = yaml.safe_load(source)
    assert run["name"] == (written.get("name") or written.get("component", {}).get("name"))
    if polyaxonfile.startswith("02"):
        assert run["inputs"]["epochs"] == 3 and run["inputs"]["dropout"] == 0.5
        assert run["inputs"]["learning_rate"] == 0.001  # the input's default
    elif inputs is not None:
        assert run["inputs"] == inputs
    if polyaxonfile.startswith("09"):
        assert compiled["schedule"]["kind"] == "cron" and run["status"] == "compiled"
    polyaxon("ops", "stop", "-p", project, "-uid", uuid, "--yes")
    polyaxon.wait_for(project, uuid, *DONE)
