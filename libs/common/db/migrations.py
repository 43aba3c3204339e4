"""Alembic, driven from code: each service keeps its own migrations folder, applied on connect
(or by `ganglion migrate NAME`), inside the service's own schema or SQLite file."""

from __future__ import annotations

from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, MetaData


def upgrade(connection: Connection, script_location: Path) -> None:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def run_env(metadata: MetaData) -> None:
    """The body of every service's `env.py`: migrate the connection handed over by `upgrade`."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("migrations run through Database.migrate() or `ganglion migrate`")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
