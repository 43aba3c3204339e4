"""Each service's migrations build exactly its tables, on Postgres (own schema) and SQLite."""

from __future__ import annotations

import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData, text

from tests.conftest import Infra
from tests.support.databases import service_database

SERVICES = ["api", "scheduler", "tracking"]


def _differences(connection: Connection, metadata: MetaData) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": False})
    return [
        d
        for d in compare_metadata(context, metadata)
        if d[0] != "remove_table" or d[1].name != "alembic_version"
    ]


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_match_the_tables(infra: Infra, service: str, backend: str) -> None:
    app = importlib.import_module(f"services.{service}.app")
    tables = importlib.import_module(f"services.{service}.db.tables")
    async with service_database(infra, backend, service, app.MIGRATIONS) as db:
        await db.migrate()  # a second run finds nothing to do
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_differences, tables.Base.metadata) == []
            if backend == "postgres":
                schema = (await connection.execute(text("SELECT current_schema()"))).scalar_one()
                assert schema == f"{service}_{infra.prefix}"
