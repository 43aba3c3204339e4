"""The Python SDK against a live embedded Ganglion: tracking outside a run, and the sender."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import msgpack
import pytest

from ganglion import tracking
from ganglion.client import ApiClient, GanglionError
from ganglion.tracking.sender import BatchSender, Point, Request, Spool
from tests.support.live import Live
from tests.support.waiting import wait_until


def test_tracking_outside_a_run_creates_a_tracking_only_run(live: Live, api: ApiClient) -> None:
    run = tracking.init(project="demo", name="notebook", tags=["t1"])
    try:
        tracking.log_inputs(lr=0.1, batch=32)
        for step in range(1, 4):
            tracking.log_metrics(step=step, loss=1.0 / step, acc=0.5 + step / 10)
        tracking.log_metric("lr", 0.05, step=3)
        tracking.log_progress(0.5)
        tracking.log_tags(["t2"])
        tracking.log_outputs(loss=1 / 3)
        stored = api.get_run("demo", run.uuid)
        assert (stored["is_managed"], stored["managed_by"], stored["status"]) == (
            False,
            "user",
            "running",
        )
    finally:
        tracking.end()
    stored = api.get_run("demo", run.uuid)
    assert stored["status"] == "succeeded"
    assert stored["name"] == "notebook" and stored["tags"] == ["t1", "t2"]
    assert stored["inputs"] == {"lr": 0.1, "batch": 32} and stored["outputs"] == {"loss": 1 / 3}
    assert stored["meta_info"] == {"progress": 0.5}
    metrics = api.get_metrics(stored["settings"]["namespace"], "demo", run.uuid)
    assert metrics["loss"]["step"] == [1, 2, 3]
    assert metrics["acc"]["metric"] == pytest.approx([0.6, 0.7, 0.8])
    assert metrics["lr"]["metric"] == [0.05]


def test_init_needs_a_project(live: Live) -> None:
    with pytest.raises(ValueError, match="needs a project"):
        tracking.init(name="orphan")


def test_functions_need_init_first() -> None:
    tracking.TRACKING_RUN = None
    with pytest.raises(RuntimeError, match=r"tracking.init\(\) first"):
        tracking.log_metrics(loss=1.0)


def test_an_uncaught_exception_marks_the_run_failed(
    live: Live, api: ApiClient, tmp_path: Path
) -> None:
    script = tmp_path / "crash.py"
    script.write_text(
        "from ganglion import tracking\n"
        "run = tracking.init(project='demo', name='crash')\n"
        "print(run.uuid, flush=True)\n"
        "tracking.log_metrics(step=1, loss=2.0)\n"
        "raise SystemError('boom')\n"
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert "SystemError: boom" in result.stderr
    uuid = result.stdout.split()[0]
    stored = api.get_run("demo", uuid)
    assert stored["status"] == "failed"
    assert stored["status_conditions"][-1]["message"] == "SystemError: boom"
    # What was logged before the crash was still sent, at exit.
    assert api.get_metrics(stored["settings"]["namespace"], "demo", uuid)["loss"]["metric"] == [2.0]


def _point(i: int, name: str = "x") -> Point:
    return Point("ns/default/demo/runs/r/metrics", name, float(i), i, 1767225600.0 + i)


def _decoded(request: Request) -> dict[str, Any]:
    return dict(msgpack.unpackb(request.body))


def test_sender_batches_and_flushes(tmp_path: Path) -> None:
    batches: list[int] = []

    def send(request: Request) -> None:
        body = _decoded(request)
        batches.append(sum(len(s["values"]) for s in body["series"]))
        assert body["batch_id"]

    sender = BatchSender(send, Spool(tmp_path / "spool"), batch_size=5_000, interval=60)
    for i in range(12_000):
        sender.put(_point(i))
    assert sender.flush(timeout=10)
    assert batches == [5_000, 5_000, 2_000]
    assert sender.sent == 3 and sender.spool.pending() == []
    sender.close()


def test_sender_sends_a_partial_batch_after_the_interval(tmp_path: Path) -> None:
    sent = threading.Event()
    sender = BatchSender(lambda r: sent.set(), Spool(tmp_path), batch_size=1_000, interval=0.2)
    sender.put(_point(1))
    assert sent.wait(timeout=5)
    sender.close()


def test_sender_keeps_batches_on_disk_until_the_server_answers(tmp_path: Path) -> None:
    calls: list[str] = []
    up = threading.Event()

    def flaky(request: Request) -> None:
        calls.append(_decoded(request)["batch_id"])
        if not up.is_set():
            raise GanglionError("cannot reach Ganglion")

    spool = Spool(tmp_path / "spool")
    sender = BatchSender(flaky, spool, batch_size=10, interval=0.01, max_backoff=0.2)
    for i in range(35):
        sender.put(_point(i))
    assert not sender.flush(timeout=1)
    assert len(spool.pending()) == 4  # every batch written down before the first send
    up.set()
    assert sender.flush(timeout=10)
    assert spool.pending() == [] and sender.sent == 4 and sender.rejected == 0
    # Retried batches kept their ids: the server stores each once.
    assert len(set(calls)) == 4
    sender.close()


def test_a_later_sender_sends_what_an_earlier_one_left(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")

    def down(request: Request) -> None:
        raise GanglionError("cannot reach Ganglion")

    first = BatchSender(down, spool, interval=0.01, max_backoff=0.1)
    first.put(_point(1))
    assert not first.close(timeout=0.5)
    assert len(spool.pending()) == 1
    received: list[Request] = []
    second = BatchSender(received.append, spool, interval=0.01)
    wait_until(lambda: spool.pending() == [], timeout=10)
    assert _decoded(received[0])["series"][0]["values"] == [1.0]
    second.close()


def test_sender_sets_aside_what_the_server_refuses(tmp_path: Path) -> None:
    def refuse(request: Request) -> None:
        raise GanglionError("metrics.0.value: not a number", status=422)

    spool = Spool(tmp_path / "spool")
    sender = BatchSender(refuse, spool, interval=0.01)
    sender.put(_point(1))
    assert sender.flush(timeout=10)
    assert sender.rejected == 1 and spool.pending() == []
    assert len(list(spool.rejected.iterdir())) == 1
    sender.close()


def test_managed_run_reports_through_the_sdk(live: Live, api: ApiClient, tmp_path: Path) -> None:
    """A job Ganglion starts finds its run from the environment."""
    code = (
        "from ganglion import tracking; tracking.init(); "
        "tracking.log_metrics(step=1, loss=0.25); tracking.log_outputs(done=True); tracking.end()"
    )
    operation = {
        "kind": "component",
        "run": {
            "kind": "job",
            "container": {"image": "python", "command": ["python3", "-c", code]},
        },
    }
    uuid = api.create_run("demo", operation)["uuid"]
    wait_until(lambda: api.get_run("demo", uuid)["status"] in ("succeeded", "failed"))
    stored = api.get_run("demo", uuid)
    assert stored["status"] == "succeeded", stored["status_conditions"]
    assert stored["outputs"] == {"done": True}
    assert api.get_metrics("ganglion", "demo", uuid)["loss"]["metric"] == [0.25]
