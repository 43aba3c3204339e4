"""Metric ingest and reads at the tracking service, on Postgres, RabbitMQ and Redis: every wire
form, idempotent batches, limits, summaries, downsampling that keeps extremes, paging,
multi-run reads, concurrent writers, rich events."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import msgpack
import pytest
from fastapi import FastAPI

from services.tracking.app import create_app
from services.tracking.settings import TrackingSettings
from tests.conftest import Infra
from tests.support.apps import serve
from tests.tracking.test_tracking_service import created


@pytest.fixture
async def tracking(infra: Infra) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    app = create_app(infra.settings(TrackingSettings, max_batch=20_000, max_batch_bytes=2 << 20))
    async with serve(app) as client:
        yield client, app


Tracking = tuple[httpx.AsyncClient, FastAPI]


async def summaries(client: httpx.AsyncClient, base: str) -> dict[str, dict[str, object]]:
    response = await client.get(f"{base}/metrics")
    assert response.status_code == 200, response.text
    return {s["name"]: s for s in response.json()}


async def test_every_wire_form(tracking: Tracking, infra: Infra) -> None:
    client, _ = tracking
    _, base = await created(infra, client)
    ndjson = "\n".join(
        json.dumps({"name": "loss", "value": 1.0 / (s + 1), "step": s}) for s in range(5)
    )
    response = await client.post(
        f"{base}/metrics", content=ndjson, headers={"content-type": "application/x-ndjson"}
    )
    assert response.json() == {"count": 5, "duplicate": False}
    packed = msgpack.packb(
        {"series": [{"name": "acc", "steps": [0, 1, 2], "values": [0.1, 0.5, 0.4]}]}
    )
    response = await client.post(
        f"{base}/metrics", content=packed, headers={"content-type": "application/msgpack"}
    )
    assert response.json()["count"] == 3
    columns = {
        "series": [
            {
                "name": "lr",
                "values": [0.1, 0.01],
                "steps": [1, 2],
                "timestamps": [1767225600.0, 1767225601.5],
            }
        ]
    }
    assert (await client.post(f"{base}/metrics", json=columns)).json()["count"] == 2
    found = await summaries(client, base)
    assert found["loss"]["count"] == 5 and found["loss"]["last"] == pytest.approx(0.2)
    assert (found["acc"]["min"], found["acc"]["max"], found["acc"]["last"]) == (0.1, 0.5, 0.4)
    assert found["lr"]["last_timestamp"] == "2026-01-01T00:00:01.500000+00:00"
    events = (await client.get(f"{base}/events/metric", params={"names": "lr"})).json()["data"]
    assert events[0]["data"]["timestamp"] == [
        "2026-01-01T00:00:00+00:00",
        "2026-01-01T00:00:01.500000+00:00",
    ]


async def test_a_retried_batch_is_stored_once(tracking: Tracking, infra: Infra) -> None:
    client, _ = tracking
    _, base = await created(infra, client)
    batch = {"batch_id": "b-1", "metrics": [{"name": "loss", "value": 0.5, "step": 1}]}
    first, again = await asyncio.gather(
        client.post(f"{base}/metrics", json=batch), client.post(f"{base}/metrics", json=batch)
    )
    assert sorted([first.json()["duplicate"], again.json()["duplicate"]]) == [False, True]
    header = await client.post(
        f"{base}/metrics",
        json={"metrics": [{"name": "loss", "value": 0.5, "step": 1}]},
        headers={"x-batch-id": "b-1"},
    )
    assert header.json() == {"count": 1, "duplicate": True}
    assert (await summaries(client, base))["loss"]["count"] == 1


@pytest.mark.parametrize(
    ("content", "content_type", "status", "loc"),
    [
        (b"\x81\xa3bad", "application/msgpack", 422, ["body"]),
        (
            msgpack.packb({"metrics": [{"name": "x"}]}),
            "application/msgpack",
            422,
            ["body", "metrics", 0, "value"],
        ),
        (
            b'{"name": "x", "value": 1}\n{"name": "x"}',
            "application/x-ndjson",
            422,
            ["body", 1, "value"],
        ),
        (b"<xml/>", "text/xml", 415, ["header", "content-type"]),
        (
            json.dumps({"series": [{"name": "x", "values": [1, 2], "steps": [1]}]}).encode(),
            "application/json",
            422,
            ["body", "series", 0, "steps"],
        ),
        (
            json.dumps({"series": [{"name": "x", "values": [1.0] * 20_001}]}).encode(),
            "application/json",
            413,
            ["body", "series"],
        ),
        (b"{" + b" " * (3 << 20) + b"}", "application/json", 413, ["body"]),
        (
            b'{"metrics": [{"name": "x", "value": NaN}]}',
            "application/json",
            422,
            ["body", "metrics", 0, "value"],
        ),
        (b'{"batch_id": "", "metrics": []}', "application/json", 422, ["body", "batch_id"]),
    ],
)
async def test_bad_batches_store_nothing(
    tracking: Tracking,
    infra: Infra,
    content: bytes,
    content_type: str,
    status: int,
    loc: list[object],
) -> None:
    client, _ = tracking
    _, base = await created(infra, client)
    response = await client.post(
        f"{base}/metrics", content=content, headers={"content-type": content_type}
    )
    assert response.status_code == status, response.text
    assert response.json()["detail"][0]["loc"] == loc
    assert await summaries(client, base) == {}


async def test_histories_downsample_keeping_extremes_and_page(
    tracking: Tracking, infra: Infra
) -> None:
    client, _ = tracking
    _, base = await created(infra, client)
    rng = random.Random(3)
    values = [rng.uniform(-1, 1) for _ in range(50_000)]
    values[31_337] = 42.0  # one spike
    values[7] = -42.0  # one dip
    for start in range(0, 50_000, 20_000):
        chunk = values[start : start + 20_000]
        body = {
            "series": [
                {"name": "loss", "values": chunk, "steps": list(range(start, start + len(chunk)))}
            ]
        }
        # Out of order on purpose: the series is read back in step order.
        assert (await client.post(f"{base}/metrics", json=body)).status_code == 200
    chart = (
        await client.get(f"{base}/metrics/history", params={"name": "loss", "max_points": 500})
    ).json()
    assert chart["count"] == 50_000 and chart["returned"] <= 500 and chart["downsampled"]
    assert 42.0 in chart["value"] and -42.0 in chart["value"]
    assert chart["step"] == sorted(chart["step"]) and chart["step"][0] == 0
    assert chart["step"][-1] == 49_999
    sampled = (
        await client.get(f"{base}/events/metric", params={"names": "loss", "sample": 100})
    ).json()["data"][0]["data"]
    assert len(sampled["metric"]) <= 100 and max(sampled["metric"]) == 42.0
    pages, after = [], None
    while True:
        params: dict[str, object] = {"name": "loss", "limit": 15_000}
        if after is not None:
            params["after_step"] = after
        page = (await client.get(f"{base}/metrics/history", params=params)).json()
        pages.append(page["value"])
        after = page["next_after_step"]
        if after is None:
            break
    assert [v for page in pages for v in page] == values
    missing = await client.get(f"{base}/metrics/history", params={"name": "nope"})
    assert missing.status_code == 404 and missing.json()["detail"][0]["loc"] == ["query", "name"]
    bad = await client.get(f"{base}/metrics/history", params={"name": "loss", "max_points": 2})
    assert bad.status_code == 422


async def test_concurrent_writers_to_one_run(tracking: Tracking, infra: Infra) -> None:
    client, _ = tracking
    _, base = await created(infra, client)

    async def writer(offset: int) -> None:
        for round_ in range(5):
            steps = list(range(offset * 1000 + round_ * 100, offset * 1000 + round_ * 100 + 100))
            body = {
                "series": [
                    {"name": name, "steps": steps, "values": [float(s) for s in steps]}
                    for name in ("b", "a", "c")
                ]
            }
            response = await client.post(f"{base}/metrics", json=body)
            assert response.status_code == 200, response.text

    await asyncio.gather(*(writer(i) for i in range(6)))
    found = await summaries(client, base)
    for name in ("a", "b", "c"):
        assert found[name]["count"] == 3000
        assert found[name]["min"] == 0.0 and found[name]["max"] == 5499.0
        assert found[name]["last"] == 5499.0 and found[name]["last_step"] == 5499
    history = (await client.get(f"{base}/metrics/history", params={"name": "a"})).json()
    assert history["step"] == sorted(history["step"]) and len(set(history["step"])) == 3000


async def test_multi_run_reads(tracking: Tracking, infra: Infra) -> None:
    client, _ = tracking
    first, base1 = await created(infra, client)
    second, base2 = await created(infra, client)
    await client.post(
        f"{base1}/metrics", json={"metrics": [{"name": "loss", "value": 1, "step": 0}]}
    )
    await client.post(
        f"{base2}/metrics", json={"metrics": [{"name": "loss", "value": 2, "step": 0}]}
    )
    multi = "/streams/v1/ganglion/default/demo/runs/multi/events/metric"
    data = (
        await client.get(multi, params={"runs": f"{first.hex},{second.hex}", "names": "loss"})
    ).json()["data"]
    assert data[first.hex][0]["data"]["metric"] == [1.0]
    assert data[second.hex][0]["data"]["metric"] == [2.0]
    bad = await client.get(multi, params={"runs": "nope"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "runs"]
    unknown = await client.get(multi, params={"runs": uuid4().hex})
    assert unknown.status_code == 404


async def test_rich_events(tracking: Tracking, infra: Infra) -> None:
    client, _ = tracking
    _, base = await created(infra, client)
    events = [
        {"kind": "text", "name": "notes", "step": 1, "value": {"text": "hello"}},
        {
            "kind": "histogram",
            "name": "w",
            "step": 1,
            "value": {"values": [0, 1, 2], "counts": [3, 4]},
        },
        {
            "kind": "confusion",
            "name": "cm",
            "value": {"x": ["a", "b"], "y": ["a", "b"], "z": [[1, 0], [0, 1]]},
        },
        {"kind": "curve", "name": "roc", "value": {"x": [0, 1], "y": [0, 1]}},
    ]
    packed = msgpack.packb({"events": events})
    response = await client.post(
        f"{base}/events", content=packed, headers={"content-type": "application/msgpack"}
    )
    assert response.json() == {"count": 4}
    text = (await client.get(f"{base}/events/text")).json()["data"][0]
    assert text["name"] == "notes" and text["data"]["text"] == [{"text": "hello"}]
    histogram = (await client.get(f"{base}/events/histogram")).json()["data"][0]["data"]
    assert histogram["histogram"][0]["counts"] == [3, 4]
    bad = await client.post(
        f"{base}/events", json={"events": [{"kind": "image", "name": "x", "value": {}}]}
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "events", 0]
    unknown = await client.get(f"{base}/events/sound")
    assert unknown.status_code == 400 and unknown.json()["detail"][0]["loc"] == ["path", "kind"]


async def test_resources_are_their_own_series(tracking: Tracking, infra: Infra) -> None:
    client, _ = tracking
    _, base = await created(infra, client)
    points = [
        {"name": "resources/cpu_percent", "value": 50, "step": 0},
        {"name": "loss", "value": 1, "step": 0},
    ]
    await client.post(f"{base}/metrics", json={"metrics": points})
    resources = (await client.get(f"{base}/resources")).json()["data"]
    assert [s["name"] for s in resources] == ["resources/cpu_percent"]
    metrics = (await client.get(f"{base}/events/metric")).json()["data"]
    assert [s["name"] for s in metrics] == ["loss"]
