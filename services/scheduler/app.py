"""The scheduler service: queues submitted runs, claims them and runs them on a runner."""

from __future__ import annotations

import math
import os
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from libs.common.auth import remember_token
from libs.common.bus.base import Bus
from libs.common.coordination import Coordinator
from libs.common.health import health_router
from libs.common.http import install_error_handlers
from libs.common.ids import new_id
from libs.common.runtime import open_runtime
from services.scheduler.api import executions
from services.scheduler.consumers.definitions import queue_changed, quota_changed
from services.scheduler.consumers.runs import (
    enqueue_submitted,
    run_deleted,
    run_transferred,
    stop_requested,
)
from services.scheduler.db.tables import inbox, known_tokens, outbox
from services.scheduler.domain.status import DISPATCH, MONITOR
from services.scheduler.loops.dispatcher import Dispatcher, Replica
from services.scheduler.loops.monitor import Monitor
from services.scheduler.loops.reconciler import Reconciler
from services.scheduler.runners.base import Runner
from services.scheduler.runners.docker.config import DockerOptions
from services.scheduler.runners.docker.runner import DockerRunner
from services.scheduler.runners.kubernetes.pods import KubeOptions
from services.scheduler.runners.kubernetes.runner import KubernetesRunner
from services.scheduler.runners.local import LocalRunner
from services.scheduler.settings import SchedulerSettings

MIGRATIONS = Path(__file__).parent / "db" / "migrations"


def make_runner(settings: SchedulerSettings) -> Runner:
    if settings.runner == "kubernetes":
        options = KubeOptions(
            namespace=settings.kubernetes_namespace,
            artifacts_root=str(settings.resolved_artifacts_root),
            artifacts_claim=settings.kubernetes_artifacts_claim,
            artifacts_host_path=settings.kubernetes_artifacts_host_path,
            image_pull_policy=settings.kubernetes_image_pull_policy,
            service_account=settings.kubernetes_service_account,
            init_image=settings.kubernetes_init_image,
            git_image=settings.kubernetes_git_image,
            ttl_after_finished=settings.kubernetes_ttl_after_finished,
            grace_period=math.ceil(settings.stop_grace_period),
        )
        kubeconfig = settings.kubernetes_kubeconfig
        return KubernetesRunner(
            options,
            kubeconfig=str(kubeconfig) if kubeconfig else None,
            context=settings.kubernetes_context,
        )
    if settings.runner == "docker":
        return DockerRunner(
            DockerOptions(
                artifacts_root=str(settings.resolved_artifacts_root),
                artifacts_host_root=str(
                    settings.docker_artifacts_host_root or settings.resolved_artifacts_root
                ),
                network=settings.docker_network,
                pull=settings.docker_pull,
                grace_period=settings.stop_grace_period,
                scope=settings.bus_prefix,
            ),
            settings.resolved_runner_state_dir / "docker",
            base_url=settings.docker_host,
        )
    return LocalRunner(settings.resolved_runner_state_dir)


def create_app(
    settings: SchedulerSettings | None = None,
    *,
    bus: Bus | None = None,
    coordinator: Coordinator | None = None,
) -> FastAPI:
    settings = settings or SchedulerSettings()

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
            runner = make_runner(settings)
            stack.push_async_callback(runner.close)
            replica = Replica(f"{socket.gethostname()}:{os.getpid()}:{new_id().hex[-6:]}")
            dispatcher = Dispatcher(runtime, settings, runner, replica)
            monitor = Monitor(runtime, settings, runner, dispatcher)
            reconciler = Reconciler(runtime, settings, runner)
            # Each loop is woken by the commits that give it work (see domain/status.py), by
            # the runner when a process ends, and otherwise polls.
            runtime.db.on_commit(dispatcher.wake, topic=DISPATCH)
            runtime.db.on_commit(monitor.wake, topic=MONITOR)
            runner.on_change(monitor.wake)

            def definitions_changed() -> None:
                dispatcher.definitions.invalidate()
                dispatcher.wake()

            runtime.extras.update(
                dispatcher=dispatcher, monitor=monitor, reconciler=reconciler, runner=runner
            )
            await runtime.consume("enqueue_submitted", enqueue_submitted(runtime.outbox))
            await runtime.consume("stop_requested", stop_requested(runtime.outbox))
            await runtime.consume("run_deleted", run_deleted(runtime.outbox))
            await runtime.consume("run_transferred", run_transferred())
            await runtime.consume("token_created", remember_token(known_tokens))
            await runtime.consume("queue_changed", queue_changed(definitions_changed))
            await runtime.consume("quota_changed", quota_changed(definitions_changed))
            await runtime.run_in_background(dispatcher.run(), "dispatcher")
            await runtime.run_in_background(monitor.run(), "monitor")
            await runtime.run_in_background(reconciler.run(), "reconciler")
            app.state.runtime = runtime
            runtime.settle_heap()
            yield

    app = FastAPI(
        title="Ganglion scheduler",
        description="Queues and runs Ganglion's runs.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(health_router())
    app.include_router(executions.router)
    return app


Settings = SchedulerSettings
"""This service's settings class, for tools that handle every service alike."""
