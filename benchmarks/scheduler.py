"""Scheduler benchmark: `python -m benchmarks.scheduler [--jobs 1000]`.

1. A scheduling decision with 10,000 runs queued across 20 projects: the pure decision alone,
   and a real dispatcher round (reading the state from Postgres, then deciding).
2. Submit-to-starting overhead on the local runner, beyond the time to start the process.
3. N trivial local jobs from submit to all succeeded (embedded default: SQLite, in-process bus).
Prints its figures; docs/benchmarks.md records them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from pydantic import SecretStr
from sqlalchemy import insert, text

from ganglion.embedded import PathRouter
from libs.common.bus.memory import InMemoryBus
from libs.common.coordination import LocalCoordinator
from libs.common.db.database import Database
from libs.common.lifecycle import RunStatus
from libs.common.quantities import Resources
from services.api.app import create_app as create_api
from services.api.settings import ApiSettings
from services.scheduler.app import MIGRATIONS
from services.scheduler.app import create_app as create_scheduler
from services.scheduler.db.tables import Execution, QueueDefinition, Quota
from services.scheduler.domain.decisions import Active, Queue, Situation, Waiting, plan
from services.scheduler.domain.limits import Limits
from services.scheduler.domain.situation import DefinitionsCache, load_situation
from services.scheduler.runners.base import Launch
from services.scheduler.runners.local import LocalRunner
from services.scheduler.settings import SchedulerSettings
from services.tracking.app import create_app as create_tracking
from services.tracking.settings import TrackingSettings

TOKEN = "benchmark-token-0123456789"
PG = os.environ.get("GANGLION_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def big_situation(queued: int = 10_000, projects: int = 20) -> Situation:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    queues = {
        "default": Queue("default", concurrency=200),
        "gpu": Queue("gpu", priority=5, concurrency=16),
    }
    waiting = [
        Waiting(uuid4(), "gpu" if i % 10 == 0 else "default", f"p{i % projects}", t0 + timedelta(milliseconds=i),
                user=f"u{i % 7}", priority=i % 3, resources=Resources(cpu=1.0, gpu=1.0 if i % 10 == 0 else 0.0))
        for i in range(queued)
    ]  # fmt: skip
    active = [
        Active(uuid4(), "default", f"p{i % projects}", f"u{i % 7}", Resources(cpu=1.0))
        for i in range(150)
    ]
    quotas = {f"p{i}": Limits(runs=20, cpu=20.0) for i in range(0, projects, 2)}
    return Situation(queues, active, waiting, project_quotas=quotas, user_quotas={"u0": Limits(gpu=4.0)},
                     shares={"p1": 2.0}, capacity=Limits(cpu=400.0, gpu=16.0))  # fmt: skip


def decision_pure(rounds: int = 50) -> dict[str, float]:
    situation = big_situation()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        decision = plan(situation)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    plan(situation, explain=True)
    explain = time.perf_counter() - start
    return {
        "p50": statistics.median(times),
        "p95": percentile(times, 0.95),
        "explain": explain,
        "started": len(decision.start),
    }


async def decision_from_postgres(rounds: int = 60) -> dict[str, float]:
    schema = f"bench_{uuid4().hex[:8]}"
    db = Database(PG, schema=schema, migrations=MIGRATIONS)
    await db.connect()
    try:
        situation = big_situation()
        now = datetime.now(UTC)

        def row(run: Waiting | Active, status: RunStatus, priority: int = 0) -> dict[str, Any]:
            return {"uuid": run.uuid, "owner": "default", "project": run.project, "user": run.user, "name": None,
                    "namespace": "ganglion", "queue": run.queue, "priority": priority, "cpu": run.resources.cpu,
                    "memory": 0.0, "gpu": run.resources.gpu, "max_retries": 0, "attempt": 0, "content": {},
                    "submission": 1, "status": status.value, "status_conditions": [], "queued_at": now,
                    "stop_requested": False, "deleted": False, "created_at": now, "updated_at": now}  # fmt: skip

        rows = [
            {**row(w, RunStatus.QUEUED, w.priority), "queued_at": w.queued_at}
            for w in situation.waiting
        ]
        rows += [row(a, RunStatus.RUNNING) for a in situation.active]
        async with db.session() as session, session.begin():
            # The same situation the pure decision gets: its runs, queues and quotas, stored.
            await session.execute(insert(Execution), rows)
            for queue in situation.queues.values():
                session.add(
                    QueueDefinition(
                        name=queue.name, priority=queue.priority, concurrency=queue.concurrency
                    )
                )
            for project, limits in situation.project_quotas.items():
                session.add(
                    Quota(
                        kind="project", subject=project, runs=limits.runs, cpu=limits.cpu, share=1.0
                    )
                )
        del rows, situation
        settings = SchedulerSettings(concurrency=200)
        cache = DefinitionsCache(ttl=2.0)

        async def rounds_of(count: int, *, everything: bool = False) -> tuple[list[float], int]:
            times, full_collections = [], gc.get_stats()[2]["collections"]
            for _ in range(count):
                start = time.perf_counter()
                async with db.read_session() as session:
                    plan(await load_situation(session, settings, cache, everything=everything))
                times.append(time.perf_counter() - start)
            return times, gc.get_stats()[2]["collections"] - full_collections

        gc.collect()
        before, before_gc = await rounds_of(rounds)
        # What the scheduler's lifespan does once it has started (Runtime.settle_heap).
        gc.collect()
        gc.freeze()
        try:
            after, after_gc = await rounds_of(rounds)
            everything, _ = await rounds_of(5, everything=True)
        finally:
            gc.unfreeze()
        return {
            "before_p50": statistics.median(before),
            "before_p95": percentile(before, 0.95),
            "before_gc": before_gc,
            "p50": statistics.median(after),
            "p95": percentile(after, 0.95),
            "gc": after_gc,
            "all_p50": statistics.median(everything),
        }
    finally:
        async with db.engine.connect() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            await connection.commit()
        await db.dispose()


FIRST_INSTRUCTION = "import time, sys; sys.stdout.write(repr(time.monotonic()))"


async def process_start(home: Path, samples: int = 40) -> dict[str, float]:
    """Process start, measured apart from the scheduler: a child started like the runner starts
    its shim (`python -I -S`, its own session), timed from the spawn call to the return of the
    spawn (fork and exec done: what the path to `starting` contains) and to the child's first
    instruction (its first line of Python, which reads the same system-wide monotonic clock).
    Also the local runner's whole `start` (folders, spawn, handle), for reference."""
    exec_done, first, runner_start = [], [], []
    for _ in range(samples):
        start = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-S", "-c", FIRST_INSTRUCTION,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            start_new_session=True,
        )  # fmt: skip
        exec_done.append(time.monotonic() - start)
        out, _ = await process.communicate()
        first.append(float(out) - start)
    runner = LocalRunner(home / "spawn-state")
    for _ in range(samples):
        uuid = uuid4()
        launch = Launch(
            uuid, "default", "bench", "ganglion", ["true"], str(home / "spawn" / uuid.hex)
        )
        start = time.monotonic()
        await runner.start(launch)
        runner_start.append(time.monotonic() - start)
        await asyncio.sleep(0.03)  # one at a time, as in the submit-to-starting measurement
    await asyncio.sleep(0.5)
    await runner.close()
    return {
        "exec_p50": statistics.median(exec_done), "exec_p95": percentile(exec_done, 0.95),
        "first_p50": statistics.median(first), "first_p95": percentile(first, 0.95),
        "runner_p50": statistics.median(runner_start),
        "runner_p95": percentile(runner_start, 0.95),
    }  # fmt: skip


def platform(home: Path, concurrency: int) -> PathRouter:
    bus, coordinator = InMemoryBus(), LocalCoordinator()
    token = SecretStr(TOKEN)
    shared: dict[str, Any] = {"bus": bus, "coordinator": coordinator}
    return PathRouter(
        create_api(ApiSettings(home=home, token=token, mode="embedded"), **shared),
        create_tracking(TrackingSettings(home=home, token=token), **shared),
        create_scheduler(
            SchedulerSettings(home=home, token=token, concurrency=concurrency),
            **shared,
        ),
        shared=(bus,),
    )


TRIVIAL = json.dumps(
    {"kind": "component", "run": {"kind": "job", "container": {"image": "x", "command": ["true"]}}}
)


@contextlib.contextmanager
def timed_spawns(into: list[float]) -> Iterator[None]:
    """Time each process the scheduler's runner spawns (the call, to exec done), so that each
    run's submit-to-starting can be taken minus its own process start. Only measures: the call
    is passed through unchanged."""
    real = asyncio.create_subprocess_exec

    async def timed(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        start = time.monotonic()
        try:
            return await real(*args, **kwargs)
        finally:
            into.append(time.monotonic() - start)

    asyncio.create_subprocess_exec = timed
    try:
        yield
    finally:
        asyncio.create_subprocess_exec = real


async def end_to_end(home: Path, jobs: int, concurrency: int) -> dict[str, float]:
    router = platform(home, concurrency)
    async with router.lifespan():
        transport = httpx.ASGITransport(app=router)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://bench",
            headers={"Authorization": f"Token {TOKEN}"},
        ) as client:
            await client.post("/api/v1/default/projects/create", json={"name": "bench"})
            runs = "/api/v1/default/bench/runs"
            # Submit-to-starting, one run at a time so nothing queues behind anything. Timings come
            # from the conditions' own timestamps; waiting reads the database, lightly, so the
            # measurement does not compete with what it measures.
            overheads: list[float] = []
            steps: dict[str, list[float]] = {"queued": [], "scheduled": [], "starting": []}
            spawns: list[float] = []
            with timed_spawns(spawns):
                for _ in range(40):
                    overheads.append(await _one_run(client, router, steps))
                    assert len(spawns) == len(overheads), "one process per run, one at a time"
            start = time.perf_counter()
            for _ in range(jobs):
                response = await client.post(runs, json={"content": TRIVIAL})
                assert response.status_code == 200, response.text
            submitted = time.perf_counter() - start
            while await _count_done(router) < jobs + len(overheads):
                await asyncio.sleep(0.2)
            elapsed = time.perf_counter() - start
            failed = await _count_done(router, status="failed")
    beyond = [total - spawn for total, spawn in zip(overheads, spawns, strict=True)]
    return {"overhead_p50": statistics.median(overheads), "overhead_p95": percentile(overheads, 0.95),
            "spawn_p50": statistics.median(spawns), "spawn_p95": percentile(spawns, 0.95),
            "beyond_p50": statistics.median(beyond), "beyond_p95": percentile(beyond, 0.95),
            **{f"{step}_p50": statistics.median(values) for step, values in steps.items()},
            "submit_seconds": submitted, "elapsed": elapsed, "failed": failed,
            "measured": len(overheads)}  # fmt: skip


async def _one_run(
    client: httpx.AsyncClient, router: PathRouter, steps: dict[str, list[float]]
) -> float:
    """Submit one run, wait until it ended; its submit-to-starting, and each step's time."""
    runs = "/api/v1/default/bench/runs"
    uuid = (await client.post(runs, json={"content": TRIVIAL})).json()["uuid"]
    while await _status(router, uuid) not in ("succeeded", "failed"):
        await asyncio.sleep(0.05)
    run = (await client.get(f"{runs}/{uuid}")).json()
    times = {
        c["type"]: datetime.fromisoformat(c["last_transition_time"])
        for c in run["status_conditions"]
    }
    previous = times["created"]
    for step, values in steps.items():
        values.append((times[step] - previous).total_seconds())
        previous = times[step]
    return (times["starting"] - times["created"]).total_seconds()


async def _status(router: PathRouter, uuid: str) -> str:
    from uuid import UUID

    from services.api.db.tables import Run

    async with router.api.state.runtime.db.read_session() as session:
        run = await session.get(Run, UUID(uuid))
        return run.status if run else ""


async def _count_done(router: PathRouter, status: str | None = None) -> int:
    """Finished runs, read from the api's database: cheaper than paging the API while it works."""
    from sqlalchemy import func, select

    from services.api.db.tables import Run

    wanted = [status] if status else ["succeeded", "failed"]
    async with router.api.state.runtime.db.read_session() as session:
        query = select(func.count()).select_from(Run).where(Run.status.in_(wanted))
        return int((await session.execute(query)).scalar_one())


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    pure = decision_pure()
    print(f"decision, 10,000 queued across 20 projects (pure): p50 {ms(pure['p50'])}, p95 {ms(pure['p95'])}; "
          f"with explanations for all: {ms(pure['explain'])}; starts {pure['started']:.0f}")  # fmt: skip
    db = await decision_from_postgres()
    print(f"dispatcher round from Postgres (read the lines' heads + decide), 60 rounds: "
          f"p50 {ms(db['p50'])}, p95 {ms(db['p95'])}, full collections {db['gc']:.0f}; "
          f"without settling the heap first: p50 {ms(db['before_p50'])}, p95 {ms(db['before_p95'])}, "
          f"full collections {db['before_gc']:.0f}; reading all 10,000 instead: p50 {ms(db['all_p50'])}")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        spawn = await process_start(home)
        print(f"process start, spawn to exec done (in the path to starting): p50 {ms(spawn['exec_p50'])}, "
              f"p95 {ms(spawn['exec_p95'])}; spawn to the child's first instruction: p50 {ms(spawn['first_p50'])}, "
              f"p95 {ms(spawn['first_p95'])}; the local runner's whole start: p50 {ms(spawn['runner_p50'])}, "
              f"p95 {ms(spawn['runner_p95'])}")  # fmt: skip
        result = await end_to_end(home, args.jobs, args.concurrency)
    p50, p95 = result["overhead_p50"], result["overhead_p95"]
    print(f"submit-to-starting (embedded, {result['measured']:.0f} runs one at a time): p50 {ms(p50)}, p95 {ms(p95)} "
          f"(created->queued p50 {ms(result['queued_p50'])}, ->scheduled {ms(result['scheduled_p50'])}, "
          f"->starting {ms(result['starting_p50'])})")  # fmt: skip
    print(f"  beyond process start, each run minus its own spawn (to exec done: p50 {ms(result['spawn_p50'])}, "
          f"p95 {ms(result['spawn_p95'])}): p50 {ms(result['beyond_p50'])}, p95 {ms(result['beyond_p95'])}; "
          f"p50 minus the p50 spawn to first instruction: {ms(p50 - spawn['first_p50'])}")  # fmt: skip
    rate = args.jobs / result["elapsed"]
    print(f"{args.jobs} trivial jobs, concurrency {args.concurrency}: submitted in {result['submit_seconds']:.1f} s, "
          f"all done in {result['elapsed']:.1f} s: throughput {rate:.1f} jobs/s; failed {result['failed']:.0f}")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
