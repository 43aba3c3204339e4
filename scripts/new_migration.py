"""Write a service's next Alembic migration from the difference between its tables and its
migrations: `python scripts/new_migration.py api "add bookmarks"`."""

from __future__ import annotations

import asyncio
import importlib
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from libs.common.db.database import Database


def _revise(connection: Connection, location: Path, message: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(location))
    config.attributes["connection"] = connection
    existing = sorted(p.name for p in (location / "versions").glob("[0-9]*.py"))
    script = command.revision(
        config, message=message, autogenerate=True, rev_id=f"{len(existing) + 1:04d}"
    )
    # Alembic renders JSONB's text type unqualified; qualify it so the file imports cleanly.
    for revision in script if isinstance(script, list) else [script]:
        if revision is not None:
            written = Path(revision.path)
            written.write_text(
                written.read_text().replace("astext_type=Text()", "astext_type=sa.Text()")
            )


async def main(service: str, message: str) -> None:
    importlib.import_module(f"services.{service}.db.tables")
    location = Path("services") / service / "db" / "migrations"
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{folder}/m.sqlite", schema=None, migrations=location)
        await db.connect()
        async with db.engine.begin() as connection:
            await connection.run_sync(_revise, location, message)
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
