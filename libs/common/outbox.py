"""Transactional outbox: an event is written in the same transaction as the change it reports,
and a relay publishes it after commit. A rolled-back change publishes nothing; a bus that is down
holds events back (they wait in the table) and never loses them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    delete,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.bus.base import Bus
from libs.common.db.database import Database, request_commit_hooks
from libs.common.events.envelope import Envelope, Event

log = logging.getLogger(__name__)


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox",
        metadata,
        # SQLite only autoincrements an INTEGER PRIMARY KEY.
        Column(
            "seq",
            BigInteger().with_variant(Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        Column("event_id", Uuid(), nullable=False, unique=True),
        Column("routing_key", String(200), nullable=False),
        Column("subject", String(200), nullable=False),
        Column("body", Text(), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )


class Outbox:
    def __init__(self, table: Table) -> None:
        self.table = table

    async def add(self, session: AsyncSession, envelope: Envelope) -> Envelope:
        await session.execute(
            insert(self.table).values(
                event_id=envelope.id,
                routing_key=envelope.routing_key,
                subject=envelope.subject,
                body=envelope.model_dump_json(),
                created_at=envelope.occurred_at,
            )
        )
        request_commit_hooks(session)
        return envelope

    async def emit(
        self, session: AsyncSession, event: Event, *, subject: str, causation_id: UUID | None = None
    ) -> Envelope:
        return await self.add(
            session, Envelope.wrap(event, subject=subject, causation_id=causation_id)
        )

    async def pending(self, session: AsyncSession) -> int:
        rows = await session.execute(select(self.table.c.seq))
        return len(rows.all())


def _seqs(rows: Sequence[Any]) -> list[int]:
    return [row.seq for row in rows]


class OutboxRelay:
    """Publishes committed outbox rows, oldest first, then deletes them.

    Woken after each commit that added events, and on a timer as a safety net. Several replicas
    may relay the same table: on Postgres each batch is claimed with SKIP LOCKED. Events of one
    subject are published in order; different subjects go out concurrently.
    """

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        bus: Bus,
        *,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        max_backoff: float = 5.0,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.bus = bus
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.max_backoff = max_backoff
        self._wake = asyncio.Event()
        db.on_commit(self.wake)

    def wake(self) -> None:
        self._wake.set()

    async def run_once(self) -> int:
        """Publish one batch; return how many events went out."""
        table = self.outbox.table
        query = select(table.c.seq, table.c.subject, table.c.body).order_by(table.c.seq)
        query = query.limit(self.batch_size)
        if self.db.is_postgres:
            # Replicas share the table: each batch is claimed until it is published and deleted.
            async with self.db.session() as session, session.begin():
                rows = (await session.execute(query.with_for_update(skip_locked=True))).all()
                await self._publish(rows)
                if rows:
                    await session.execute(delete(table).where(table.c.seq.in_(_seqs(rows))))
            return len(rows)
        # SQLite has one writer and one relay per file: read without the write lock, publish,
        # then delete in a short write transaction, so the service's own writes (a claim, a
        # status) do not wait while a batch is published. A crash in between publishes the batch
        # again, which idempotent consumers skip.
        async with self.db.read_session() as session:
            rows = (await session.execute(query)).all()
        if not rows:
            return 0
        await self._publish(rows)
        async with self.db.session() as session, session.begin():
            await session.execute(delete(table).where(table.c.seq.in_(_seqs(rows))))
        return len(rows)

    async def _publish(self, rows: Sequence[Any]) -> None:
        by_subject: dict[str, list[Envelope]] = defaultdict(list)
        for row in rows:
            by_subject[row.subject].append(Envelope.model_validate_json(row.body))
        await asyncio.gather(*(self._publish_in_order(e) for e in by_subject.values()))

    async def _publish_in_order(self, envelopes: list[Envelope]) -> None:
        for envelope in envelopes:
            await self.bus.publish(envelope)

    async def drain(self) -> int:
        total = 0
        while True:
            published = await self.run_once()
            total += published
            # A short batch emptied the table; what commits later wakes the relay again. (One
            # more look would be a write transaction on SQLite's single writer, for nothing.)
            if published < self.batch_size:
                return total

    async def run(self) -> None:
        backoff = self.poll_interval
        while True:
            self._wake.clear()
            try:
                await self.drain()
                backoff = self.poll_interval
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox relay could not publish, retrying in %.1fs: %r", backoff, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
