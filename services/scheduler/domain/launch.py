"""From a compiled operation to what a runner executes."""

from __future__ import annotations

from dataclasses import replace

from libs.common.artifacts import OUTPUTS, run_path
from libs.common.spec import CompiledOperation
from libs.common.spec.hooks import Plugins
from libs.common.spec.runs import JobRun, MPIJobRun, PytorchJobRun, ServiceRun, TFJobRun
from services.scheduler.db.tables import Execution
from services.scheduler.runners.base import Launch
from services.scheduler.settings import SchedulerSettings


class NotExecutable(ValueError):
    """The compiled spec cannot run on a runner; the message says why."""


def launch_of(execution: Execution, settings: SchedulerSettings) -> Launch:
    compiled = CompiledOperation.model_validate(execution.content)
    run = compiled.run
    artifacts = str(
        run_path(str(settings.resolved_artifacts_root), execution.project, execution.uuid)
    )
    platform = _platform_env(execution, settings, artifacts)
    platform.update(_polyaxon_env(execution, settings, compiled.plugins or Plugins()))
    identity = Launch(
        run_uuid=execution.uuid,
        owner=execution.owner,
        project=execution.project,
        namespace=execution.namespace,
        name=execution.name,
        command=[],
        artifacts_path=artifacts,
        env=platform,
    )
    if isinstance(run, TFJobRun | PytorchJobRun | MPIJobRun):
        if settings.runner != "kubernetes":
            raise NotExecutable(
                f"run.kind {run.kind!r} needs the kubernetes runner "
                f"(this scheduler runs {settings.runner!r})"
            )
        # Each replica has its own container; the runner gives every one the platform's env.
        return replace(identity, kind=run.kind, spec=run)
    if not isinstance(run, JobRun | ServiceRun):
        kind = run.kind if run else "none"
        raise NotExecutable(f"run.kind {kind!r} is not executed by a runner")
    container = run.container
    if container is None:
        raise NotExecutable("run.container: a job needs a container")
    command = [*(container.command or []), *(container.args or [])]
    if not command:
        raise NotExecutable("run.container: command and args are both empty")
    env = {e.name: e.value for e in container.env or [] if e.value is not None}
    env.update(platform)
    return replace(
        identity,
        command=command,
        image=container.image,
        working_dir=container.working_dir,
        env=env,
        resources=container.resources or {},
        kind=run.kind,
        spec=run,
    )


def _platform_env(
    execution: Execution, settings: SchedulerSettings, artifacts: str
) -> dict[str, str]:
    """What the SDK reads inside a managed run."""
    env = {
        "GANGLION_HOST": settings.run_api_url,
        "GANGLION_STREAMS_HOST": settings.run_streams_url or settings.run_api_url,
        "GANGLION_RUN_UUID": execution.uuid.hex,
        "GANGLION_OWNER": execution.owner,
        "GANGLION_PROJECT": execution.project,
        "GANGLION_NAMESPACE": execution.namespace,
        "GANGLION_RUN_ARTIFACTS_PATH": artifacts,
        "GANGLION_RUN_OUTPUTS_PATH": f"{artifacts}/{OUTPUTS}",
        "GANGLION_IS_MANAGED": "true",
    }
    if execution.name:
        env["GANGLION_RUN_NAME"] = execution.name
    if token := settings.resolved_run_token:
        env["GANGLION_TOKEN"] = token
    return env


POLYAXON_CONTEXT_ROOT = "/tmp/plx-context"
"""Where Polyaxon's client keeps a run's files before it syncs them; a runner that has a
scratch folder of its own per run (the local runner) puts it there instead."""


def _polyaxon_env(
    execution: Execution, settings: SchedulerSettings, plugins: Plugins
) -> dict[str, str]:
    """What Polyaxon's own client (`from polyaxon import tracking`) reads in a managed run, as
    Polyaxon's process agent sets it: `tracking.init()` attaches to this run. There is no
    sidecar container to sync its event files and artifacts, so the client syncs them itself
    through the streams API (Polyaxon's `HAS_PROCESS_SIDECAR` mode), which needs
    `/api/v1` and `/streams/v1` on one host (the embedded app, or a proxy in front)."""
    env = {
        "POLYAXON_HOST": settings.run_api_url,
        "POLYAXON_API_VERSION": "v1",
        "POLYAXON_IS_MANAGED": "true",
        "POLYAXON_RUN_INSTANCE": f"{execution.owner}.{execution.project}.runs.{execution.uuid.hex}",
        "POLYAXON_HAS_PROCESS_SIDECAR": "true",
        "POLYAXON_K8S_NAMESPACE": execution.namespace,
        "POLYAXON_CONTEXT_ROOT": POLYAXON_CONTEXT_ROOT,
        # Polyaxon's defaults: both on unless the operation's plugins turn them off.
        "POLYAXON_COLLECT_ARTIFACTS": _flag(plugins.collect_artifacts),
        "POLYAXON_COLLECT_RESOURCES": _flag(plugins.collect_resources),
    }
    if token := settings.resolved_run_token:
        env["POLYAXON_AUTH_TOKEN"] = token
    return env


def _flag(value: bool | None) -> str:
    return "false" if value is False else "true"
