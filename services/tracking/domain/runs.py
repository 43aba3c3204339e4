"""Which run a streams path names, as tracking knows it."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.http import ApiError, not_found
from services.tracking.db.tables import TrackedRun


async def tracked(session: AsyncSession, uuid: UUID) -> TrackedRun | None:
    return (
        await session.execute(select(TrackedRun).where(TrackedRun.uuid == uuid))
    ).scalar_one_or_none()


async def check_run(
    session: AsyncSession, namespace: str, owner: str, project: str, uuid: UUID, *, write: bool
) -> None:
    """Reads need a run tracking knows. Writes are also taken for a run whose creation event has
    not arrived yet (the api commits first, then tells tracking), but never for a deleted one."""
    run = await tracked(session, uuid)
    if run is None:
        if write:
            return
        raise not_found(f"run {uuid.hex}", ("path", "uuid"))
    if run.deleted:
        raise ApiError(410, f"run {uuid.hex} was deleted", loc=("path", "uuid"), type="gone")
    for field, given, known in (
        ("namespace", namespace, run.namespace),
        ("owner", owner, run.owner),
        ("project", project, run.project),
    ):
        if given != known:
            raise not_found(
                f"run {uuid.hex} under {field} {given!r} (it is under {known!r})", ("path", field)
            )


async def readable_runs(
    session: AsyncSession, namespace: str, owner: str, project: str, uuids: list[UUID]
) -> None:
    """Every run must be readable under the path's namespace, owner and project."""
    for uuid in uuids:
        await check_run(session, namespace, owner, project, uuid, write=False)
