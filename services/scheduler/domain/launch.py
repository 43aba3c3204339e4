"""From a compiled operation to what a runner executes."""

from __future__ import annotations

from dataclasses import replace

from libs.common.artifacts import OUTPUTS, run_path
from libs.common.spec import CompiledOperation
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
