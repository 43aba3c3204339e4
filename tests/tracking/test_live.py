"""Live streams: pub/sub conformance (Redis and in-process), and Server-Sent Events of metrics and
logs where the write lands on one tracking replica and the stream is served by another."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from libs.common.pubsub import LocalPubSub, PubSub, RedisPubSub
from services.tracking.app import create_app
from services.tracking.settings import TrackingSettings
from tests.conftest import AUTH, Infra
from tests.support.live import free_port, serving
from tests.tracking.test_tracking_service import created


@pytest.fixture(params=["redis", "local"])
async def pubsub(request: pytest.FixtureRequest, infra: Infra) -> AsyncIterator[PubSub]:
    bus: PubSub = (
        RedisPubSub(infra.redis_url, prefix=infra.prefix)
        if request.param == "redis"
        else LocalPubSub()
    )
    yield bus
    await bus.close()


async def test_pubsub_conformance(pubsub: PubSub) -> None:
    assert await pubsub.listeners("run:x") == 0
    await pubsub.publish("run:x", b"nobody hears this")
    async with pubsub.subscribe("run:x") as first, pubsub.subscribe("run:x") as second:
        assert await pubsub.listeners("run:x") == 2
        await pubsub.publish("run:x", b"one")
        await pubsub.publish("run:y", b"elsewhere")
        assert await first.get(5) == b"one"
        assert await second.get(5) == b"one"
        assert await first.get(0.2) is None
    assert await pubsub.listeners("run:x") == 0


async def _next_data(lines: AsyncIterator[str]) -> tuple[str | None, object]:
    event = None
    async for line in lines:
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            return event, json.loads(line.split(":", 1)[1])
    raise AssertionError("the stream ended")


async def test_streams_are_served_by_any_replica(infra: Infra) -> None:
    settings = infra.settings(TrackingSettings)
    ports = free_port(), free_port()
    with serving(create_app(settings), ports[0]), serving(create_app(settings), ports[1]):
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        async with (
            httpx.AsyncClient(base_url=urls[0], headers=AUTH, timeout=30) as reader,
            httpx.AsyncClient(base_url=urls[1], headers=AUTH, timeout=30) as writer,
        ):
            _, base = await created(infra, reader)
            await writer.post(f"{base}/logs", json={"logs": [{"value": "before"}]})
            async with reader.stream("GET", f"{base}/metrics/stream") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                lines = stream.aiter_lines()
                assert await anext(lines) == ": subscribed"
                points = [{"name": "loss", "value": 0.5, "step": 3}]
                await writer.post(f"{base}/metrics", json={"metrics": points})
                event, data = await _next_data(lines)
                assert event == "metrics"
                assert data == {
                    "loss": {"step": [3], "timestamp": data["loss"]["timestamp"], "metric": [0.5]}  # type: ignore[index]
                }
            async with reader.stream("GET", f"{base}/logs/stream", params={"poll": 5}) as stream:
                lines = stream.aiter_lines()
                event, data = await _next_data(lines)
                assert event == "log" and data["value"] == "before"  # type: ignore[index]
                await writer.post(f"{base}/logs", json={"logs": [{"value": "after"}]})
                event, data = await _next_data(lines)
                assert event == "log" and data["value"] == "after"  # type: ignore[index]
            never = await reader.get(f"{base}/metrics/stream", params={"keepalive": 0})
            assert never.status_code == 422
            assert never.json()["detail"][0]["loc"] == ["query", "keepalive"]
            bad = await reader.get(f"{base}/logs/stream", params={"last_time": "soon"})
            assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == [
                "query",
                "last_time",
            ]
