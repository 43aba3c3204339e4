"""The SDK's tracking calls end to end: rich events, artifacts, models, lineage, resources (on the
embedded server), and a client that keeps logging while tracking restarts (on Postgres,
RabbitMQ and Redis) loses nothing and stores nothing twice."""

from __future__ import annotations

import asyncio
import io
import tarfile
import time
from pathlib import Path
from typing import Any

from ganglion import tracking
from ganglion.client import ApiClient
from ganglion.tracking.run import Run
from services.api.app import create_app as create_api
from services.api.settings import ApiSettings
from services.tracking.app import create_app as create_tracking
from services.tracking.settings import TrackingSettings
from tests.conftest import TOKEN, Infra
from tests.support.live import Live, free_port, serving
from tests.support.waiting import wait_until


def test_rich_logging_artifacts_and_lineage(live: Live, api: ApiClient, tmp_path: Path) -> None:
    run = tracking.init(project="demo", name="rich", collect_resources=True, resources_interval=0.1)
    model = tmp_path / "model.pt"
    model.write_bytes(b"weights")
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.csv").write_text("x\n1\n")
    (data / "sub" / "b.csv").write_text("y\n2\n")
    image = tmp_path / "sample.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    try:
        tracking.log_text("notes", "first epoch", step=1)
        tracking.log_histogram("weights", [0.1, 0.2, 0.2, 0.9], bins=2, step=1)
        tracking.log_confusion_matrix("cm", ["a", "b"], ["a", "b"], [[5, 1], [0, 4]], step=1)
        tracking.log_curve("roc", [0, 0.5, 1], [0, 0.8, 1], annotation="auc=0.9")
        tracking.log_image(image, step=1)
        tracking.log_metrics(step=1, loss=0.5)
        assert tracking.log_artifact(data, name="dataset") == "outputs/data"
        assert tracking.log_model(model, framework="torch") == "outputs/models/model.pt"
        assert tracking.log_env() == "env.json"
        wait_until(lambda: run._resources is not None and run._resources.samples >= 2, timeout=10)
    finally:
        tracking.end()
    namespace = api.get_run("demo", run.uuid)["settings"]["namespace"]
    text = api.get_events(namespace, "demo", run.uuid, "text")
    assert text["notes"]["text"] == [{"text": "first epoch"}]
    histogram = api.get_events(namespace, "demo", run.uuid, "histogram")["weights"]
    assert histogram["histogram"][0]["counts"] == [3, 1]
    assert api.get_events(namespace, "demo", run.uuid, "confusion")["cm"]["confusion"][0]["z"] == [
        [5.0, 1.0],
        [0.0, 4.0],
    ]
    assert api.get_events(namespace, "demo", run.uuid, "curve")["roc"]["curve"][0][
        "annotation"
    ] == ("auc=0.9")
    images = api.get_events(namespace, "demo", run.uuid, "image")["sample"]["image"]
    stored = api.streams(
        "GET",
        f"{namespace}/default/demo/runs/{run.uuid}/artifacts/tree",
        params={"path": "assets/image/sample"},
    )
    assert images == [{"path": "assets/image/sample/1.png"}] and stored["files"] == {"1.png": 12}
    lineage = {a["name"]: a for a in api.get_lineage("demo", run.uuid)["results"]}
    assert lineage["dataset"]["kind"] == "dir" and lineage["dataset"]["summary"]["files"] == 2
    assert lineage["model"]["kind"] == "model"
    assert lineage["model"]["summary"] == {"size": 7, "framework": "torch"}
    assert lineage["env"]["path"] == "env.json"
    tree = api.streams(
        "GET",
        f"{namespace}/default/demo/runs/{run.uuid}/artifacts/tree",
        params={"path": "outputs/data"},
    )
    assert tree["files"] == {"a.csv": 4} and tree["dirs"] == ["sub"]
    resources = api.streams("GET", f"{namespace}/default/demo/runs/{run.uuid}/resources")["data"]
    assert {"resources/cpu_percent", "resources/memory_rss_mb"} <= {s["name"] for s in resources}
    folder = api._streams.get(
        f"/streams/v1/{namespace}/default/demo/runs/{run.uuid}/artifacts",
        params={"path": "outputs/data"},
    )
    with tarfile.open(fileobj=io.BytesIO(folder.content), mode="r:gz") as archive:
        assert sorted(archive.getnames()) == ["a.csv", "sub/b.csv"]


def _restart_scenario(
    infra: Infra, api_settings: ApiSettings, tracking_settings: TrackingSettings
) -> dict[str, Any]:
    api_port, tracking_port = free_port(), free_port()
    api_url, tracking_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{tracking_port}"
    with serving(create_api(api_settings), api_port):
        client = ApiClient(api_url, TOKEN, streams_host=tracking_url)
        client.create_project("demo")
        tracking_server = serving(create_tracking(tracking_settings), tracking_port)
        tracking_server.__enter__()
        run = Run(project="demo", client=client, batch_size=100, flush_interval=0.05)
        down_at, up_at, total = 600, 1400, 2000
        for step in range(total):
            run.log_metric("loss", float(step), step=step)
            if step == down_at:
                tracking_server.__exit__(None, None, None)
            if step == up_at:
                waiting_while_down = len(run._sender.spool.pending())
                tracking_server = serving(create_tracking(tracking_settings), tracking_port)
                tracking_server.__enter__()
            time.sleep(0.001)
        run.end(timeout=60)
        try:
            history = client.streams(
                "GET",
                f"{run.namespace}/default/demo/runs/{run.uuid}/metrics/history",
                params={"name": "loss"},
            )
        finally:
            tracking_server.__exit__(None, None, None)
        spooled = run._sender.spool.pending()
        client.close()
    return {
        "history": history,
        "spooled": spooled,
        "total": total,
        "waiting_while_down": waiting_while_down,
    }


async def test_logging_through_a_tracking_restart_loses_nothing(
    infra: Infra, tmp_path: Path
) -> None:
    api_settings = infra.settings(ApiSettings)
    tracking_settings = infra.settings(TrackingSettings)
    outcome = await asyncio.to_thread(_restart_scenario, infra, api_settings, tracking_settings)
    history = outcome["history"]
    assert outcome["waiting_while_down"] > 0  # the server really was away
    assert outcome["spooled"] == []
    assert history["count"] == outcome["total"], history["count"]
    assert history["step"] == list(range(outcome["total"]))
