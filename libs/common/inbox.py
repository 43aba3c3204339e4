"""Idempotent consumers: each handled event id is recorded in the consumer's `inbox` table in the
same transaction as the handler's changes, so a redelivered event is recognised and skipped."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

from sqlalchemy import Column, DateTime, MetaData, String, Table, Uuid
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.bus.base import BatchHandler, Handler
from libs.common.db.database import Database
from libs.common.events.envelope import Envelope
from libs.common.ids import utcnow

SessionHandler = Callable[[AsyncSession, Envelope], Awaitable[None]]


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("consumer", String(200), primary_key=True),
        Column("event_id", Uuid(), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    )


async def first_delivery(
    session: AsyncSession, table: Table, consumer: str, event_id: UUID
) -> bool:
    """Record the event as handled by `consumer`; False if it already was."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(table)
        .values(consumer=consumer, event_id=event_id, processed_at=utcnow())
        .on_conflict_do_nothing()
    )
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def idempotent(db: Database, table: Table, consumer: str, handler: SessionHandler) -> Handler:
    """Wrap `handler` so that it runs once per event id, in one transaction with the inbox row."""

    async def handle(envelope: Envelope) -> None:
        async with db.session() as session, session.begin():
            if await first_delivery(session, table, consumer, envelope.id):
                await handler(session, envelope)

    return handle


def idempotent_batch(
    db: Database, table: Table, consumer: str, handler: SessionHandler
) -> BatchHandler:
    """`idempotent` for several events in order, in one transaction: all handled or none."""

    async def handle(envelopes: list[Envelope]) -> None:
        async with db.session() as session, session.begin():
            for envelope in envelopes:
                if await first_delivery(session, table, consumer, envelope.id):
                    await handler(session, envelope)

    return handle
