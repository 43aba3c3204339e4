"""Publishing metric summaries to the api, coarse and throttled: every `interval` seconds, one
`tracking.metric_summary.updated` event per run whose series changed, through the outbox."""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID

from libs.common.db.database import Database
from libs.common.events.contracts import MetricSummary, MetricSummaryUpdated, run_subject
from libs.common.ids import as_utc
from libs.common.loops import Loop
from libs.common.outbox import Outbox
from services.tracking.db import metrics as queries


class SummaryPublisher(Loop):
    name = "metric-summary-publisher"

    def __init__(
        self, db: Database, outbox: Outbox, interval: float, *, batch: int = 5_000
    ) -> None:
        super().__init__(interval)
        self.db = db
        self.outbox = outbox
        self.batch = batch

    async def run_once(self) -> None:
        await self.publish()

    async def publish(self) -> int:
        """Publish what changed since the last round; return how many series went out."""
        async with self.db.session() as session, session.begin():
            rows = await queries.unpublished(session, self.batch)
            by_run: dict[UUID, list[MetricSummary]] = defaultdict(list)
            for row in rows:
                by_run[row.run_uuid].append(
                    MetricSummary(
                        name=row.name,
                        count=row.count,
                        min=row.min,
                        max=row.max,
                        last=row.last,
                        last_step=row.last_step,
                        last_timestamp=as_utc(row.last_timestamp),
                    )
                )
            for uuid, summaries in by_run.items():
                await self.outbox.emit(
                    session,
                    MetricSummaryUpdated(uuid=uuid, summaries=summaries),
                    subject=run_subject(uuid),
                )
            await queries.mark_published(session, [row.id for row in rows])
        return len(rows)
