"""The `ganglion` CLI: exit codes, one-line errors, and the everyday commands against a live server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ganglion.cli.main import main
from ganglion.client import ApiClient
from tests.support.live import Live, free_port
from tests.support.waiting import wait_until

EXAMPLE = Path(__file__).parents[2] / "examples" / "logistic-regression"


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "-f", "no-such-file.yaml", "-p", "demo"], "no such file"),
        (
            ["run", "-f", str(EXAMPLE / "polyaxonfile.yaml"), "-P", "epochs"],
            "-P expects name=value",
        ),
        (["ops", "ls"], "which project?"),
        (["service", "nope"], "unknown service 'nope'"),
        (["service", "api"], "needs GANGLION_RABBITMQ_URL"),
    ],
)
def test_user_errors_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = run_cli(capsys, *args)
    assert code == 2
    assert message in one_line(err)


def test_no_token_configured(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "project", "ls")
    assert code == 2
    assert "no token configured" in one_line(err)


def test_unreachable_server_exits_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GANGLION_HOST", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("GANGLION_TOKEN", "whatever-token-1234567")
    code, _, err = run_cli(capsys, "project", "ls")
    assert code == 1
    assert "cannot reach Ganglion at http://127.0.0.1:" in one_line(err)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ops", "ls", "--colour", "red"], "No such option"),
        (["run", "-p", "demo"], "Missing option '--file'"),
    ],
)
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = run_cli(capsys, *args)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_check(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run_cli(
        capsys, "check", "-f", str(EXAMPLE / "polyaxonfile.yaml"), "-P", "epochs=3"
    )
    assert code == 0 and "valid job operation 'logistic-regression'" in out
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "kind: component\ninputs: [{name: n, type: int}]\nrun: {kind: job, container: {image: x, comand: [a]}}\n"
    )
    code, _, err = run_cli(capsys, "check", "-f", str(broken))
    assert code == 2
    assert f"{broken}: component.run.container.comand: unknown field" in err
    typed = tmp_path / "typed.yaml"
    typed.write_text(
        "kind: component\ninputs: [{name: n, type: int}]\nrun: {kind: job, container: {image: x, command: [echo]}}\n"
    )
    code, _, err = run_cli(capsys, "check", "-f", str(typed), "-P", "n=three")
    assert code == 2 and "params.n: expected an int" in err
    garbage = tmp_path / "garbage.yaml"
    garbage.write_text("kind: [oops\n")
    code, _, err = run_cli(capsys, "check", "-f", str(garbage))
    assert code == 2 and "not valid YAML or JSON at line" in one_line(err)


def test_everyday_commands(live: Live, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert (
        run_cli(capsys, "project", "create", "demo", "--description", "d", "--tags", "a,b")[0] == 0
    )
    code, out, _ = run_cli(capsys, "project", "ls")
    assert code == 0 and "demo" in out
    code, _, err = run_cli(capsys, "project", "create", "demo")
    assert code == 2 and "already exists" in one_line(err)

    job = tmp_path / "job.yaml"
    job.write_text(
        "kind: component\nname: counter\ninputs: [{name: n, type: int}]\n"
        "run:\n  kind: job\n  container:\n    image: python\n"
        "    command: [python3, -c, 'import sys; [print(\"line\", i) for i in range(int(sys.argv[1]))]', '{{ n }}']\n"
    )
    code, out, _ = run_cli(capsys, "run", "-f", str(job), "-p", "demo", "-P", "n=3", "--watch")
    assert code == 0, out
    assert "succeeded" in out
    uuid = out.split()[1]

    code, out, _ = run_cli(capsys, "ops", "ls", "-p", "demo")
    assert code == 0 and uuid in out and "succeeded" in out
    code, out, _ = run_cli(capsys, "ops", "get", "-p", "demo")  # the last run by default
    assert code == 0 and f"uuid: {uuid}" in out and "n: 3" in out
    code, out, _ = run_cli(capsys, "ops", "get", "-p", "demo", "-uid", uuid, "-o", "json")
    assert json.loads(out)["inputs"] == {"n": 3}
    code, out, _ = run_cli(capsys, "ops", "statuses", "-p", "demo")
    assert [line.split()[1] for line in out.splitlines()[1:]] == [
        "created",
        "compiled",
        "queued",
        "scheduled",
        "starting",
        "running",
        "succeeded",
    ]
    code, out, _ = run_cli(capsys, "ops", "logs", "-p", "demo", "-uid", uuid)
    assert out.splitlines() == ["line 0", "line 1", "line 2"]

    code, _, err = run_cli(capsys, "run", "-f", str(job), "-p", "demo")
    assert code == 2 and "params.n: required input has no value" in one_line(err)
    code, _, err = run_cli(capsys, "ops", "get", "-p", "demo", "-uid", "0" * 32)
    assert code == 2 and "not found" in one_line(err)


def test_stop_and_follow_logs(
    live: Live, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with ApiClient(live.url, live.token) as api:
        api.create_project("demo")
    job = tmp_path / "slow.yaml"
    job.write_text(
        "kind: component\nrun:\n  kind: job\n  container:\n    image: python\n    command:\n    - python3\n    - -c\n"
        "    - |\n      import time\n      for i in range(600):\n          print('tick', i, flush=True)\n          time.sleep(0.1)\n"
    )
    code, out, _ = run_cli(capsys, "run", "-f", str(job), "-p", "demo")
    uuid = out.split()[1]
    with ApiClient(live.url, live.token) as api:
        wait_until(lambda: api.get_run("demo", uuid)["status"] == "running")
        follower = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ganglion.cli.main",
                "ops",
                "logs",
                "-p",
                "demo",
                "-uid",
                uuid,
                "--follow",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        wait_until(lambda: len(api.get_logs("ganglion", "demo", uuid)["logs"]) >= 3)
        code, out, _ = run_cli(capsys, "ops", "stop", "-p", "demo", "-uid", uuid)
        assert code == 0 and f"run {uuid}: stop requested" in out
        wait_until(lambda: api.get_run("demo", uuid)["status"] == "stopped")
        streamed, _ = follower.communicate(timeout=60)
    assert follower.returncode == 0
    assert streamed.splitlines()[0] == "tick 0"
    assert len(streamed.splitlines()) >= 3


SLOW = (
    "kind: component\nqueue: solo\nrun:\n  kind: job\n  container:\n    image: python\n"
    "    command: [python3, -c, 'import time; time.sleep(60)']\n"
)


def test_queues_quotas_and_the_lifecycle_verbs(
    live: Live, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run_cli(capsys, "project", "create", "demo")[0] == 0
    code, out, _ = run_cli(
        capsys, "queue", "create", "solo", "--concurrency", "1", "--priority", "3"
    )
    assert code == 0 and "queue solo created (priority 3, concurrency 1)" in out
    code, out, _ = run_cli(capsys, "queue", "ls")
    assert out.splitlines()[1].split() == ["solo", "3", "1"]
    code, _, err = run_cli(capsys, "queue", "update", "solo")
    assert code == 2 and "nothing to change" in one_line(err)
    code, out, _ = run_cli(
        capsys,
        "quota",
        "set",
        "--project",
        "demo",
        "--runs",
        "5",
        "--memory",
        "8Gi",
        "--share",
        "2",
    )
    assert code == 0
    code, out, _ = run_cli(capsys, "quota", "ls")
    assert out.splitlines()[1].split() == ["project", "demo", "5", "-", "8Gi", "-", "2"]
    code, _, err = run_cli(capsys, "quota", "set", "--runs", "1")
    assert code == 2 and "exactly one of --project and --user" in one_line(err)
    code, _, err = run_cli(capsys, "quota", "set", "--user", "ann", "--memory", "plenty")
    assert code == 2 and "not a Kubernetes quantity" in one_line(err)

    slow = tmp_path / "slow.yaml"
    slow.write_text(SLOW)
    first = run_cli(capsys, "run", "-f", str(slow), "-p", "demo")[1].split()[1]
    second = run_cli(capsys, "run", "-f", str(slow), "-p", "demo")[1].split()[1]
    with ApiClient(live.url, live.token) as api:
        wait_until(lambda: api.get_run("demo", first)["status"] == "running")
        wait_until(lambda: api.get_run("demo", second)["status"] == "queued")
    code, out, _ = run_cli(capsys, "ops", "get", "-p", "demo", "-uid", second)
    assert "waiting: queue 'solo' is full (1/1 running); position 1 of 1 in queue 'solo'" in out
    code, out, _ = run_cli(capsys, "ops", "stop", "-p", "demo", "-uid", first, "-uid", second)
    assert code == 0 and out.count("stop requested") == 2
    with ApiClient(live.url, live.token) as api:
        wait_until(lambda: api.get_run("demo", first)["status"] == "stopped")
        assert api.get_run("demo", second)["status"] == "stopped"
    code, out, _ = run_cli(capsys, "ops", "restart", "-p", "demo", "-uid", first, "--name", "again")
    assert code == 0 and f"as a restart of {first}" in out
    restarted = out.split()[1]
    code, out, _ = run_cli(capsys, "ops", "restart", "-p", "demo", "-uid", first, "--copy")
    assert code == 0 and "as a copy" in out
    code, out, _ = run_cli(
        capsys, "ops", "stop", "-p", "demo", "-uid", restarted, "-uid", out.split()[1]
    )
    code, _, err = run_cli(capsys, "ops", "skip", "-p", "demo", "-uid", first)
    assert code == 2 and "only a run that has not started can be skipped" in one_line(err)
    assert run_cli(capsys, "project", "create", "archive")[0] == 0
    code, out, _ = run_cli(
        capsys, "ops", "transfer", "-p", "demo", "-uid", first, "--to", "archive"
    )
    assert code == 0 and f"run {first}: moved to archive" in out
    code, out, _ = run_cli(capsys, "ops", "transfer", "-p", "archive", "-uid", first, "-to", "demo")
    assert code == 0
    with ApiClient(live.url, live.token) as api:
        assert api.get_run("demo", first)["project"] == "demo"
    code, out, _ = run_cli(capsys, "ops", "resume", "-p", "demo", "-uid", second)
    assert code == 0 and f"run {second}: compiled" in out
    run_cli(capsys, "ops", "stop", "-p", "demo", "-uid", second)
    code, out, err = run_cli(
        capsys, "ops", "delete", "-p", "demo", "-uid", first, "-uid", "0" * 32, "--yes"
    )
    assert code == 2 and f"run {first}: deleted" in out and "not found in demo: " + "0" * 32 in err
    assert run_cli(capsys, "queue", "delete", "solo")[0] == 0
    assert run_cli(capsys, "quota", "delete", "--project", "demo")[0] == 0


def test_ops_ls_searches_with_pql(
    live: Live, api: ApiClient, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, lr in (("small", 0.001), ("large", 0.1)):
        uuid = api.create_run("demo", name=name, is_managed=False)["uuid"]
        api.update_run("demo", uuid, inputs={"lr": lr})
    code, out, _ = run_cli(capsys, "ops", "ls", "-p", "demo", "-q", "inputs.lr:<0.01")
    assert code == 0 and "small" in out and "large" not in out
    code, out, _ = run_cli(capsys, "ops", "ls", "-p", "demo", "-s", "-inputs.lr")
    rows = out.splitlines()[1:3]
    assert "large" in rows[0] and "small" in rows[1]
    code, _, err = run_cli(capsys, "ops", "ls", "-p", "demo", "-q", "inputs.lr:<0.01,")
    assert code == 2
    assert "ends too early at position 16" in one_line(err)


def test_presets_saved_by_name_patch_the_operations_that_name_them(
    live: Live, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run_cli(capsys, "project", "create", "demo")[0] == 0
    preset = tmp_path / "gpu.yaml"
    preset.write_text(
        "kind: operation\nisPreset: true\ntags: [gpu]\ntermination: {maxRetries: 3}\n"
    )
    code, out, _ = run_cli(capsys, "preset", "create", "gpu", "-f", str(preset))
    assert code == 0 and "preset gpu created" in out
    code, out, _ = run_cli(capsys, "preset", "ls")
    assert out.splitlines()[1].split() == ["gpu"]
    assert "maxRetries: 3" in run_cli(capsys, "preset", "get", "gpu")[1]
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: operation\nhubRef: notify\n")
    code, _, err = run_cli(capsys, "preset", "update", "gpu", "-f", str(bad))
    assert code == 2 and "hubRef" in one_line(err) and "names no component" in err
    op = tmp_path / "op.yaml"
    op.write_text(
        "kind: operation\npresets: [gpu]\ncomponent:\n  run:\n    kind: job\n"
        "    container: {image: python, command: [python3, -c, 'print(1)']}\n"
    )
    code, out, err = run_cli(capsys, "run", "-f", str(op), "-p", "demo")
    assert code == 0, err
    with ApiClient(live.url, live.token) as api:
        [listed] = api.list_runs("demo")["results"]
        run = api.get_run("demo", listed["uuid"])
        assert run["tags"] == ["gpu"]
        assert json.loads(run["content"])["termination"]["maxRetries"] == 3
    assert run_cli(capsys, "preset", "delete", "gpu")[0] == 0
    code, _, err = run_cli(capsys, "run", "-f", str(op), "-p", "demo")
    assert code == 2 and "no preset named 'gpu'" in one_line(err)


def test_mounts_are_uploaded_into_the_run_folder_before_it_starts(
    live: Live, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli(capsys, "project", "create", "demo")[0] == 0
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.txt").write_text("from a file\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text("print('from a folder')\n")
    (tmp_path / "extra.cfg").write_text("from the command line\n")
    op = tmp_path / "op.yaml"
    op.write_text(
        "kind: operation\nmount: [data.txt:/inputs/data.txt, ./src]\ncomponent:\n  run:\n"
        "    kind: job\n    container:\n      image: python\n      command: [sh, -c, "
        "'cat inputs/data.txt && python3 src/train.py && cat conf/extra.cfg']\n"
    )
    code, out, err = run_cli(
        capsys, "run", "-f", str(op), "-p", "demo", "-m", "extra.cfg:conf/extra.cfg", "--watch"
    )
    assert code == 0, out + err
    uuid = out.split()[1]
    with ApiClient(live.url, live.token) as api:
        run = api.get_run("demo", uuid)
        assert run["status"] == "succeeded"
        logs = api.get_logs(run["settings"]["namespace"], "demo", uuid)["logs"]
        assert [line["value"] for line in logs] == [
            "from a file",
            "from a folder",
            "from the command line",
        ]
    before = len(api_runs(live))
    code, _, err = run_cli(capsys, "run", "-f", str(op), "-p", "demo", "-m", "missing.txt")
    assert code == 2 and "mount 'missing.txt': no such file or folder" in one_line(err)
    assert len(api_runs(live)) == before


def api_runs(live: Live) -> list[dict[str, object]]:
    with ApiClient(live.url, live.token) as api:
        return list(api.list_runs("demo")["results"])
