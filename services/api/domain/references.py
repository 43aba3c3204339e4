"""What other runs expose to an operation being submitted, read from our own tables: the runs
its params reference (`{ref: runs.<uuid>, value: outputs.loss}`) and the runs its `joins` find
(a PQL search whose matches become list-valued params)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.http import ApiError
from libs.common.spec import Operation, SpecError
from libs.common.spec.context import RunContext
from libs.common.spec.dag import lookup
from libs.common.spec.errors import SpecIssue
from libs.common.spec.io import Param
from services.api.db import queries
from services.api.db.tables import Project, Run, RunArtifact
from services.api.domain import search
from services.api.settings import ApiSettings

# A join without `limit` reads at most this many runs (Polyaxon's joins are for fan-in, not scans).
JOIN_LIMIT = 1_000


async def _views(
    session: AsyncSession, settings: ApiSettings, runs: Sequence[Run]
) -> dict[UUID, dict[str, Any]]:
    """Each run as a reference sees it: {inputs, outputs, globals, status, artifacts}."""
    artifacts: dict[UUID, dict[str, str | None]] = {run.uuid: {} for run in runs}
    if runs:
        records = await session.execute(
            select(RunArtifact).where(RunArtifact.run_uuid.in_(artifacts))
        )
        for record in records.scalars():
            artifacts[record.run_uuid][record.name] = record.path
    views = {}
    for run in runs:
        context = RunContext(
            uuid=run.uuid,
            owner=run.owner,
            project=run.project,
            project_uuid=run.project_uuid,
            username=run.user,
            namespace=(run.settings or {}).get("namespace", settings.namespace),
            artifacts_root=str(settings.resolved_artifacts_root),
            name=run.name,
            created_at=run.created_at,
        )
        views[run.uuid] = {
            "inputs": dict(run.inputs or {}),
            "outputs": dict(run.outputs or {}),
            "globals": {**context.globals(), "status": run.status},
            "status": run.status,
            "artifacts": artifacts[run.uuid],
        }
    return views


async def referenced_runs(
    session: AsyncSession, settings: ApiSettings, owner: str, refs: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Each reference as written, mapped to its run's view. Runs of another owner, and
    references that are not uuids, are left out: the compiler reports them as unknown."""
    wanted: dict[UUID, list[str]] = {}
    for ref in refs:
        try:
            wanted.setdefault(UUID(ref.removeprefix("runs.")), []).append(ref)
        except ValueError:
            continue
    if not wanted:
        return {}
    rows = await session.execute(select(Run).where(Run.uuid.in_(wanted), Run.owner == owner))
    views = await _views(session, settings, list(rows.scalars()))
    return {ref: view for uuid, view in views.items() for ref in wanted[uuid]}


async def resolve_joins(
    session: AsyncSession, settings: ApiSettings, project: Project, operation: Operation
) -> Operation:
    """The operation with each join's params filled from the project's runs its query matches
    (in its sort order, within its offset and limit): one list per param, of the value each
    matched run has (runs without it are passed over). Without joins it comes back unchanged;
    a bad query or value raises SpecError naming the join."""
    component = operation.component
    joins = [*(operation.joins or []), *((component.joins or []) if component else [])]
    if not joins:
        return operation
    issues: list[SpecIssue] = []
    joined: dict[str, Param] = {}
    dialect = session.get_bind().dialect.name
    for index, join in enumerate(joins):
        loc = f"joins[{index}]"
        if join.ref is not None:
            issues.append(SpecIssue(f"{loc}.ref", "a join's ref is resolved inside a DAG"))
            continue
        compiler = search.Compiler(dialect)
        try:
            where = compiler.where_of(join.query) if join.query.strip() else None
            order = compiler.order(join.sort or "", "-created_at")
        except ApiError as exc:
            issues += [SpecIssue(f"{loc}.query", str(d["msg"])) for d in exc.details]
            continue
        _, rows = await queries.list_runs(
            session,
            project,
            order=order,
            offset=join.offset or 0,
            limit=join.limit if join.limit is not None else JOIN_LIMIT,
            where=where,
            joins=compiler.joins,
        )
        views = list((await _views(session, settings, rows)).values())
        for name, param in (join.params or {}).items():
            values = []
            for view in views:
                try:
                    values.append(lookup(view, str(param.value), "a matched run"))
                except KeyError:
                    continue
            joined[name] = param.model_copy(update={"value": values})
    if issues:
        raise SpecError(issues)
    params = {**(operation.params or {}), **joined}
    update: dict[str, Any] = {"joins": None, "params": params}
    if component is not None:
        update["component"] = component.model_copy(update={"joins": None})
    return operation.model_copy(update=update)
