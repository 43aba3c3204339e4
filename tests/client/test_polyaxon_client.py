"""Polyaxon's own tracking client (the real `polyaxon` 2.18 package, unchanged) against a live
Ganglion: statuses, PATCH with merge, lineage, and its `events/<kind>/*.plx` uploads read into
metric series and events."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ganglion.client import ApiClient
from tests.support.live import Live
from tests.support.polyaxon import polyaxon_python

SCRIPT = Path(__file__).parents[1] / "fixtures" / "polyaxon" / "tracked.py"


def test_polyaxon_tracking_client_works_unchanged(
    live: Live, api: ApiClient, tmp_path: Path
) -> None:
    python = polyaxon_python()
    env = {
        **os.environ,
        "POLYAXON_HOST": live.url,
        "POLYAXON_AUTH_TOKEN": live.token,
        "POLYAXON_HOME": str(tmp_path / "polyaxon-home"),
    }
    result = subprocess.run(
        [str(python), str(SCRIPT), str(tmp_path)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    uuid = next(line.split()[1] for line in result.stdout.splitlines() if line.startswith("UUID"))
    run = api.get_run("demo", uuid)
    assert (run["status"], run["is_managed"], run["name"]) == ("succeeded", False, "tracked")
    assert [c["type"] for c in run["status_conditions"]] == ["created", "running", "succeeded"]
    assert run["inputs"] == {"lr": 0.1, "batch": 32}
    assert run["tags"] == ["t1", "t2"]
    assert run["meta_info"]["progress"] == 0.5 and run["meta_info"]["has_metrics"] is True
    # 2.18 promotes each metric's last value into the outputs.
    assert run["outputs"]["acc"] == 0.8
    namespace = run["settings"]["namespace"]
    metrics = api.get_metrics(namespace, "demo", uuid)
    assert metrics["loss"]["step"] == [1, 2, 3]
    assert metrics["loss"]["metric"] == [1.0, 0.5, 1 / 3]
    assert metrics["acc"]["metric"] == [0.6, 0.7, 0.8]
    assert api.get_events(namespace, "demo", uuid, "text")["notes"]["text"] == [{"text": "hello"}]
    lineage = {a["name"]: a for a in api.get_lineage("demo", uuid)["results"]}
    assert lineage["loss"]["kind"] == "metric"
    assert lineage["loss"]["path"] == "events/metric/loss.plx"
    assert lineage["loss"]["summary"]["metric"]["last"] == 1 / 3
    assert lineage["model-file"]["kind"] == "file"
    model = api._streams.get(
        f"/streams/v1/{namespace}/default/demo/runs/{uuid}/artifact",
        params={"path": "outputs/model.txt"},
    )
    assert model.content == b"weights"
    # Ganglion's own search sees what Polyaxon's client logged.
    found = api.list_runs("demo", query="inputs.lr:0.1, tags:t2")
    assert [r["uuid"] for r in found["results"]] == [uuid]
