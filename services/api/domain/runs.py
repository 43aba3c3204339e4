"""Runs: create (compile on submit), update, stop, approve, delete. Each change and its events
are written in the caller's transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.events.contracts import (
    CopySource,
    RunCreated,
    RunDeleted,
    RunStopRequested,
    RunSubmitted,
    run_subject,
)
from libs.common.http import ApiError
from libs.common.ids import new_id, utcnow
from libs.common.lifecycle import DONE, SAFE_STOP, RunStatus, Timeline
from libs.common.outbox import Outbox
from libs.common.queues import DEFAULT_QUEUE, queue_name
from libs.common.spec import (
    EXECUTABLE_KINDS,
    CompiledOperation,
    RunContext,
    SpecError,
    compile_operation,
    load_operation,
    parse_content,
    run_refs,
)
from services.api.db.tables import Project, Run, User
from services.api.domain.definitions import get_queue
from services.api.domain.presets import apply_named_presets
from services.api.domain.references import referenced_runs, resolve_joins
from services.api.domain.status import set_run_status, store_timeline
from services.api.settings import ApiSettings

# Who drives a run kind that no runner executes directly; until that service exists such runs
# wait, compiled, with this as the reason.
_CONTROLLERS = {
    "dag": "pipelines",
    "matrix": "optimizer",
    "schedule": "ci",
    "build": "image builder",
}


@dataclass
class RunRequest:
    content: str | None = None
    name: str | None = None
    description: str | None = None
    tags: list[str] | None = None
    is_managed: bool = True
    managed_by: str | None = None
    meta_info: dict[str, Any] = field(default_factory=dict)
    pending: str | None = None


async def compile_request(
    session: AsyncSession,
    settings: ApiSettings,
    project: Project,
    user: User,
    run_uuid: Any,
    request: RunRequest,
) -> CompiledOperation:
    if not request.content or not request.content.strip():
        raise ApiError(
            422,
            "a managed run needs content: the operation as YAML or JSON",
            loc=("body", "content"),
            type="missing",
        )
    try:
        data = await apply_named_presets(session, project.owner, parse_content(request.content))
        operation = await resolve_joins(session, settings, project, load_operation(data))
        context = RunContext(
            uuid=run_uuid,
            owner=project.owner,
            project=project.name,
            project_uuid=project.uuid,
            username=user.username,
            namespace=settings.namespace,
            artifacts_root=str(settings.resolved_artifacts_root),
            name=request.name
            or operation.name
            or (operation.component.name if operation.component else None),
        )
        runs = await referenced_runs(session, settings, project.owner, run_refs(operation))
        return compile_operation(operation, context, runs=runs)
    except SpecError as exc:
        raise ApiError.many(
            422, [(("body", "content", i.loc), i.msg, "spec") for i in exc.issues]
        ) from None


def _controller_of(compiled: CompiledOperation) -> str | None:
    if compiled.build is not None:
        return "build"  # its image does not exist until the build ran
    if compiled.matrix is not None:
        return "matrix"
    if compiled.schedule is not None:
        return "schedule"
    kind = compiled.run.kind if compiled.run else None
    return None if kind in EXECUTABLE_KINDS else kind


async def create_run(
    session: AsyncSession,
    outbox: Outbox,
    settings: ApiSettings,
    project: Project,
    user: User,
    request: RunRequest,
    *,
    original: dict[str, Any] | None = None,
    copy_from: CopySource | None = None,
) -> Run:
    uuid = new_id()
    now = utcnow()
    compiled = (
        await compile_request(session, settings, project, user, uuid, request)
        if request.is_managed
        else None
    )
    if compiled is not None:
        await _check_queue(session, project.owner, compiled)
    if "priority" in request.meta_info and not isinstance(request.meta_info["priority"], int):
        raise ApiError(422, "priority must be an integer", loc=("body", "meta_info", "priority"))
    inputs: dict[str, Any] = {}
    if compiled is not None:
        names = {io.name for io in compiled.inputs or []}
        inputs = {n: p.value for n, p in (compiled.params or {}).items() if n in names}
    run = Run(
        uuid=uuid,
        owner=project.owner,
        project_uuid=project.uuid,
        project=project.name,
        name=request.name or (compiled.name if compiled else None),
        description=request.description or (compiled.description if compiled else None),
        tags=request.tags or (compiled.tags if compiled and compiled.tags else []),
        user=user.username,
        kind=compiled.run.kind if compiled and compiled.run else None,
        runtime=compiled.run.kind if compiled and compiled.run else None,
        is_managed=request.is_managed,
        managed_by=request.managed_by or ("agent" if request.is_managed else "user"),
        pending=request.pending,
        content=json.dumps(compiled.dump()) if compiled else None,
        raw_content=request.content,
        inputs=inputs,
        outputs={},
        meta_info=request.meta_info,
        settings={"namespace": settings.namespace},
        original=original,
        pipeline=None,
        submission=0,
        created_at=now,
        updated_at=now,
    )
    store_timeline(run, Timeline.start(now, reason="ApiServer", message="Run is created"))
    session.add(run)
    await session.flush()
    await outbox.emit(
        session,
        RunCreated(
            uuid=uuid,
            owner=run.owner,
            project=run.project,
            name=run.name,
            kind=run.kind,
            is_managed=run.is_managed,
            namespace=settings.namespace,
            user=run.user,
            created_at=now,
            copy_from=copy_from,
        ),
        subject=run_subject(uuid),
    )
    if compiled is not None:
        await set_run_status(
            session, outbox, run, RunStatus.COMPILED, reason="Compiler", message="Spec is compiled"
        )
        if compiled.is_approved is False and run.pending is None:
            run.pending = "approval"
        if run.pending is None:
            await submit(session, outbox, settings, run)
    return run


async def submit(session: AsyncSession, outbox: Outbox, settings: ApiSettings, run: Run) -> None:
    """Hand a compiled run to whoever executes its kind."""
    content: dict[str, Any] = json.loads(run.content or "{}")
    compiled = CompiledOperation.model_validate(content)
    controller = _controller_of(compiled)
    if controller is not None:
        service = _CONTROLLERS.get(controller, "a controller")
        await set_run_status(
            session,
            outbox,
            run,
            RunStatus.COMPILED,
            reason="NoController",
            message=(
                f"{controller} runs are driven by the {service} service, "
                "which this installation does not run yet"
            ),
        )
        return
    run.submission += 1
    await outbox.emit(
        session,
        RunSubmitted(
            uuid=run.uuid,
            owner=run.owner,
            project=run.project,
            name=run.name,
            namespace=settings.namespace,
            content=content,
            queue=compiled.queue,
            submission=run.submission,
            user=run.user,
            priority=_priority(run),
        ),
        subject=run_subject(run.uuid),
    )


def _priority(run: Run) -> int:
    value = (run.meta_info or {}).get("priority", 0)
    return value if isinstance(value, int) else 0


async def _check_queue(session: AsyncSession, owner: str, compiled: CompiledOperation) -> None:
    name = queue_name(compiled.queue)
    if name != DEFAULT_QUEUE and await get_queue(session, owner, name) is None:
        raise ApiError(
            422,
            f"queue {name!r} does not exist; create it first (ganglion queue create {name})",
            loc=("body", "content", "queue"),
            type="unknown_queue",
        )


async def stop_run(
    session: AsyncSession, outbox: Outbox, run: Run, *, message: str = "Stopped by the user"
) -> None:
    """Stop now what has not started; ask the scheduler to stop what has."""
    status = RunStatus(run.status)
    if status in DONE:
        return
    direct = not run.is_managed or status in SAFE_STOP or status == RunStatus.RETRYING
    target = RunStatus.STOPPED if direct else RunStatus.STOPPING
    await set_run_status(session, outbox, run, target, reason="StopRequested", message=message)
    if run.is_managed:
        # Even a run stopped here may already sit in the scheduler's queue.
        await outbox.emit(
            session,
            RunStopRequested(uuid=run.uuid, reason=message, submission=run.submission),
            subject=run_subject(run.uuid),
        )


async def approve_run(
    session: AsyncSession, outbox: Outbox, settings: ApiSettings, run: Run
) -> None:
    if run.pending is None:
        return
    run.pending = None
    run.updated_at = utcnow()
    if run.is_managed and run.status == RunStatus.COMPILED:
        await submit(session, outbox, settings, run)


async def delete_run(session: AsyncSession, outbox: Outbox, run: Run) -> None:
    await outbox.emit(
        session,
        RunDeleted(uuid=run.uuid, owner=run.owner, project=run.project),
        subject=run_subject(run.uuid),
    )
    await session.delete(run)


def update_run(run: Run, changes: dict[str, Any], *, merge: bool) -> None:
    """PATCH semantics: with `merge`, dicts are merged key by key and tags are added."""
    for key, value in changes.items():
        if key in {"inputs", "outputs", "meta_info"} and merge and isinstance(value, dict):
            setattr(run, key, {**(getattr(run, key) or {}), **value})
        elif key == "tags" and merge and value is not None:
            run.tags = list(dict.fromkeys([*(run.tags or []), *value]))
        else:
            setattr(run, key, value)
    run.updated_at = utcnow()
