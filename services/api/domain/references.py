"""What the runs an operation references (`ref: runs.<uuid>`) expose, read from our own tables:
the compiler resolves `{ref: runs.<uuid>, value: outputs.loss}` against it on submit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.spec.context import RunContext
from services.api.db.tables import Run, RunArtifact
from services.api.settings import ApiSettings


async def referenced_runs(
    session: AsyncSession, settings: ApiSettings, owner: str, refs: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Each reference as written, mapped to its run's {inputs, outputs, globals, status,
    artifacts}. Runs of another owner, and references that are not uuids, are left out: the
    compiler reports them as unknown."""
    wanted: dict[UUID, list[str]] = {}
    for ref in refs:
        try:
            wanted.setdefault(UUID(ref.removeprefix("runs.")), []).append(ref)
        except ValueError:
            continue
    if not wanted:
        return {}
    rows = (
        await session.execute(select(Run).where(Run.uuid.in_(wanted), Run.owner == owner))
    ).scalars()
    runs = {run.uuid: run for run in rows}
    artifacts: dict[UUID, dict[str, str | None]] = {uuid: {} for uuid in runs}
    for record in (
        await session.execute(select(RunArtifact).where(RunArtifact.run_uuid.in_(runs)))
    ).scalars():
        artifacts[record.run_uuid][record.name] = record.path
    exposed: dict[str, dict[str, Any]] = {}
    for uuid, run in runs.items():
        context = RunContext(
            uuid=uuid,
            owner=run.owner,
            project=run.project,
            project_uuid=run.project_uuid,
            username=run.user,
            namespace=(run.settings or {}).get("namespace", settings.namespace),
            artifacts_root=str(settings.resolved_artifacts_root),
            name=run.name,
            created_at=run.created_at,
        )
        view = {
            "inputs": dict(run.inputs or {}),
            "outputs": dict(run.outputs or {}),
            "globals": {**context.globals(), "status": run.status},
            "status": run.status,
            "artifacts": artifacts[uuid],
        }
        for ref in wanted[uuid]:
            exposed[ref] = view
    return exposed
