"""Every service in one process: one ASGI app that routes by path to each service's own app,
an in-process bus and coordinator shared between them, SQLite files and artifacts in one home
folder, and the local process runner. The services are the same code as in production; only
their transport and storage differ."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from pydantic import SecretStr
from starlette.types import Receive, Scope, Send

from libs.common.bus.memory import InMemoryBus
from libs.common.coordination import LocalCoordinator
from services.api.app import create_app as create_api
from services.api.settings import ApiSettings
from services.scheduler.app import create_app as create_scheduler
from services.scheduler.settings import SchedulerSettings
from services.tracking.app import create_app as create_tracking
from services.tracking.settings import TrackingSettings


@dataclass(frozen=True)
class EmbeddedOptions:
    home: Path
    token: str
    public_url: str
    concurrency: int = 4


class PathRouter:
    """One ASGI app over the services' own apps: `/streams/` goes to tracking, `/scheduler/` to
    the scheduler, everything else to the api. Its lifespan runs theirs, in order, after
    entering `shared` (the in-process bus, when there is one)."""

    def __init__(
        self,
        api: FastAPI,
        tracking: FastAPI,
        scheduler: FastAPI,
        *,
        shared: tuple[AbstractAsyncContextManager[object], ...] = (),
    ) -> None:
        self.api, self.tracking, self.scheduler = api, tracking, scheduler
        self.shared = shared
        self._routes: list[tuple[str, FastAPI]] = [
            ("/streams/", tracking),
            ("/scheduler/", scheduler),
        ]

    def _app_for(self, path: str) -> FastAPI:
        for prefix, app in self._routes:
            if path.startswith(prefix):
                return app
        return self.api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        await self._app_for(scope.get("path", ""))(scope, receive, send)

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for context in self.shared:
                await stack.enter_async_context(context)
            for app in (self.api, self.tracking, self.scheduler):
                await stack.enter_async_context(app.router.lifespan_context(app))
            yield

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        context = self.lifespan()
        try:
            await context.__aenter__()
        except BaseException as exc:
            await send({"type": "lifespan.startup.failed", "message": repr(exc)})
            return
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        await context.__aexit__(None, None, None)
        await send({"type": "lifespan.shutdown.complete"})


def embedded_app(options: EmbeddedOptions) -> PathRouter:
    """Every service in one process, sharing an in-process bus and coordinator."""
    bus, coordinator = InMemoryBus(), LocalCoordinator()
    home, token, url = options.home, SecretStr(options.token), options.public_url
    api = create_api(
        ApiSettings(home=home, token=token, mode="embedded", public_url=url),
        bus=bus,
        coordinator=coordinator,
    )
    tracking = create_tracking(
        TrackingSettings(home=home, token=token), bus=bus, coordinator=coordinator
    )
    scheduler = create_scheduler(
        SchedulerSettings(home=home, token=token, run_api_url=url, concurrency=options.concurrency),
        bus=bus,
        coordinator=coordinator,
    )
    return PathRouter(api, tracking, scheduler, shared=(bus,))
