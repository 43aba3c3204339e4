"""Identifiers and time: uuid7 ids (time-ordered, so indexes stay append-only) and aware UTC now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator
from uuid6 import uuid7


def new_id() -> UUID:
    return UUID(bytes=uuid7().bytes)


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
"""A datetime that goes on the wire with its offset: Polyaxon's clients subtract it from an aware
now, so a naive one (as SQLite hands back) crashes them."""
