"""Metric ingest, Ganglion's tracking service against MLflow's tracking server, side by side on
this machine and the same Postgres (each in its own database):

    python -m benchmarks.tracking_ingest [--points 1000000] [--runs 8] [--mlflow-points N]

8 runs log concurrently, 5 metrics each, until 1,000,000 points are stored. Ganglion gets
batches of 12,500 points in each of its wire forms (JSON points, JSON columns, msgpack columns,
which the SDK sends); MLflow gets
its `runs/log-batch` at its cap of 1,000 metrics per request. Every request is committed before
it is answered (durable in Postgres); afterwards the stored counts are checked in the database.
Reports points/s, the ratio to MLflow, and the peak memory of each server during its ingest."""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgpack

from benchmarks._support import (
    PG_HOST,
    PG_USER,
    TOKEN,
    MemorySampler,
    Server,
    drop_database,
    fresh_database,
    ganglion_service,
    mib,
    mlflow_server,
)

METRICS = ("loss", "accuracy", "lr", "grad_norm", "val_loss")
BASE = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Result:
    name: str
    points: int
    seconds: float
    peak_rss: int
    requests: int

    @property
    def rate(self) -> float:
        return self.points / self.seconds


def _steps(run: int, batch: int, per_batch_steps: int) -> range:
    start = batch * per_batch_steps
    return range(start, start + per_batch_steps)


def ganglion_json(steps: range) -> bytes:
    points = [
        {
            "name": name,
            "value": (step % 997) / 997.0 + i,
            "step": step,
            "timestamp": (BASE + timedelta(milliseconds=step)).isoformat(),
        }
        for step in steps
        for i, name in enumerate(METRICS)
    ]
    return json.dumps({"batch_id": uuid.uuid4().hex, "metrics": points}).encode()


def _columns(steps: range) -> list[dict[str, Any]]:
    times = [BASE.timestamp() + s / 1000 for s in steps]
    return [
        {
            "name": name,
            "steps": list(steps),
            "values": [(s % 997) / 997.0 + i for s in steps],
            "timestamps": times,
        }
        for i, name in enumerate(METRICS)
    ]


def ganglion_columns(steps: range) -> bytes:
    return json.dumps({"batch_id": uuid.uuid4().hex, "series": _columns(steps)}).encode()


def ganglion_msgpack(steps: range) -> bytes:
    return msgpack.packb({"batch_id": uuid.uuid4().hex, "series": _columns(steps)})


FORMS = {
    "json": ("application/json", ganglion_json),
    "json-columns": ("application/json", ganglion_columns),
    "msgpack": ("application/msgpack", ganglion_msgpack),
}


async def _send_all(
    url: str, bodies: list[list[tuple[str, bytes, dict[str, str]]]]
) -> tuple[float, int]:
    """Post every run's bodies, the runs concurrently, each run's batches in order."""
    limits = httpx.Limits(max_connections=len(bodies) + 2)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:

        async def one_run(requests: list[tuple[str, bytes, dict[str, str]]]) -> int:
            for path, body, headers in requests:
                response = await client.post(path, content=body, headers=headers)
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
            return len(requests)

        started = time.perf_counter()
        counts = await asyncio.gather(*(one_run(r) for r in bodies))
        return time.perf_counter() - started, sum(counts)


def bench_ganglion(
    server: Server, form: str, runs: int, points: int, batch_points: int
) -> tuple[Result, list[uuid.UUID]]:
    per_run = points // runs
    steps_per_batch = batch_points // len(METRICS)
    batches = per_run // batch_points
    uuids = [uuid.uuid4() for _ in range(runs)]
    content_type, build = FORMS[form]
    headers = {"Authorization": f"Token {TOKEN}", "content-type": content_type}
    bodies = [
        [
            (
                f"/streams/v1/ganglion/default/bench/runs/{run_uuid.hex}/metrics",
                build(_steps(r, b, steps_per_batch)),
                headers,
            )
            for b in range(batches)
        ]
        for r, run_uuid in enumerate(uuids)
    ]
    stored = runs * batches * steps_per_batch * len(METRICS)
    with MemorySampler(server.process.pid) as memory:
        seconds, requests = asyncio.run(_send_all(server.url, bodies))
    return Result(f"Ganglion ({form})", stored, seconds, memory.peak, requests), uuids


async def _ganglion_stored(database: str, uuids: list[uuid.UUID]) -> tuple[int, int]:
    connection = await asyncpg.connect(host=PG_HOST, user=PG_USER, database=database)
    try:
        summaries = await connection.fetchval(
            "SELECT coalesce(sum(count), 0) FROM tracking.metric_series WHERE run_uuid = ANY($1)",
            uuids,
        )
        chunks = await connection.fetchval(
            "SELECT coalesce(sum(c.count), 0) FROM tracking.metric_chunks c "
            "JOIN tracking.metric_series s ON s.id = c.series_id WHERE s.run_uuid = ANY($1)",
            uuids,
        )
        return int(summaries), int(chunks)
    finally:
        await connection.close()


async def _mlflow_setup(url: str, runs: int) -> list[str]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        answer = await client.post(
            "/api/2.0/mlflow/experiments/create", json={"name": f"bench-{uuid.uuid4().hex[:8]}"}
        )
        answer.raise_for_status()
        experiment = answer.json()["experiment_id"]
        ids = []
        for _ in range(runs):
            created = await client.post(
                "/api/2.0/mlflow/runs/create",
                json={"experiment_id": experiment, "start_time": int(time.time() * 1000)},
            )
            created.raise_for_status()
            ids.append(created.json()["run"]["info"]["run_id"])
        return ids


def bench_mlflow(server: Server, runs: int, points: int) -> Result:
    run_ids = asyncio.run(_mlflow_setup(server.url, runs))
    batch_points = 1000  # MLflow's cap per log-batch request
    steps_per_batch = batch_points // len(METRICS)
    batches = points // runs // batch_points
    headers = {"content-type": "application/json"}
    base_ms = int(BASE.timestamp() * 1000)
    bodies = [
        [
            (
                "/api/2.0/mlflow/runs/log-batch",
                json.dumps(
                    {
                        "run_id": run_id,
                        "metrics": [
                            {
                                "key": name,
                                "value": (step % 997) / 997.0 + i,
                                "timestamp": base_ms + step,
                                "step": step,
                            }
                            for step in _steps(r, b, steps_per_batch)
                            for i, name in enumerate(METRICS)
                        ],
                    }
                ).encode(),
                headers,
            )
            for b in range(batches)
        ]
        for r, run_id in enumerate(run_ids)
    ]
    stored = runs * batches * batch_points
    with MemorySampler(server.process.pid) as memory:
        seconds, requests = asyncio.run(_send_all(server.url, bodies))
    return Result(
        f"MLflow {server.extra['version']} (log-batch)", stored, seconds, memory.peak, requests
    )


async def _mlflow_stored(database: str) -> int:
    connection = await asyncpg.connect(host=PG_HOST, user=PG_USER, database=database)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM metrics"))
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--batch", type=int, default=12_500, help="Ganglion points per request")
    parser.add_argument(
        "--mlflow-points", type=int, default=None, help="points sent to MLflow (default: --points)"
    )
    parser.add_argument("--skip-mlflow", action="store_true")
    args = parser.parse_args()
    results: list[Result] = []
    home = Path(tempfile.mkdtemp(prefix="ganglion-bench-"))
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    ours, theirs = "ganglion_bench_ingest", "mlflow_bench_ingest"
    try:
        url = fresh_database(ours)
        with ganglion_service("tracking", url, home, prefix) as tracking:
            for form in FORMS:
                result, uuids = bench_ganglion(tracking, form, args.runs, args.points, args.batch)
                summaries, chunks = asyncio.run(_ganglion_stored(ours, uuids))
                assert summaries == chunks == result.points, (summaries, chunks, result.points)
                results.append(result)
                print(f"{result.name}: {result.points:,} points stored in {result.seconds:.2f}s")
        if not args.skip_mlflow:
            mlflow_url = fresh_database(theirs)
            with mlflow_server(mlflow_url, home) as mlflow:
                result = bench_mlflow(mlflow, args.runs, args.mlflow_points or args.points)
                stored = asyncio.run(_mlflow_stored(theirs))
                assert stored == result.points, (stored, result.points)
                results.append(result)
                print(f"{result.name}: {result.points:,} points stored in {result.seconds:.2f}s")
    finally:
        drop_database(ours)
        drop_database(theirs)
    reference = next((r for r in results if r.name.startswith("MLflow")), None)
    print()
    print(f"Ingest, {args.runs} concurrent runs, durable in Postgres")
    print("| server | points | requests | seconds | points/s | vs MLflow | peak RSS (MiB) |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        ratio = f"{r.rate / reference.rate:.1f}x" if reference else "-"
        print(
            f"| {r.name} | {r.points:,} | {r.requests} | {r.seconds:.2f} | {r.rate:,.0f} | "
            f"{ratio} | {mib(r.peak_rss):.0f} |"
        )


if __name__ == "__main__":
    main()
