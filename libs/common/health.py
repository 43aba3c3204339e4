"""`/healthz` (the process answers) and `/readyz` (its database, bus and coordinator answer)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from libs.common.runtime import Runtime


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime | None = getattr(request.app.state, "runtime", None)
    if runtime is None:
        raise RuntimeError("the service has not started")
    return runtime


def health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        report = await runtime_of(request).readiness()
        ready = all(problem == "" for problem in report.values())
        body: dict[str, Any] = {
            "status": "ready" if ready else "unavailable",
            "checks": {name: problem or "ok" for name, problem in report.items()},
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    return router
