"""Run search with PQL (`GET .../runs?query=&sort=`) on Postgres and on SQLite (embedded), with
metric summaries fed by `tracking.metric_summary.updated` events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI

from libs.common.events import Envelope
from libs.common.events.contracts import MetricSummary, MetricSummaryUpdated
from libs.common.runtime import Runtime
from services.api.app import create_app
from services.api.settings import ApiSettings
from tests.conftest import Infra
from tests.support.apps import serve
from tests.support.waiting import eventually

RUNS = "/api/v1/default/demo/runs"


@pytest.fixture(params=["postgres", "sqlite"])
async def searchable(
    request: pytest.FixtureRequest, infra: Infra
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """Five runs with inputs, outputs, tags, statuses and metric summaries."""
    app = create_app(infra.settings(ApiSettings, backend=request.param))
    async with serve(app) as client:
        assert (
            await client.post("/api/v1/default/projects/create", json={"name": "demo"})
        ).status_code == 200
        runs: dict[str, str] = {}
        specs: list[tuple[str, dict[str, Any]]] = [
            ("alpha", {"tags": ["baseline", "cnn"], "inputs": {"lr": 0.1, "opt": "sgd"}}),
            ("beta", {"tags": ["cnn"], "inputs": {"lr": 0.01, "opt": "adam"}}),
            ("gamma", {"tags": ["rnn"], "inputs": {"lr": 0.001, "opt": "adam", "deep": True}}),
            ("delta", {"tags": [], "inputs": {"lr": "auto"}, "outputs": {"acc": 0.9}}),
            ("epsilon-2", {"tags": ["baseline"], "inputs": {}}),
        ]
        for name, fields in specs:
            created = await client.post(
                RUNS, json={"is_managed": False, "name": name, "tags": fields["tags"]}
            )
            uuid = created.json()["uuid"]
            runs[name] = uuid
            patch = {k: v for k, v in fields.items() if k in ("inputs", "outputs")}
            if patch:
                await client.patch(f"{RUNS}/{uuid}", json={**patch, "merge": True})
        for name in ("alpha", "beta"):
            await client.post(
                f"{RUNS}/{runs[name]}/statuses", json={"condition": {"type": "running"}}
            )
        await client.post(
            f"{RUNS}/{runs['alpha']}/statuses", json={"condition": {"type": "succeeded"}}
        )
        await client.post(
            f"{RUNS}/{runs['gamma']}/statuses", json={"condition": {"type": "failed"}}
        )
        losses = {"alpha": (0.05, 0.5, 0.02), "beta": (0.3, 0.9, 0.25), "gamma": (0.08, 2.0, 0.01)}
        await _summaries(app, runs, losses)

        async def arrived() -> bool:
            found = await client.get(RUNS, params={"query": "metrics.loss:~nil"})
            return found.json()["count"] == 3

        await eventually(arrived, timeout=15)
        yield client, runs


async def _summaries(
    app: FastAPI, runs: dict[str, str], losses: dict[str, tuple[float, float, float]]
) -> None:
    runtime: Runtime = app.state.runtime
    for name, (last, high, low) in losses.items():
        uuid = UUID(runs[name])
        summary = MetricSummary(
            name="loss",
            count=100,
            min=low,
            max=high,
            last=last,
            last_step=99,
            last_timestamp=datetime.now(UTC),
        )
        event = MetricSummaryUpdated(uuid=uuid, summaries=[summary])
        await runtime.bus.publish(Envelope.wrap(event, subject=f"run:{uuid}"))


async def names(client: httpx.AsyncClient, query: str, sort: str | None = None) -> list[str]:
    params = {"query": query, "limit": 100}
    if sort:
        params["sort"] = sort
    response = await client.get(RUNS, params=params)
    assert response.status_code == 200, response.text
    return [r["name"] for r in response.json()["results"]]


QUERIES: list[tuple[str, set[str]]] = [
    ("status:running", {"beta"}),
    ("status:running|failed", {"beta", "gamma"}),
    ("status:~created", {"alpha", "beta", "gamma"}),
    ("status:succeeded OR status:failed", {"alpha", "gamma"}),
    ("status:running | status:failed", {"beta", "gamma"}),
    ("tags:cnn", {"alpha", "beta"}),
    ("tags:cnn, tags:baseline", {"alpha"}),
    ("tags:rnn|baseline", {"alpha", "gamma", "epsilon-2"}),
    ("tags:nil", {"delta"}),
    ("name:%ta", {"beta", "delta"}),
    ("name:epsilon-2", {"epsilon-2"}),
    ("name:e%", {"epsilon-2"}),
    ("inputs.lr:<0.05", {"beta", "gamma"}),
    ("inputs.lr:0.1", {"alpha"}),
    ("inputs.lr:auto", {"delta"}),
    ("in.opt:adam", {"beta", "gamma"}),
    ("params.opt:~adam", {"alpha", "delta", "epsilon-2"}),
    ("inputs.deep:true", {"gamma"}),
    ("inputs.lr:nil", {"epsilon-2"}),
    ("outputs.acc:>=0.9", {"delta"}),
    ("metrics.loss:<0.1", {"alpha", "gamma"}),
    ("metrics.loss.last:<0.1", {"alpha", "gamma"}),
    ("metrics.loss.max:>1", {"gamma"}),
    ("metrics.loss.min:0.01 .. 0.02", {"alpha", "gamma"}),
    ("metrics.loss:nil", {"delta", "epsilon-2"}),
    ("metrics.loss.count:100", {"alpha", "beta", "gamma"}),
    ("(status:running OR tags:rnn), metrics.loss.max:>0.8", {"beta", "gamma"}),
    ("status:failed OR tags:cnn, metrics.loss:<0.1", {"alpha", "gamma"}),
    ("started_at:~nil", {"alpha", "beta"}),
    ("finished_at:nil", {"beta", "delta", "epsilon-2"}),
    ("created_at:>2020-01-01", {"alpha", "beta", "gamma", "delta", "epsilon-2"}),
    ("created_at:<2020-01-01 10:00", set()),
    ("duration:>=0", {"alpha"}),
    ("kind:nil, user:admin", {"alpha", "beta", "gamma", "delta", "epsilon-2"}),
]


async def test_queries(searchable: tuple[httpx.AsyncClient, dict[str, str]]) -> None:
    client, _ = searchable
    wrong = {}
    for query, expected in QUERIES:
        found = set(await names(client, query))
        if found != expected:
            wrong[query] = (found, expected)
    assert wrong == {}


async def test_uuid_and_counts(searchable: tuple[httpx.AsyncClient, dict[str, str]]) -> None:
    client, runs = searchable
    assert await names(client, f"uuid:{runs['beta']}") == ["beta"]
    response = await client.get(RUNS, params={"query": "tags:cnn", "limit": 1})
    assert response.json()["count"] == 2 and len(response.json()["results"]) == 1
    assert "query=tags" in response.json()["next"]


SORTS: list[tuple[str, list[str]]] = [
    ("metrics.loss", ["alpha", "gamma", "beta"]),
    ("-metrics.loss.max", ["gamma", "beta", "alpha"]),
    ("inputs.lr", ["gamma", "beta", "alpha"]),
    ("name", ["alpha", "beta", "delta", "epsilon-2", "gamma"]),
    ("-name", ["gamma", "epsilon-2", "delta", "beta", "alpha"]),
]


async def test_sorts(searchable: tuple[httpx.AsyncClient, dict[str, str]]) -> None:
    client, _ = searchable
    for sort, expected in SORTS:
        found = await names(client, "user:admin", sort)
        assert found[: len(expected)] == expected, sort


BAD: list[tuple[str, int, str, str]] = [
    ("status:running,", 15, "", "expected '(' or a field name"),
    ("colour:red", 0, "colour", "unknown field 'colour'"),
    ("status:runing", 7, "runing", "'runing' at position 7 is not a status"),
    ("metrics.loss:<low", 14, "low", "is not a number"),
    ("(status:running", 15, "", "expected ')'"),
    ("status:running)", 14, ")", "unexpected ')'"),
    ("created_at:>yesterday", 12, "yesterday", "is not a date"),
    ("uuid:nope", 5, "nope", "is not a uuid"),
    ("tags:a, metrics.loss:%x", 21, "%x", "metrics compare with"),
]


async def test_bad_queries_point_at_the_token(
    searchable: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    client, _ = searchable
    for query, position, token, says in BAD:
        response = await client.get(RUNS, params={"query": query})
        assert response.status_code == 400, (query, response.text)
        detail = response.json()["detail"][0]
        assert detail["loc"] == ["query", "query"] and detail["type"] == "invalid_query"
        assert says in detail["msg"], (query, detail)
        assert detail["ctx"] == {"position": position, "token": token}, (query, detail)


async def test_bad_sorts(searchable: tuple[httpx.AsyncClient, dict[str, str]]) -> None:
    client, _ = searchable
    response = await client.get(RUNS, params={"sort": "-colour"})
    assert response.status_code == 400
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["query", "sort"] and detail["ctx"]["token"] == "colour"


async def test_summaries_keep_the_larger_count_and_follow_deletion(
    infra: Infra,
) -> None:
    app = create_app(infra.settings(ApiSettings))
    async with serve(app) as client:
        await client.post("/api/v1/default/projects/create", json={"name": "demo"})
        uuid = (await client.post(RUNS, json={"is_managed": False, "name": "r"})).json()["uuid"]
        runs = {"r": uuid}
        await _summaries(app, runs, {"r": (0.5, 0.5, 0.5)})
        await eventually(lambda: _found(client, "metrics.loss:0.5"))
        # An older summary (count 10 < 100) arriving late changes nothing.
        runtime: Runtime = app.state.runtime
        stale = MetricSummary(
            name="loss", count=10, min=9, max=9, last=9, last_timestamp=datetime.now(UTC)
        )
        await runtime.bus.publish(
            Envelope.wrap(
                MetricSummaryUpdated(uuid=UUID(uuid), summaries=[stale]), subject=f"run:{uuid}"
            )
        )
        unknown = MetricSummaryUpdated(uuid=UUID(int=7), summaries=[stale])
        await runtime.bus.publish(Envelope.wrap(unknown, subject="run:x"))
        await _summaries(app, runs, {"r": (0.5, 0.7, 0.4)})
        await eventually(lambda: _found(client, "metrics.loss.max:0.7"))
        assert await _found(client, "metrics.loss:0.5")
        assert (await client.delete(f"{RUNS}/{uuid}")).status_code == 204
        assert (await client.get(RUNS, params={"query": "metrics.loss:~nil"})).json()["count"] == 0


async def _found(client: httpx.AsyncClient, query: str) -> bool:
    return bool((await client.get(RUNS, params={"query": query})).json()["count"])
