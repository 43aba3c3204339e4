"""The three services in one test process, each on its own Postgres schema, talking over the
test's RabbitMQ prefix, behind one ASGI router as in embedded mode."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from ganglion.embedded import PathRouter
from libs.common.runtime import Runtime
from services.api.app import create_app as create_api
from services.api.settings import ApiSettings
from services.scheduler.app import create_app as create_scheduler
from services.scheduler.settings import SchedulerSettings
from services.tracking.app import create_app as create_tracking
from services.tracking.settings import TrackingSettings
from tests.conftest import AUTH, Infra
from tests.support.apps import shut_down
from tests.support.waiting import eventually

RUNS = "/api/v1/default/demo/runs"
FAST = {"poll_interval": 0.1, "retry_backoff": 0.1, "claim_timeout": 2.0, "stop_grace_period": 1.0}


@dataclass
class Platform:
    client: httpx.AsyncClient
    router: PathRouter

    @property
    def scheduler(self) -> Runtime:
        runtime: Runtime = self.router.scheduler.state.runtime
        return runtime

    async def submit(self, spec: dict[str, Any], **body: Any) -> str:
        response = await self.client.post(RUNS, json={"content": json.dumps(spec), **body})
        assert response.status_code == 200, response.text
        return str(response.json()["uuid"])

    async def run(self, uuid: str) -> dict[str, Any]:
        response = await self.client.get(f"{RUNS}/{uuid}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def execution(self, uuid: str) -> dict[str, Any]:
        return dict((await self.client.get(f"/scheduler/v1/runs/{uuid}")).json())

    async def reaches(self, uuid: str, *statuses: str, timeout: float = 30) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            run = await self.run(uuid)
            return run if run["status"] in statuses else None

        return dict(await eventually(check, timeout=timeout))

    def statuses(self, run: dict[str, Any]) -> list[str]:
        return [c["type"] for c in run["status_conditions"]]


def job(code: str, **component: Any) -> dict[str, Any]:
    """A component running `code` with this Python."""
    return {
        "kind": "component",
        "run": {
            "kind": "job",
            "container": {"image": "python", "command": [sys.executable, "-c", code]},
        },
        **component,
    }


@asynccontextmanager
async def platform(infra: Infra, **scheduler: Any) -> AsyncIterator[Platform]:
    router = PathRouter(
        create_api(infra.settings(ApiSettings)),
        create_tracking(infra.settings(TrackingSettings)),
        create_scheduler(infra.settings(SchedulerSettings, **(FAST | scheduler))),
    )
    context = router.lifespan()
    await context.__aenter__()
    try:
        transport = httpx.ASGITransport(app=router)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=AUTH
        ) as client:
            assert (
                await client.post("/api/v1/default/projects/create", json={"name": "demo"})
            ).status_code == 200
            yield Platform(client, router)
    finally:
        await shut_down(context)
