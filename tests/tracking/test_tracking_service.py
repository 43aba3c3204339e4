"""Tracking on Postgres, RabbitMQ and Redis: metrics, logs, uploads, its read model of runs."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from libs.common.events import Envelope
from libs.common.events.contracts import RunCreated, RunDeleted
from libs.common.ids import utcnow
from libs.common.logs import LogLine
from libs.common.runtime import Runtime
from services.tracking.app import create_app
from services.tracking.settings import TrackingSettings
from tests.conftest import Infra
from tests.support.apps import publish, publish_raw, serve
from tests.support.waiting import eventually


@pytest.fixture
async def tracking(infra: Infra) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    app = create_app(infra.settings(TrackingSettings, max_batch=100, logs_page=5))
    async with serve(app) as client:
        yield client, app


async def created(
    infra: Infra, client: httpx.AsyncClient, project: str = "demo"
) -> tuple[UUID, str]:
    uuid = uuid4()
    event = RunCreated(
        uuid=uuid,
        owner="default",
        project=project,
        is_managed=True,
        namespace="ganglion",
        user="admin",
        created_at=utcnow(),
    )
    await publish(infra, Envelope.wrap(event, subject=f"run:{uuid}"))
    base = f"/streams/v1/ganglion/default/{project}/runs/{uuid.hex}"

    async def known() -> bool:
        return (await client.get(f"{base}/logs")).status_code == 200

    await eventually(known)
    return uuid, base


async def test_metrics_round_trip(
    tracking: tuple[httpx.AsyncClient, FastAPI], infra: Infra
) -> None:
    client, _ = tracking
    _, base = await created(infra, client)
    points = [{"name": "loss", "value": 1.0 / (s + 1), "step": s} for s in range(10)]
    points += [{"name": "acc", "value": 0.5, "step": 1, "timestamp": "2026-01-01T00:00:00Z"}]
    response = await client.post(f"{base}/metrics", json={"metrics": points})
    assert response.json() == {"count": 11, "duplicate": False}
    data = (await client.get(f"{base}/events/metric", params={"names": "loss,acc"})).json()["data"]
    series = {s["name"]: s["data"] for s in data}
    assert series["loss"]["step"] == list(range(10))
    assert series["loss"]["metric"][-1] == pytest.approx(0.1)
    assert series["acc"]["timestamp"] == ["2026-01-01T00:00:00+00:00"]
    csv = (
        await client.get(f"{base}/events/metric", params={"names": "acc", "orient": "csv"})
    ).json()["data"][0]["data"]
    assert csv.splitlines() == ["step,timestamp,metric", "1,2026-01-01T00:00:00+00:00,0.5"]


@pytest.mark.parametrize(
    ("body", "status", "loc"),
    [
        ({"metrics": [{"name": "loss", "value": "high"}]}, 422, ["body", "metrics", 0, "value"]),
        ({"metrics": [{"name": "", "value": 1}]}, 422, ["body", "metrics", 0, "name"]),
        (
            {"metrics": [{"name": "loss", "value": 1, "step": -1}]},
            422,
            ["body", "metrics", 0, "step"],
        ),
        (
            {"metrics": [{"name": "loss", "value": float("inf")}]},
            422,
            ["body", "metrics", 0, "value"],
        ),
        ({"points": []}, 422, ["body", "metrics"]),
        ({"metrics": [{"name": "x", "value": 1}] * 101}, 413, ["body", "metrics"]),
    ],
)
async def test_bad_metric_batches(
    tracking: tuple[httpx.AsyncClient, FastAPI],
    infra: Infra,
    body: dict[str, object],
    status: int,
    loc: list[object],
) -> None:
    client, _ = tracking
    _, base = await created(infra, client)
    # json.dumps writes inf as `Infinity`, as some clients do.
    response = await client.post(
        f"{base}/metrics", content=json.dumps(body), headers={"content-type": "application/json"}
    )
    assert response.status_code == status, response.text
    assert response.json()["detail"][0]["loc"] == loc
    assert (await client.get(f"{base}/events/metric")).json()["data"] == []


async def test_logs_page_by_time_in_polyaxon_shape(
    tracking: tuple[httpx.AsyncClient, FastAPI], infra: Infra
) -> None:
    client, app = tracking
    uuid, base = await created(infra, client)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    # A runner's lines and the SDK's, interleaved in time; two share a timestamp at the page edge.
    runtime: Runtime = app.state.runtime
    store = runtime.extras["store"]
    runner_lines = [
        LogLine(timestamp=t0 + timedelta(seconds=s), value=f"runner {s}", container="main")
        for s in (0, 2, 4, 4, 6)
    ]
    await store.append_logs("demo", uuid, "main", runner_lines)  # type: ignore[attr-defined]
    sdk = [
        {"value": f"sdk {s}", "timestamp": (t0 + timedelta(seconds=s)).isoformat()}
        for s in (1, 3, 5)
    ]
    assert (await client.post(f"{base}/logs", json={"logs": sdk})).json() == {"count": 3}
    first = (await client.get(f"{base}/logs")).json()
    assert [line["value"] for line in first["logs"]] == [
        "runner 0",
        "sdk 1",
        "runner 2",
        "sdk 3",
        "runner 4",
        "runner 4",
    ]
    assert set(first["logs"][0]) == {"timestamp", "node", "pod", "container", "value"}
    second = (await client.get(f"{base}/logs", params={"last_time": first["last_time"]})).json()
    assert [line["value"] for line in second["logs"]] == ["sdk 5", "runner 6"]
    third = (await client.get(f"{base}/logs", params={"last_time": second["last_time"]})).json()
    assert third["logs"] == [] and third["last_time"] == second["last_time"]
    polyaxon_style = await client.get(
        f"{base}/logs", params={"last_time": "2026-01-01T00:00:04.000000+0000", "kind": "job"}
    )
    assert [line["value"] for line in polyaxon_style.json()["logs"]] == ["sdk 5", "runner 6"]
    bad = await client.get(f"{base}/logs", params={"last_time": "yesterday"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "last_time"]


async def test_upload_a_file_and_a_folder(
    tracking: tuple[httpx.AsyncClient, FastAPI], infra: Infra
) -> None:
    client, _ = tracking
    uuid, base = await created(infra, client)
    run_dir = infra.home / "artifacts" / "demo" / uuid.hex
    single = await client.post(
        f"{base}/artifact",
        files={"upload_file": ("model.bin", b"\x00\x01")},
        data={"path": "outputs"},
    )
    assert single.json() == {"path": "outputs/model.bin"}
    assert (run_dir / "outputs" / "model.bin").read_bytes() == b"\x00\x01"
    archive = _tar({"train.py": b"print(1)\n", "pkg/util.py": b"x = 1\n"})
    folder = await client.post(
        f"{base}/artifact",
        files={"upload_file": ("code.tar.gz", archive)},
        data={"path": "uploads", "untar": "true"},
    )
    assert folder.status_code == 200
    assert (run_dir / "uploads" / "pkg" / "util.py").read_text() == "x = 1\n"
    kept = await client.post(
        f"{base}/artifact",
        files={"upload_file": ("model.bin", b"new")},
        data={"path": "outputs", "overwrite": "false"},
    )
    assert kept.status_code == 409


async def test_paths_outside_the_run_are_refused(
    tracking: tuple[httpx.AsyncClient, FastAPI], infra: Infra, tmp_path: Path
) -> None:
    client, _ = tracking
    _, base = await created(infra, client)
    for path in ("../other-run", "../../../../etc", "/abs/../../.."):
        response = await client.post(
            f"{base}/artifact", files={"upload_file": ("x", b"x")}, data={"path": path}
        )
        assert response.status_code == 422, path
        assert response.json()["detail"][0]["type"] == "unsafe_path"
    escaping = _tar({"../../escaped.txt": b"gotcha"})
    response = await client.post(
        f"{base}/artifact",
        files={"upload_file": ("e.tar.gz", escaping)},
        data={"path": "uploads", "untar": "true"},
    )
    assert response.status_code == 422
    assert not any(infra.home.rglob("escaped.txt"))
    broken = await client.post(
        f"{base}/artifact",
        files={"upload_file": ("b.tar.gz", b"not a tarball")},
        data={"untar": "true"},
    )
    assert broken.status_code == 422 and broken.json()["detail"][0]["type"] == "invalid_archive"


async def test_unknown_mismatched_and_deleted_runs(
    tracking: tuple[httpx.AsyncClient, FastAPI], infra: Infra
) -> None:
    client, _ = tracking
    unknown = await client.get(f"/streams/v1/ganglion/default/demo/runs/{uuid4().hex}/logs")
    assert unknown.status_code == 404
    uuid, base = await created(infra, client)
    wrong_project = await client.get(f"/streams/v1/ganglion/default/other/runs/{uuid.hex}/logs")
    assert wrong_project.status_code == 404 and wrong_project.json()["detail"][0]["loc"] == [
        "path",
        "project",
    ]
    wrong_namespace = await client.get(f"/streams/v1/elsewhere/default/demo/runs/{uuid.hex}/logs")
    assert wrong_namespace.status_code == 404
    await client.post(f"{base}/metrics", json={"metrics": [{"name": "loss", "value": 1}]})
    await client.post(
        f"{base}/artifact", files={"upload_file": ("f", b"x")}, data={"path": "outputs"}
    )
    await publish(
        infra,
        Envelope.wrap(
            RunDeleted(uuid=uuid, owner="default", project="demo"), subject=f"run:{uuid}"
        ),
    )

    async def gone() -> bool:
        return (await client.get(f"{base}/logs")).status_code == 410

    await eventually(gone)
    late = await client.post(f"{base}/metrics", json={"metrics": [{"name": "loss", "value": 2}]})
    assert late.status_code == 410
    assert not (infra.home / "artifacts" / "demo" / uuid.hex).exists()
    assert (await client.get(f"{base}/events/text")).status_code == 410
    malformed = await client.get("/streams/v1/ganglion/default/demo/runs/nope/logs")
    assert malformed.status_code == 422


async def test_writes_before_the_creation_event_are_kept(
    tracking: tuple[httpx.AsyncClient, FastAPI], infra: Infra
) -> None:
    """The api commits, then tells tracking: a client may write in between."""
    client, _ = tracking
    uuid = uuid4()
    base = f"/streams/v1/ganglion/default/demo/runs/{uuid.hex}"
    assert (
        await client.post(f"{base}/metrics", json={"metrics": [{"name": "loss", "value": 1}]})
    ).status_code == 200
    event = RunCreated(
        uuid=uuid,
        owner="default",
        project="demo",
        is_managed=False,
        namespace="ganglion",
        user="admin",
        created_at=utcnow(),
    )
    await publish(infra, Envelope.wrap(event, subject=f"run:{uuid}"))

    async def readable() -> bool:
        return (await client.get(f"{base}/events/metric")).status_code == 200

    await eventually(readable)
    assert (await client.get(f"{base}/events/metric")).json()["data"][0]["data"]["metric"] == [1.0]


async def test_tokens_announced_by_the_api_are_accepted(
    tracking: tuple[httpx.AsyncClient, FastAPI], infra: Infra
) -> None:
    from libs.common.auth import hash_token
    from libs.common.events.contracts import TokenCreated

    client, _ = tracking
    _, base = await created(infra, client)
    other = "another-token-abcdefghijklmnop"
    assert (
        await client.get(f"{base}/logs", headers={"Authorization": f"Token {other}"})
    ).status_code == 401
    event = TokenCreated(token_id=uuid4(), username="admin", token_hash=hash_token(other))
    await publish(infra, Envelope.wrap(event, subject="token:x"))

    async def accepted() -> bool:
        return (
            await client.get(f"{base}/logs", headers={"Authorization": f"Token {other}"})
        ).status_code == 200

    await eventually(accepted)


async def test_broken_events_end_in_dead_letters(
    tracking: tuple[httpx.AsyncClient, FastAPI], infra: Infra
) -> None:
    _, app = tracking
    runtime: Runtime = app.state.runtime
    await publish_raw(infra, "api", RunCreated.routing_key(), b"garbage")
    await publish(
        infra, Envelope(name="api.run.deleted", version=1, subject="run:x", payload={"owner": "o"})
    )

    async def buried() -> bool:
        created_dead = await runtime.bus.dead_letters("tracking.run_created")
        deleted_dead = await runtime.bus.dead_letters("tracking.run_deleted")
        return len(created_dead) == 1 and len(deleted_dead) == 1

    await eventually(buried, timeout=15)


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
