"""Polyaxon's own CLI and tracking client (the real `polyaxon` 2.18, unchanged, in a venv of its
own) against a Ganglion listening on a port: `ops upload` of a file and a folder, `ops artifacts`
(whole run, a file, a folder, tar kept, lineage references), the client's tree and deletes, and a
training script using `from polyaxon import tracking` inside a Ganglion-managed run. Each step
checks what Ganglion stored, not only the exit code."""

from __future__ import annotations

import io
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ganglion.client import ApiClient, GanglionError
from tests.support.live import Live, embedded
from tests.support.polyaxon import polyaxon_cli, polyaxon_python

FIXTURES = Path(__file__).parents[1] / "fixtures" / "polyaxon"
PROJECT = "streams"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    polyaxon_python()  # the venv is built once, before any timing matters
    with embedded(tmp_path_factory.mktemp("ganglion")) as server:
        with ApiClient(server.url, server.token) as api:
            api.create_project(PROJECT)
        yield server


@pytest.fixture
def api(live: Live) -> Iterator[ApiClient]:
    with ApiClient(live.url, live.token) as client:
        yield client


def polyaxon(live: Live, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = polyaxon_cli(live.url, live.token, home, *args, cwd=home, timeout=120)
    assert result.returncode == 0, f"polyaxon {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def tracking_run(api: ApiClient, name: str) -> tuple[str, str]:
    run = api.create_run(PROJECT, is_managed=False, managed_by="user", name=name)
    return run["uuid"], run["settings"]["namespace"]


def stored(api: ApiClient, namespace: str, uuid: str, route: str, **params: Any) -> Any:
    path = f"/streams/v1/{namespace}/default/{PROJECT}/runs/{uuid}/{route}"
    response = api._streams.get(path, params=params)
    response.raise_for_status()
    return response.json() if route.endswith("tree") else response.content


def workspace(root: Path) -> Path:
    (root / "folder" / "sub").mkdir(parents=True)
    (root / "one.txt").write_text("one")
    (root / "folder" / "a.txt").write_text("aaa")
    (root / "folder" / "sub" / "b.txt").write_text("bbbb")
    return root


def test_ops_upload_a_file_and_a_folder(live: Live, api: ApiClient, tmp_path: Path) -> None:
    uuid, namespace = tracking_run(api, "uploads")
    work = workspace(tmp_path)
    common = ("-p", PROJECT, "-uid", uuid)
    polyaxon(live, tmp_path, "ops", "upload", *common, "--path-from", str(work / "one.txt"),
             "--path-to", "files")  # fmt: skip
    # A folder travels as one tar.gz to POST .../artifacts, unpacked under --path-to.
    polyaxon(live, tmp_path, "ops", "upload", *common, "--path-from", str(work / "folder"),
             "--path-to", "data/set")  # fmt: skip
    polyaxon(live, tmp_path, "ops", "upload", *common, "--path-from", str(work / "folder"),
             "--path-to", "/")  # fmt: skip
    assert stored(api, namespace, uuid, "artifact", path="files/one.txt") == b"one"
    assert stored(api, namespace, uuid, "artifacts/tree", path="data/set") == {
        "files": {"a.txt": 3},
        "dirs": ["sub"],
        "is_done": True,
    }
    assert stored(api, namespace, uuid, "artifact", path="data/set/sub/b.txt") == b"bbbb"
    root = stored(api, namespace, uuid, "artifacts/tree", path="")
    assert root["files"] == {"a.txt": 3} and {"data", "files", "sub"} <= set(root["dirs"])


def test_ops_artifacts_downloads(live: Live, api: ApiClient, tmp_path: Path) -> None:
    uuid, namespace = tracking_run(api, "downloads")
    work = workspace(tmp_path / "work")
    common = ("-p", PROJECT, "-uid", uuid)
    polyaxon(live, tmp_path, "ops", "upload", *common, "--path-from", str(work / "folder"),
             "--path-to", "data")  # fmt: skip
    api.upload_artifact(namespace, PROJECT, uuid, io.BytesIO(b"w" * 5000),
                        filename="model.bin", path="outputs")  # fmt: skip
    api.log_lineage(PROJECT, uuid, [{"name": "weights", "kind": "model",
                                     "path": "outputs/model.bin", "is_input": False}])  # fmt: skip

    everything = tmp_path / "all"
    polyaxon(live, tmp_path, "ops", "artifacts", *common, "--path-to", str(everything))
    assert (everything / "data" / "a.txt").read_text() == "aaa"
    assert (everything / "data" / "sub" / "b.txt").read_text() == "bbbb"
    assert (everything / "outputs" / "model.bin").read_bytes() == b"w" * 5000

    one = tmp_path / "one"
    polyaxon(live, tmp_path, "ops", "artifacts", *common, "-f", "data/sub/b.txt",
             "--path-to", str(one))  # fmt: skip
    assert (one / "data" / "sub" / "b.txt").read_text() == "bbbb"

    folder = tmp_path / "folder"
    polyaxon(live, tmp_path, "ops", "artifacts", *common, "-d", "data/sub", "--path-to",
             str(folder))  # fmt: skip
    assert [p.name for p in (folder / "data" / "sub").iterdir()] == ["b.txt"]

    kept = tmp_path / "kept"
    polyaxon(live, tmp_path, "ops", "artifacts", *common, "-d", "data", "--no-untar",
             "--path-to", str(kept))  # fmt: skip
    with tarfile.open(kept / "data.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["a.txt", "sub/b.txt"]

    # A lineage reference of kind `model` may name a file or a folder (check_path).
    lineage = tmp_path / "lineage"
    polyaxon(live, tmp_path, "ops", "artifacts", *common, "-l-name", "weights",
             "--path-to", str(lineage))  # fmt: skip
    assert (lineage / "outputs" / "model.bin").read_bytes() == b"w" * 5000

    missing = polyaxon_cli(live.url, live.token, tmp_path, "ops", "artifacts", *common,
                           "-d", "nope", "--path-to", str(tmp_path / "nope"))  # fmt: skip
    assert "not found" in missing.stdout + missing.stderr


def test_client_tree_and_deletes(live: Live, api: ApiClient, tmp_path: Path) -> None:
    uuid, namespace = tracking_run(api, "deletes")
    work = workspace(tmp_path / "work")
    polyaxon(live, tmp_path, "ops", "upload", "-p", PROJECT, "-uid", uuid, "--path-from",
             str(work / "folder"), "--path-to", "data")  # fmt: skip
    plx = b"step|timestamp|metric\n1|2026-11-22 16:58:51.718442+00:00|0.5\n2|2026-11-22 16:58:52+00:00|0.25\n"
    api.upload_artifact(namespace, PROJECT, uuid, io.BytesIO(plx), filename="loss.plx",
                        path="events/metric")  # fmt: skip
    script = FIXTURES / "artifacts_client.py"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "POLYAXON_HOME": str(tmp_path / ".polyaxon"),
        "POLYAXON_HOST": live.url,
        "POLYAXON_AUTH_TOKEN": live.token,
    }
    result = subprocess.run(
        [str(polyaxon_python()), str(script), PROJECT, uuid],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    seen = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    assert seen["ROOT"] == "{'a.txt': 3} ['sub']"
    assert seen["SUB"] == "{'b.txt': 4} []"
    assert seen["EVENTS"] == "[('loss', [0.5, 0.25])]"
    assert uuid in seen["MULTI"]
    # What the client deleted is gone from Ganglion's store, and only that.
    assert stored(api, namespace, uuid, "artifacts/tree", path="data") == {
        "files": {},
        "dirs": [],
        "is_done": True,
    }
    assert (
        api._streams.get(
            f"/streams/v1/{namespace}/default/{PROJECT}/runs/{uuid}/artifact",
            params={"path": "data/a.txt"},
        ).status_code
        == 404
    )


def finished(api: ApiClient, uuid: str, timeout: float = 120) -> dict[str, Any]:
    """The scheduler's view once the run's process has exited: the client marks the run
    succeeded in `end()` before it syncs its files, so the run's status comes too early."""
    deadline, status = time.monotonic() + timeout, "unknown to the scheduler"
    while time.monotonic() < deadline:
        try:
            execution = api.get_execution(uuid)
        except GanglionError as exc:
            if exc.status != 404:  # 404: the submission is still on its way
                raise
            time.sleep(0.3)
            continue
        status = execution["status"]
        if status in ("succeeded", "failed", "stopped"):
            return execution
        time.sleep(0.3)
    raise AssertionError(f"run {uuid} still {status} after {timeout}s")


def test_tracking_inside_a_managed_run(live: Live, api: ApiClient) -> None:
    command = [str(polyaxon_python()), str(FIXTURES / "managed.py")]
    spec = {
        "version": 1.1,
        "kind": "component",
        "run": {"kind": "job", "container": {"image": "python:3.11", "command": command}},
    }
    uuid = api.create_run(PROJECT, spec, name="managed")["uuid"]
    execution = finished(api, uuid)
    run = api.get_run(PROJECT, uuid)
    assert (execution["status"], run["status"], run["is_managed"]) == ("succeeded",) * 2 + (True,)
    namespace = run["settings"]["namespace"]
    # The client attached to the run Ganglion started: no second run.
    attached = [x["value"] for x in api.get_logs(namespace, PROJECT, uuid)["logs"]]
    assert "ATTACHED" in attached and uuid in attached
    assert [r["uuid"] for r in api.list_runs(PROJECT, query="name:managed")["results"]] == [uuid]
    assert run["inputs"] == {"lr": 0.01}
    # log_outputs, and 2.18's promotion of each metric's last value.
    assert run["outputs"] == {"best": "third", "loss": 1 / 3, "acc": 0.8}
    metrics = api.get_metrics(namespace, PROJECT, uuid)
    assert metrics["loss"]["step"] == [1, 2, 3]
    assert metrics["loss"]["metric"] == [1.0, 0.5, 1 / 3]
    assert api.get_events(namespace, PROJECT, uuid, "text")["notes"]["text"] == [
        {"text": "managed"}
    ]
    lineage = {a["name"]: a for a in api.get_lineage(PROJECT, uuid)["results"]}
    assert lineage["weights"]["kind"] == "model"
    assert lineage["weights"]["path"] == "outputs/model.bin"
    assert lineage["loss"]["summary"]["metric"]["last"] == 1 / 3
    # System resources (collected by default, as in Polyaxon) stay apart from the metrics.
    assert set(metrics) == {"loss", "acc"}
    resources = api._streams.get(
        f"/streams/v1/{namespace}/default/{PROJECT}/runs/{uuid}/resources"
    ).json()
    assert {"cpu", "memory"} <= {series["name"].rsplit("/", 1)[-1] for series in resources["data"]}
    weights = api._streams.get(
        f"/streams/v1/{namespace}/default/{PROJECT}/runs/{uuid}/artifact",
        params={"path": "outputs/model.bin"},
    )
    assert weights.content == b"managed-weights"
