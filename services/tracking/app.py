"""The tracking service: metrics, events, logs, artifacts and live streams of runs, under
/streams/v1."""

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
from libs.common.pubsub import make_pubsub
from libs.common.runtime import open_runtime
from services.tracking.api import artifacts, events, live, logs, metrics
from services.tracking.consumers.runs import run_created, run_deleted, run_transferred
from services.tracking.db.tables import inbox, known_tokens, outbox
from services.tracking.domain.stores import make_store
from services.tracking.domain.summaries import SummaryPublisher
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
            store = make_store(settings)
            stack.push_async_callback(store.close)
            pubsub = make_pubsub(settings.redis_url, settings.bus_prefix)
            stack.push_async_callback(pubsub.close)
            publisher = SummaryPublisher(runtime.db, runtime.outbox, settings.summary_interval)
            runtime.extras.update(store=store, pubsub=pubsub, summaries=publisher)
            await runtime.consume("run_created", run_created(store, runtime.outbox))
            await runtime.consume("run_deleted", run_deleted(store))
            await runtime.consume("run_transferred", run_transferred(store))
            await runtime.consume("token_created", remember_token(known_tokens))
            await runtime.run_in_background(publisher.run(), publisher.name)
            app.state.runtime = runtime
            yield

    app = FastAPI(
        title="Ganglion tracking",
        description="Metrics, events, logs, artifacts and live streams of runs.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(health_router())
    # The multi-run route comes first: `runs/multi/...` must not be read as a run uuid.
    app.include_router(metrics.router)
    app.include_router(events.router)
    app.include_router(live.router)
    app.include_router(logs.router)
    app.include_router(artifacts.router)
    return app


Settings = TrackingSettings
"""This service's settings class, for tools that handle every service alike."""
