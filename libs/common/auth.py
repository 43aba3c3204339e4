"""Token primitives. Tokens are random strings given once to their owner; services keep only
their SHA-256, so a leaked database does not leak working tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from pydantic import SecretStr
from sqlalchemy import Column, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.events.contracts import TokenCreated
from libs.common.events.envelope import Envelope
from libs.common.inbox import SessionHandler


def generate_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_from_header(authorization: str | None) -> str | None:
    """`Token <t>` as Polyaxon's clients send it; `Bearer <t>` is accepted too."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() not in {"token", "bearer"} or not value.strip():
        return None
    return value.strip()


def known_tokens_table(metadata: MetaData) -> Table:
    """The read model of API tokens a non-api service keeps, fed by `api.token.created`."""
    return Table(
        "known_tokens",
        metadata,
        Column("token_hash", String(64), primary_key=True),
        Column("username", String(150), nullable=False),
    )


async def username_for(
    session: AsyncSession, table: Table, configured: SecretStr | None, presented: str
) -> str | None:
    """Who `presented` belongs to: the configured shared token, or one the api announced."""
    if configured is not None and hmac.compare_digest(configured.get_secret_value(), presented):
        return "admin"
    row = await session.execute(
        select(table.c.username).where(table.c.token_hash == hash_token(presented))
    )
    return row.scalar_one_or_none()


def remember_token(table: Table) -> SessionHandler:
    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        event = envelope.open(TokenCreated)
        exists = await session.execute(
            select(table.c.token_hash).where(table.c.token_hash == event.token_hash)
        )
        if exists.first() is None:
            await session.execute(
                insert(table).values(token_hash=event.token_hash, username=event.username)
            )

    return handle
