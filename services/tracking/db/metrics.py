"""Queries over metric series and their chunks. They take the caller's session and never
commit: a batch, its summaries and its batch id are stored in the caller's one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, case, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.ids import utcnow
from services.tracking.db.tables import IngestedBatch, MetricChunk, MetricSeries
from services.tracking.domain.ingest import Batch
from services.tracking.domain.points import NO_STEP, Columns, summarise


def _insert(session: AsyncSession) -> type[postgresql.Insert] | type[sqlite.Insert]:
    dialect = session.get_bind().dialect.name
    return postgresql.Insert if dialect == "postgresql" else sqlite.Insert


def _pair(session: AsyncSession, largest: bool) -> Any:
    # Postgres has least()/greatest(); SQLite's two-argument min()/max() are the same thing.
    if session.get_bind().dialect.name == "postgresql":
        return func.greatest if largest else func.least
    return func.max if largest else func.min


async def claim_batch(session: AsyncSession, run_uuid: UUID, batch_id: str, count: int) -> bool:
    """Record the batch id; False if it was stored before (the caller then stores nothing). A
    concurrent retry of the same batch waits on the row and then sees it."""
    statement = (
        _insert(session)(IngestedBatch)
        .values(run_uuid=run_uuid, batch_id=batch_id, count=count, received_at=utcnow())
        .on_conflict_do_nothing()
    )
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def store_batch(session: AsyncSession, run_uuid: UUID, batch: Batch) -> None:
    """Append the batch's points and fold them into each series' summary."""
    if not batch.series:
        return
    now = utcnow()
    names = sorted(batch.series)  # one lock order for every writer: no deadlocks between them
    summaries = {name: summarise(batch.series[name]) for name in names}
    dialect_insert = _insert(session)
    rows = [
        {
            "run_uuid": run_uuid,
            "name": name,
            "count": s.count,
            "min": s.min,
            "max": s.max,
            "last": s.last,
            "last_step": s.last_step,
            "last_timestamp": s.last_timestamp,
            "updated_at": now,
            "published": False,
        }
        for name, s in summaries.items()
    ]
    upsert = dialect_insert(MetricSeries).values(rows)
    new = upsert.excluded
    table = MetricSeries.__table__.c
    greatest, least = _pair(session, True), _pair(session, False)
    newer: ColumnElement[bool] = or_(
        func.coalesce(new.last_step, NO_STEP) > func.coalesce(table.last_step, NO_STEP),
        and_(
            func.coalesce(new.last_step, NO_STEP) == func.coalesce(table.last_step, NO_STEP),
            new.last_timestamp >= table.last_timestamp,
        ),
    )
    statement = upsert.on_conflict_do_update(
        index_elements=["run_uuid", "name"],
        set_={
            "count": table.count + new.count,
            "min": least(table.min, new.min),
            "max": greatest(table.max, new.max),
            "last": case((newer, new.last), else_=table.last),
            "last_step": case((newer, new.last_step), else_=table.last_step),
            "last_timestamp": case((newer, new.last_timestamp), else_=table.last_timestamp),
            "updated_at": new.updated_at,
            "published": False,
        },
    ).returning(table.id, table.name)
    ids = {name: series_id for series_id, name in (await session.execute(statement)).all()}
    chunks = []
    for name in names:
        steps, times, values = batch.series[name].pack()
        chunks.append(
            {
                "series_id": ids[name],
                "count": summaries[name].count,
                "min_step": summaries[name].min_step,
                "max_step": summaries[name].max_step,
                "steps": steps,
                "timestamps": times,
                "values": values,
            }
        )
    await session.execute(insert(MetricChunk), chunks)


async def series_of(
    session: AsyncSession, run_uuid: UUID, names: Sequence[str] = ()
) -> list[MetricSeries]:
    query = select(MetricSeries).where(MetricSeries.run_uuid == run_uuid)
    if names:
        query = query.where(MetricSeries.name.in_(names))
    return list((await session.execute(query.order_by(MetricSeries.name))).scalars())


async def series_of_runs(
    session: AsyncSession, run_uuids: Sequence[UUID], names: Sequence[str] = ()
) -> list[MetricSeries]:
    query = select(MetricSeries).where(MetricSeries.run_uuid.in_(run_uuids))
    if names:
        query = query.where(MetricSeries.name.in_(names))
    return list((await session.execute(query.order_by(MetricSeries.name))).scalars())


async def points_of(
    session: AsyncSession, series_id: int, *, after_step: int | None = None
) -> Columns:
    """Every point of a series (after `after_step`, if given), in step order."""
    query = select(MetricChunk.steps, MetricChunk.timestamps, MetricChunk.values).where(
        MetricChunk.series_id == series_id
    )
    if after_step is not None:
        query = query.where(MetricChunk.max_step > after_step)
    rows = (await session.execute(query.order_by(MetricChunk.id))).all()
    columns = Columns.concat(Columns.unpack(*row) for row in rows).ordered()
    return columns if after_step is None else columns.after_step(after_step)


async def delete_run_metrics(session: AsyncSession, run_uuid: UUID) -> None:
    ids = select(MetricSeries.id).where(MetricSeries.run_uuid == run_uuid)
    await session.execute(delete(MetricChunk).where(MetricChunk.series_id.in_(ids)))
    await session.execute(delete(MetricSeries).where(MetricSeries.run_uuid == run_uuid))
    await session.execute(delete(IngestedBatch).where(IngestedBatch.run_uuid == run_uuid))


async def unpublished(session: AsyncSession, limit: int) -> list[MetricSeries]:
    """Series whose summary changed since its last event, locked so that another replica's
    publisher skips them."""
    query = (
        select(MetricSeries)
        .where(MetricSeries.published.is_(False))
        .order_by(MetricSeries.run_uuid, MetricSeries.name)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list((await session.execute(query)).scalars())


async def mark_published(session: AsyncSession, ids: Sequence[int]) -> None:
    await session.execute(
        update(MetricSeries).where(MetricSeries.id.in_(ids)).values(published=True)
    )


async def replace_series(
    session: AsyncSession, run_uuid: UUID, name: str, columns: Columns
) -> None:
    """Make `columns` the whole series (a re-uploaded Polyaxon event file is the full history)."""
    ids = select(MetricSeries.id).where(
        MetricSeries.run_uuid == run_uuid, MetricSeries.name == name
    )
    await session.execute(delete(MetricChunk).where(MetricChunk.series_id.in_(ids)))
    await session.execute(
        delete(MetricSeries).where(MetricSeries.run_uuid == run_uuid, MetricSeries.name == name)
    )
    if len(columns):
        await store_batch(session, run_uuid, Batch(None, {name: columns}))
