"""Skip, restart, copy and resume, as Polyaxon defines them (reference §1.17, §1.19).

- skip: only a run that has not started (the safe-stop statuses).
- restart: a new run from the same spec (optionally patched), `original.kind = restart`.
- copy: a restart that starts with the original's artifacts (copied by tracking first; the copy
  waits with `pending: upload` until they are in place), `original.kind = copy`.
- resume: the same run again, forced to `resuming` from its final status; outputs and artifacts
  stay, so the job can continue from its checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.events.contracts import CopySource, RunStopRequested, RunTransferred, run_subject
from libs.common.http import ApiError
from libs.common.ids import utcnow
from libs.common.lifecycle import DONE, SAFE_STOP, RunStatus
from libs.common.outbox import Outbox
from services.api.db.tables import Project, Run, User
from services.api.domain.runs import RunRequest, compile_request, create_run, submit
from services.api.domain.status import set_run_status
from services.api.settings import ApiSettings


@dataclass
class Override:
    """What a restart, copy or resume may change (Polyaxon sends a V1Run; `{}` changes nothing)."""

    content: str | None = None
    name: str | None = None
    description: str | None = None
    tags: list[str] | None = None
    meta_info: dict[str, Any] = field(default_factory=dict)


def _managed(run: Run, what: str) -> None:
    if not run.is_managed:
        raise ApiError(
            409,
            f"a tracking-only run cannot be {what}: Ganglion does not execute it",
            loc=("path", "uuid"),
            type="not_managed",
        )


async def skip_run(session: AsyncSession, outbox: Outbox, run: Run) -> None:
    status = RunStatus(run.status)
    if status == RunStatus.SKIPPED:
        return
    if status not in SAFE_STOP:
        raise ApiError(
            409,
            f"only a run that has not started can be skipped; this one is {status}",
            loc=("path", "uuid"),
            type="forbidden_transition",
        )
    await set_run_status(
        session,
        outbox,
        run,
        RunStatus.SKIPPED,
        reason="SkipRequested",
        message="Skipped by the user",
    )
    if run.is_managed:
        await outbox.emit(
            session,
            RunStopRequested(uuid=run.uuid, reason="skipped", submission=run.submission),
            subject=run_subject(run.uuid),
        )


async def clone_run(
    session: AsyncSession,
    outbox: Outbox,
    settings: ApiSettings,
    project: Project,
    user: User,
    run: Run,
    kind: Literal["restart", "copy"],
    override: Override,
) -> Run:
    _managed(run, "restarted")
    meta_info = {**(run.meta_info or {}), **override.meta_info}
    copy_from = None
    if kind == "copy":
        copy = override.meta_info.get("copy_artifacts") or {}
        dirs, files = copy.get("dirs"), copy.get("files")
        copy_from = CopySource(
            uuid=run.uuid,
            project=run.project,
            dirs=_relative(dirs, run),
            files=_relative(files, run),
        )
        meta_info["copy_artifacts"] = {
            "dirs": dirs or [run.uuid.hex],
            **({"files": files} if files else {}),
        }
    request = RunRequest(
        content=override.content or run.raw_content,
        name=override.name or run.name,
        description=override.description or run.description,
        tags=override.tags or list(run.tags or []),
        is_managed=True,
        managed_by=run.managed_by,
        meta_info=meta_info,
        pending="upload" if kind == "copy" else None,
    )
    original = {"uuid": run.uuid.hex, "name": run.name, "kind": kind}
    return await create_run(
        session, outbox, settings, project, user, request, original=original, copy_from=copy_from
    )


def _relative(paths: list[str] | None, run: Run) -> list[str] | None:
    """Polyaxon names copied paths `<uuid>/<path>`; the store wants them inside the run."""
    if not paths:
        return None
    prefix = f"{run.uuid.hex}/"
    return [p.removeprefix(prefix) for p in paths if p != run.uuid.hex] or None


async def resume_run(
    session: AsyncSession,
    outbox: Outbox,
    settings: ApiSettings,
    project: Project,
    user: User,
    run: Run,
    override: Override,
) -> None:
    _managed(run, "resumed")
    status = RunStatus(run.status)
    if status not in DONE:
        raise ApiError(
            409,
            f"only a finished run can be resumed; this one is {status}",
            loc=("path", "uuid"),
            type="forbidden_transition",
        )
    content = override.content or run.raw_content
    request = RunRequest(
        content=content,
        name=override.name or run.name,
        is_managed=True,
        meta_info=dict(run.meta_info or {}),
    )
    compiled = await compile_request(session, settings, project, user, run.uuid, request)
    run.content = json.dumps(compiled.dump())
    run.raw_content = content
    for key in ("name", "description", "tags"):
        if (value := getattr(override, key)) is not None:
            setattr(run, key, value)
    run.meta_info = {**(run.meta_info or {}), **override.meta_info}
    await set_run_status(
        session,
        outbox,
        run,
        RunStatus.RESUMING,
        reason="ResumeManager",
        message="Resumed by the user",
        force=True,
    )
    await set_run_status(
        session, outbox, run, RunStatus.COMPILED, reason="Compiler", message="Spec is compiled"
    )
    run.pending = None
    await submit(session, outbox, settings, run)


async def transfer_run(
    session: AsyncSession, outbox: Outbox, run: Run, destination: Project
) -> None:
    """Move a finished run to another project of its owner; tracking moves its artifacts and the
    scheduler its execution when `api.run.transferred` reaches them. A run that may still write
    to its folder (or be started) stays where it is: moving files under a live process loses
    them."""
    if destination.uuid == run.project_uuid:
        return
    status = RunStatus(run.status)
    if status not in DONE:
        raise ApiError(
            409,
            f"only a finished run can be transferred; this one is {status} "
            "(stop it, or wait for it to finish)",
            loc=("path", "uuid"),
            type="forbidden_transition",
        )
    previous = run.project
    run.project, run.project_uuid, run.updated_at = destination.name, destination.uuid, utcnow()
    await outbox.emit(
        session,
        RunTransferred(
            uuid=run.uuid, owner=run.owner, project=destination.name, previous_project=previous
        ),
        subject=run_subject(run.uuid),
    )
