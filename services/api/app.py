"""The api service: Ganglion's core JSON API (Polyaxon v1 paths and shapes)."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from libs.common.bus.base import Bus
from libs.common.coordination import Coordinator
from libs.common.health import health_router
from libs.common.http import install_error_handlers
from libs.common.runtime import open_runtime
from services.api.api import definitions, lifecycle, lineage, meta, presets, projects, runs
from services.api.api.meta import ganglion_version
from services.api.consumers.artifacts import artifacts_copied
from services.api.consumers.metric_summaries import apply_metric_summaries
from services.api.consumers.scheduler_status import mirror_scheduler_status
from services.api.db.tables import inbox, outbox
from services.api.domain.bootstrap import bootstrap_with_retry
from services.api.settings import ApiSettings

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "db" / "migrations"


def create_app(
    settings: ApiSettings | None = None,
    *,
    bus: Bus | None = None,
    coordinator: Coordinator | None = None,
) -> FastAPI:
    settings = settings or ApiSettings()

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
            boot = await bootstrap_with_retry(runtime.db, runtime.outbox, settings)
            if boot.first_token is not None:
                # Shown once: only its hash is stored.
                print(
                    f"ganglion api: first access token: {boot.first_token}",
                    file=sys.stderr,
                    flush=True,
                )
            await runtime.consume(
                "mirror_scheduler_status", mirror_scheduler_status(runtime.outbox)
            )
            await runtime.consume("artifacts_copied", artifacts_copied(runtime.outbox, settings))
            await runtime.consume("metric_summaries", apply_metric_summaries)
            app.state.runtime = runtime
            yield

    app = FastAPI(
        title="Ganglion API",
        version=ganglion_version(),
        description="Projects, runs, statuses, users and tokens; Polyaxon v1 compatible paths.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(health_router())
    app.include_router(meta.router)
    app.include_router(definitions.router)
    app.include_router(presets.router)
    # Before the runs router: `DELETE .../runs/delete` is not a run named "delete".
    app.include_router(lifecycle.router)
    app.include_router(projects.router)
    app.include_router(runs.router)
    app.include_router(lineage.router)
    return app


Settings = ApiSettings
"""This service's settings class, for tools that handle every service alike."""
