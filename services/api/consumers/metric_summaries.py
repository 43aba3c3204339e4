"""Keep the api's read model of metric summaries (`tracking.metric_summary.updated`) for run
search: per series, the summary with the larger count wins, so late events change nothing."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.events.contracts import MetricSummaryUpdated
from libs.common.events.envelope import Envelope
from libs.common.ids import utcnow
from services.api.db import queries
from services.api.db.tables import RunMetric

log = logging.getLogger(__name__)


async def apply_metric_summaries(session: AsyncSession, envelope: Envelope) -> None:
    event = envelope.open(MetricSummaryUpdated)
    if await queries.get_run_by_uuid(session, event.uuid) is None:
        log.info("metric summaries for unknown run %s (deleted?)", event.uuid)
        return
    names = [s.name for s in event.summaries]
    rows = await session.execute(
        select(RunMetric)
        .where(RunMetric.run_uuid == event.uuid, RunMetric.name.in_(names))
        .with_for_update()
    )
    known = {row.name: row for row in rows.scalars()}
    now = utcnow()
    for summary in event.summaries:
        row = known.get(summary.name)
        if row is None:
            row = RunMetric(run_uuid=event.uuid, name=summary.name)
            session.add(row)
        elif row.count > summary.count:
            continue
        row.count, row.min, row.max = summary.count, summary.min, summary.max
        row.last, row.last_step, row.updated_at = summary.last, summary.last_step, now
