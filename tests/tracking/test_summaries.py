"""Metric summaries travel from tracking to the api (`tracking.metric_summary.updated`) over
RabbitMQ, coarse and throttled, and feed run search; a malformed event ends in dead letters."""

from __future__ import annotations

import httpx

from libs.common.events import Envelope
from libs.common.events.contracts import MetricSummaryUpdated
from libs.common.runtime import Runtime
from services.api.app import create_app as create_api
from services.api.settings import ApiSettings
from services.tracking.app import create_app as create_tracking
from services.tracking.settings import TrackingSettings
from tests.conftest import Infra
from tests.support.apps import publish, published, serve
from tests.support.waiting import eventually

RUNS = "/api/v1/default/demo/runs"


async def test_summaries_reach_run_search(infra: Infra) -> None:
    api_app = create_api(infra.settings(ApiSettings))
    tracking_app = create_tracking(infra.settings(TrackingSettings, summary_interval=0.2))
    async with serve(api_app) as api, serve(tracking_app) as tracking:
        await api.post("/api/v1/default/projects/create", json={"name": "demo"})
        runs = {}
        for name in ("good", "bad"):
            runs[name] = (await api.post(RUNS, json={"is_managed": False, "name": name})).json()[
                "uuid"
            ]
        for name, values in (("good", [0.9, 0.1, 0.3]), ("bad", [0.9, 0.8, 0.7])):
            base = f"/streams/v1/ganglion/default/demo/runs/{runs[name]}"
            for step, value in enumerate(values):  # three batches, summarised together
                body = {"metrics": [{"name": "loss", "value": value, "step": step}]}
                response = await tracking.post(f"{base}/metrics", json=body)
                assert response.status_code == 200, response.text

        async def found(query: str) -> list[str]:
            answer = await api.get(RUNS, params={"query": query})
            return [r["name"] for r in answer.json()["results"]]

        async def both_complete() -> bool:
            return sorted(await found("metrics.loss.count:3")) == ["bad", "good"]

        await eventually(both_complete, timeout=20)
        assert await found("metrics.loss.min:<0.2") == ["good"]
        assert await found("metrics.loss.last:0.3") == ["good"]
        assert await found("metrics.loss.max:0.9, metrics.loss:>0.5") == ["bad"]
        sorted_names = await api.get(
            RUNS, params={"query": "metrics.loss:~nil", "sort": "metrics.loss.min"}
        )
        assert [r["name"] for r in sorted_names.json()["results"]] == ["good", "bad"]


async def test_malformed_summary_events_are_dead_lettered(infra: Infra) -> None:
    app = create_api(infra.settings(ApiSettings))
    async with serve(app):
        runtime: Runtime = app.state.runtime
        await publish(
            infra,
            Envelope(
                name=MetricSummaryUpdated.NAME,
                version=1,
                subject="run:x",
                payload={"uuid": "not-a-uuid", "summaries": [{"name": "loss"}]},
            ),
        )

        async def buried() -> bool:
            return len(await runtime.bus.dead_letters("api.metric_summaries")) == 1

        await eventually(buried, timeout=15)
        assert await published(infra, "api.metric_summaries") == []


async def test_unknown_runs_are_ignored(infra: Infra) -> None:
    from datetime import UTC, datetime
    from uuid import uuid4

    from libs.common.events.contracts import MetricSummary

    app = create_api(infra.settings(ApiSettings))
    async with serve(app) as api:
        runtime: Runtime = app.state.runtime
        summary = MetricSummary(
            name="loss", count=1, min=1, max=1, last=1, last_timestamp=datetime.now(UTC)
        )
        event = MetricSummaryUpdated(uuid=uuid4(), summaries=[summary])
        await publish(infra, Envelope.wrap(event, subject=f"run:{event.uuid}"))

        async def handled() -> bool:
            return await published(infra, "api.metric_summaries") == []

        await eventually(handled)
        assert await runtime.bus.dead_letters("api.metric_summaries") == []
        assert isinstance(api, httpx.AsyncClient)
