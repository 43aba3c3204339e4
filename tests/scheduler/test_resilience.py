"""Never drift, never stick: replicas, a broker that goes away, a runner that dies."""

from __future__ import annotations

import asyncio
import os
from collections import Counter

from ganglion.embedded import PathRouter
from services.api.app import create_app as create_api
from services.api.settings import ApiSettings
from services.scheduler.app import create_app as create_scheduler
from services.scheduler.settings import SchedulerSettings
from services.tracking.app import create_app as create_tracking
from services.tracking.settings import TrackingSettings
from tests.conftest import Infra
from tests.support.apps import shut_down
from tests.support.platform import FAST, RUNS, Platform, job, platform
from tests.support.proxy import CuttableProxy
from tests.support.waiting import eventually


async def test_two_scheduler_replicas_start_each_run_exactly_once(infra: Infra) -> None:
    async with platform(infra, concurrency=3) as ganglion:
        second = create_scheduler(infra.settings(SchedulerSettings, **(FAST | {"concurrency": 3})))
        context = second.router.lifespan_context(second)
        await context.__aenter__()
        try:
            uuids = [await ganglion.submit(job("import time; time.sleep(0.3)")) for _ in range(20)]
            most = 0
            while True:
                runs = (await ganglion.client.get(RUNS, params={"limit": 100})).json()["results"]
                most = max(
                    most,
                    sum(1 for r in runs if r["status"] in ("scheduled", "starting", "running")),
                )
                if all(r["status"] in ("succeeded", "failed") for r in runs) and len(runs) == 20:
                    break
                await asyncio.sleep(0.05)
            claimed_by = Counter()
            for uuid in uuids:
                run = await ganglion.run(uuid)
                assert run["status"] == "succeeded"
                statuses = ganglion.statuses(run)
                assert statuses.count("starting") == 1 and statuses.count("running") == 1, statuses
                scheduled = next(c for c in run["status_conditions"] if c["type"] == "scheduled")
                claimed_by[scheduled["message"].removeprefix("claimed by ").rsplit(":", 1)[-1]] += 1
            assert most <= 3
        finally:
            await shut_down(context)


async def test_runs_finish_and_report_across_a_broker_outage(infra: Infra) -> None:
    proxy = CuttableProxy("127.0.0.1", 5672)
    await proxy.start()
    infra.rabbitmq_url = f"amqp://guest:guest@127.0.0.1:{proxy.port}/"
    router = PathRouter(
        create_api(infra.settings(ApiSettings)),
        create_tracking(infra.settings(TrackingSettings)),
        create_scheduler(infra.settings(SchedulerSettings, **FAST)),
    )
    context = router.lifespan()
    await context.__aenter__()
    try:
        import httpx

        from tests.conftest import AUTH

        transport = httpx.ASGITransport(app=router)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=AUTH
        ) as client:
            await client.post("/api/v1/default/projects/create", json={"name": "demo"})
            ganglion = Platform(client, router)
            code = "import time\nfor i in range(10):\n    print('tick', i, flush=True)\n    time.sleep(0.2)"
            uuid = await ganglion.submit(job(code))
            await ganglion.reaches(uuid, "running")
            proxy.cut()
            # While the broker is unreachable: the run ends, and a new run is submitted.
            later = await ganglion.submit(job("print('after')"))
            await asyncio.sleep(3)
            assert (await ganglion.run(uuid))["status"] == "running"
            assert (await ganglion.run(later))["status"] == "compiled"
            proxy.restore()
            first = await ganglion.reaches(uuid, "succeeded", timeout=60)
            assert ganglion.statuses(first)[-1] == "succeeded"
            await ganglion.reaches(later, "succeeded", timeout=60)
            logs = (await client.get(f"/streams/v1/ganglion/default/demo/runs/{uuid}/logs")).json()[
                "logs"
            ]
            assert [line["value"] for line in logs] == [f"tick {i}" for i in range(10)]
    finally:
        await shut_down(context)
        await proxy.close()


async def test_a_runner_that_dies_mid_run_is_noticed_and_the_run_retried(infra: Infra) -> None:
    async with platform(infra) as ganglion:
        code = (
            "import os, sys, time\n"
            "path = os.path.join(os.environ['GANGLION_RUN_OUTPUTS_PATH'], 'attempts')\n"
            "n = int(open(path).read()) if os.path.exists(path) else 0\n"
            "open(path, 'w').write(str(n + 1))\n"
            "print('attempt', n + 1, flush=True)\n"
            "if n == 0:\n    time.sleep(60)\n"
        )
        uuid = await ganglion.submit(job(code, termination={"maxRetries": 1}))
        await ganglion.reaches(uuid, "running")

        async def printed() -> bool:
            logs = (
                await ganglion.client.get(f"/streams/v1/ganglion/default/demo/runs/{uuid}/logs")
            ).json()["logs"]
            return bool(logs)

        await eventually(printed)
        handle = (await ganglion.execution(uuid))["handle"]
        os.kill(handle["pid"], 9)  # the supervisor dies; the run's own process lives on
        run = await ganglion.reaches(uuid, "succeeded", "failed", timeout=30)
        assert run["status"] == "succeeded"
        retry = next(c for c in run["status_conditions"] if c["type"] == "retrying")
        assert "ended without reporting an exit code" in retry["message"]
        runner = ganglion.scheduler.extras["runner"]
        assert await runner.list_active() == []  # type: ignore[attr-defined]  # the straggler was stopped
        logs = (
            await ganglion.client.get(f"/streams/v1/ganglion/default/demo/runs/{uuid}/logs")
        ).json()["logs"]
        assert [line["value"] for line in logs] == ["attempt 1", "attempt 2"]
