"""The tracking service: metrics, logs and artifacts of runs, under /streams/v1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from libs.common.auth import remember_token
from libs.common.bus.base import Bus
from libs.common.coordination import Coordinator
from libs.common.health import health_router
from libs.common.http import install_error_handlers
from libs.common.runtime import open_runtime
from services.tracking.api import artifacts, logs, metrics
from services.tracking.consumers.runs import run_created, run_deleted
from services.tracking.db.tables import inbox, known_tokens, outbox
from services.tracking.domain.store import LocalArtifactStore
from services.tracking.settings import TrackingSettings

MIGRATIONS = Path(__file__).parent / "db" / "migrations"


def create_app(
    settings: TrackingSettings | None = None,
    *,
    bus: Bus | None = None,
    coordinator: Coordinator | None = None,
) -> FastAPI:
    settings = settings or TrackingSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            runtime = await open_runtime(
                stack,
                settings,
                migrations=MIGRATIONS,
                outbox_table=outbox,
                inbox_table=inbox,
                bus=bus,
                coordinator=coordinator,
            )
            store = LocalArtifactStore(settings.resolved_artifacts_root)
            runtime.extras["store"] = store
            await runtime.consume("run_created", run_created(store, runtime.outbox))
            await runtime.consume("run_deleted", run_deleted(store))
            await runtime.consume("token_created", remember_token(known_tokens))
            app.state.runtime = runtime
            yield

    app = FastAPI(
        title="Ganglion tracking",
        description="Metrics, logs and artifacts of runs.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(health_router())
    app.include_router(metrics.router)
    app.include_router(logs.router)
    app.include_router(artifacts.router)
    return app


Settings = TrackingSettings
"""This service's settings class, for tools that handle every service alike."""
