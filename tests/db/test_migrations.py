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


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
async def test_tracking_points_stored_row_by_row_move_into_series(
    infra: Infra, backend: str
) -> None:
    """Points written before 0002 (one row each) are still there after it, as a series."""
    from datetime import UTC, datetime
    from uuid import uuid4

    from alembic import command
    from alembic.config import Config

    from services.tracking.app import MIGRATIONS
    from services.tracking.db.metrics import points_of, series_of
    from services.tracking.domain.points import from_micros

    def upgrade_to(connection: Connection, revision: str) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    run = uuid4()
    async with service_database(infra, backend, "tracking", None) as db:  # type: ignore[arg-type]
        async with db.engine.begin() as connection:
            await connection.run_sync(upgrade_to, "0001")
            for step, value in ((2, 0.5), (1, 0.9), (3, 0.1)):
                await connection.execute(
                    text(
                        "INSERT INTO metric_points (run_uuid, name, step, timestamp, value) "
                        "VALUES (:run, 'loss', :step, :at, :value)"
                    ),
                    {
                        "run": run.hex if backend == "sqlite" else run,
                        "step": step,
                        "at": datetime(2026, 1, 1, 0, 0, step, tzinfo=UTC),
                        "value": value,
                    },
                )
            await connection.run_sync(upgrade_to, "head")
        async with db.session() as session:
            (series,) = await series_of(session, run)
            assert (series.count, series.min, series.max, series.last, series.last_step) == (
                3,
                0.1,
                0.9,
                0.1,
                3,
            )
            columns = await points_of(session, series.id)
            assert columns.steps.tolist() == [1, 2, 3]
            assert columns.values.tolist() == [0.9, 0.5, 0.1]
            assert from_micros(int(columns.timestamps[0])) == datetime(
                2026, 1, 1, 0, 0, 1, tzinfo=UTC
            )
