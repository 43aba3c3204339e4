"""A service database on either backend, for tests of the shared plumbing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from libs.common.db.database import Database
from tests.conftest import Infra


@asynccontextmanager
async def service_database(
    infra: Infra, backend: str, service: str, migrations: Path
) -> AsyncIterator[Database]:
    if backend == "postgres":
        schema = f"{service}_{infra.prefix}"
        infra.schemas.add(schema)
        db = Database(infra.pg, schema=schema, migrations=migrations)
    else:
        db = Database(
            f"sqlite:///{infra.home / 'db' / f'{service}.sqlite'}",
            schema=None,
            migrations=migrations,
        )
    await db.connect()
    try:
        yield db
    finally:
        await db.dispose()
