"""Reads at scale, against services running as their own processes on Postgres:

    python -m benchmarks.tracking_reads [--points 1000000] [--runs 100000] [--repeat 30]

1. A 1,000,000-point series is ingested, then read downsampled to 1,000 points (min/max buckets,
   extremes kept) `--repeat` times: median and p95 latency over HTTP. A full page of 100,000
   points is timed too.
2. 100,000 runs with inputs and three metric summaries each are loaded into the api's tables
   (COPY), then PQL searches with metric conditions run through `GET .../runs?query=`: median
   and p95 latency of each."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import msgpack

from benchmarks._support import (
    PG_HOST,
    PG_USER,
    TOKEN,
    drop_database,
    fresh_database,
    ganglion_service,
)

AUTH = {"Authorization": f"Token {TOKEN}"}
QUERIES = (
    ("metrics.loss:<0.1", None),
    ("metrics.loss:<0.1", "metrics.loss"),
    ("status:running|failed, metrics.loss.min:<0.05", "-created_at"),
    ("inputs.lr:<0.001 OR metrics.accuracy.max:>0.99", "-metrics.accuracy.max"),
    ("tags:baseline, metrics.val_loss.last:0.2 .. 0.3, status:~failed", None),
)


def timed(client: httpx.Client, path: str, params: dict[str, object], repeat: int) -> list[float]:
    for _ in range(3):  # warm the caches and the connection pool
        client.get(path, params=params).raise_for_status()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path, params=params)
        samples.append(time.perf_counter() - started)
        response.raise_for_status()
    return samples


def stats(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"{statistics.median(samples) * 1000:.1f} | {p95 * 1000:.1f}"


async def _track(database: str, run: uuid.UUID) -> None:
    connection = await asyncpg.connect(host=PG_HOST, user=PG_USER, database=database)
    try:
        await connection.execute(
            "INSERT INTO tracking.tracked_runs VALUES ($1, 'default', 'bench', 'ganglion', "
            "false, false, now())",
            run,
        )
    finally:
        await connection.close()


def bench_series(database: str, home: Path, points: int, repeat: int) -> list[str]:
    rows = []
    with ganglion_service(
        "tracking", fresh_database(database), home, f"b{uuid.uuid4().hex[:8]}"
    ) as tracking:
        run = uuid.uuid4()
        asyncio.run(_track(database, run))
        base = f"/streams/v1/ganglion/default/bench/runs/{run.hex}"
        random_walk = random.Random(7)
        value = 1.0
        with httpx.Client(base_url=tracking.url, headers=AUTH, timeout=120) as client:
            batch = 12_500
            for start in range(0, points, batch):
                steps = list(range(start, min(start + batch, points)))
                values = []
                for _ in steps:
                    value += random_walk.gauss(0, 0.01)
                    values.append(value)
                body = msgpack.packb(
                    {"series": [{"name": "loss", "steps": steps, "values": values}]}
                )
                client.post(
                    f"{base}/metrics", content=body, headers={"content-type": "application/msgpack"}
                ).raise_for_status()
            summary = client.get(f"{base}/metrics").json()[0]
            assert summary["count"] == points, summary
            chart = client.get(
                f"{base}/metrics/history", params={"name": "loss", "max_points": 1000}
            )
            shown = chart.json()
            assert shown["returned"] <= 1000, shown["returned"]
            assert shown["count"] == points, shown["count"]
            # The extremes survive downsampling.
            assert max(shown["value"]) == summary["max"], summary
            assert min(shown["value"]) == summary["min"], summary
            history = f"{base}/metrics/history"
            reads = (
                (
                    f"downsampled read, {points:,} points to 1,000 (`metrics/history`)",
                    history,
                    {"name": "loss", "max_points": 1000},
                    repeat,
                ),
                (
                    "same, Polyaxon's shape (`events/metric?sample=1000`)",
                    f"{base}/events/metric",
                    {"names": "loss", "sample": 1000},
                    repeat,
                ),
                (
                    "full read, one page of 100,000 points",
                    history,
                    {"name": "loss", "limit": 100_000},
                    max(5, repeat // 3),
                ),
            )
            for label, path, params, times in reads:
                rows.append(f"| {label} | {stats(timed(client, path, params, times))} |")
    return rows


async def _load_runs(database: str, project_uuid: uuid.UUID, count: int) -> None:
    rng = random.Random(11)
    connection = await asyncpg.connect(host=PG_HOST, user=PG_USER, database=database)
    try:
        now = datetime.now(UTC)
        statuses = ("succeeded", "failed", "running", "stopped")
        runs, metrics = [], []
        for i in range(count):
            run = uuid.uuid4()
            created = now - timedelta(seconds=count - i)
            status = statuses[i % 4]
            started = created + timedelta(seconds=1)
            finished = started + timedelta(seconds=60) if status != "running" else None
            conditions = json.dumps(
                [
                    {
                        "type": kind,
                        "status": True,
                        "last_update_time": moment.isoformat(),
                        "last_transition_time": moment.isoformat(),
                    }
                    for kind, moment in (("created", created), (status, started))
                ]
            )
            runs.append(
                (
                    run,
                    "default",
                    project_uuid,
                    "bench",
                    f"run-{i}",
                    None,
                    json.dumps(["baseline"] if i % 10 == 0 else []),
                    "admin",
                    "job",
                    "job",
                    True,
                    "agent",
                    None,
                    None,
                    None,
                    status,
                    conditions,
                    json.dumps({"lr": 10 ** rng.uniform(-4, -1), "batch": 32}),
                    json.dumps({}),
                    json.dumps({}),
                    json.dumps({"namespace": "ganglion"}),
                    None,
                    None,
                    None,
                    1,
                    created,
                    created,
                    started,
                    finished,
                    None,
                )
            )
            for name in ("loss", "accuracy", "val_loss"):
                last = rng.random()
                metrics.append((run, name, 1000, last * 0.5, min(1.0, last * 1.5), last, 999, now))
        columns = [
            "uuid",
            "owner",
            "project_uuid",
            "project",
            "name",
            "description",
            "tags",
            "user",
            "kind",
            "runtime",
            "is_managed",
            "managed_by",
            "pending",
            "content",
            "raw_content",
            "status",
            "status_conditions",
            "inputs",
            "outputs",
            "meta_info",
            "settings",
            "original",
            "pipeline",
            "readme",
            "submission",
            "created_at",
            "updated_at",
            "started_at",
            "finished_at",
            "schedule_at",
        ]
        await connection.copy_records_to_table(
            "runs", schema_name="api", records=runs, columns=columns
        )
        await connection.copy_records_to_table(
            "run_metrics",
            schema_name="api",
            records=metrics,
            columns=["run_uuid", "name", "count", "min", "max", "last", "last_step", "updated_at"],
        )
        await connection.execute("ANALYZE api.runs; ANALYZE api.run_metrics")
    finally:
        await connection.close()


def bench_search(database: str, home: Path, count: int, repeat: int) -> list[str]:
    rows = []
    prefix = f"b{uuid.uuid4().hex[:8]}"
    with (
        ganglion_service("api", fresh_database(database), home, prefix) as api,
        httpx.Client(base_url=api.url, headers=AUTH, timeout=120) as client,
    ):
        project = client.post("/api/v1/default/projects/create", json={"name": "bench"})
        project.raise_for_status()
        asyncio.run(_load_runs(database, uuid.UUID(project.json()["uuid"]), count))
        for query, sort in QUERIES:
            params: dict[str, object] = {"query": query, "limit": 20}
            if sort:
                params["sort"] = sort
            answer = client.get("/api/v1/default/bench/runs", params=params)
            if answer.status_code != 200:
                raise RuntimeError(f"{query}: {answer.status_code} {answer.text}")
            found = answer.json()["count"]
            label = f"`{query}`" + (f", sort `{sort}`" if sort else "")
            rows.append(
                f"| PQL over {count:,} runs: {label} ({found:,} match) | "
                + stats(timed(client, "/api/v1/default/bench/runs", params, repeat))
                + " |"
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--only", choices=["series", "search"], default=None)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="ganglion-bench-"))
    rows: list[str] = []
    try:
        if args.only in (None, "series"):
            rows += bench_series("ganglion_bench_series", home, args.points, args.repeat)
        if args.only in (None, "search"):
            rows += bench_search("ganglion_bench_search", home, args.runs, args.repeat)
    finally:
        drop_database("ganglion_bench_series")
        drop_database("ganglion_bench_search")
    print("| read | median ms | p95 ms |")
    print("|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
