"""One service's database: an async engine bound to the service's own Postgres schema, or, in
embedded mode, to the service's own SQLite file. Migrations run on connect.

Callers own transactions (`async with db.session() as s, s.begin():`); query functions take the
session and flush, never commit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from libs.common.db.migrations import upgrade

PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000", "foreign_keys=ON")
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}


def async_url(url: str) -> str:
    """Accept plain `postgresql://` and `sqlite:///` URLs and pick the async driver."""
    parsed = make_url(url)
    driver = _DRIVERS.get(parsed.drivername)
    return parsed.set(drivername=driver).render_as_string(hide_password=False) if driver else url


class Database:
    def __init__(self, url: str, *, schema: str | None, migrations: Path | None) -> None:
        self.url = async_url(url)
        self.schema = schema
        self.migrations = migrations
        self._engine: AsyncEngine | None = None
        self._reader: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._read_sessions: async_sessionmaker[AsyncSession] | None = None
        self._commit_hooks: list[tuple[str | None, Callable[[], None]]] = []
        if self.is_postgres and (schema is None or not _SCHEMA.match(schema)):
            raise ValueError(f"invalid Postgres schema name {schema!r}")

    @property
    def is_postgres(self) -> bool:
        return self.url.startswith("postgresql")

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("the database is not connected")
        return self._engine

    async def connect(self, *, migrate: bool = True) -> None:
        if self.is_postgres:
            await self._ensure_schema()
            self._engine = create_async_engine(
                self.url,
                pool_pre_ping=True,
                pool_size=10,
                max_overflow=10,
                connect_args={"server_settings": {"search_path": str(self.schema)}},
            )
            self._reader = self._engine
        else:
            self._engine = self._sqlite_engine(writer=True)
            self._reader = self._sqlite_engine(writer=False)
        session_class = type("ServiceSession", (Session,), {})
        event.listen(session_class, "after_commit", self._after_commit)
        self._sessions = async_sessionmaker(
            self._engine, expire_on_commit=False, sync_session_class=session_class
        )
        self._read_sessions = async_sessionmaker(self._reader, expire_on_commit=False)
        if migrate and self.migrations is not None:
            await self.migrate()

    def _sqlite_engine(self, *, writer: bool) -> AsyncEngine:
        """SQLite has one writer: writes go through one connection, each transaction taking the
        write lock up front (BEGIN IMMEDIATE), so they queue in asyncio rather than sleep in
        SQLite's busy handler (in steps up to 100 ms) or fail to upgrade a read lock. Reads use
        their own connections and, in WAL mode, never wait for the writer."""
        database = make_url(self.url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            self.url,
            connect_args={"timeout": 30},
            pool_size=1 if writer else 4,
            max_overflow=0,
            pool_timeout=60,
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Take over transaction control from the driver so we can BEGIN IMMEDIATE below.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            for pragma in PRAGMAS:
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

        return engine

    async def _ensure_schema(self) -> None:
        bootstrap = create_async_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            async with bootstrap.connect() as connection:
                await connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
        finally:
            await bootstrap.dispose()

    async def migrate(self) -> None:
        assert self.migrations is not None
        async with self.engine.begin() as connection:
            if self.is_postgres:
                # Replicas starting together take turns; the loser finds the schema up to date.
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                    {"key": f"migrate:{self.schema}"},
                )
            await connection.run_sync(upgrade, self.migrations)

    async def dispose(self) -> None:
        if self._reader is not None and self._reader is not self._engine:
            await self._reader.dispose()
        if self._engine is not None:
            await self._engine.dispose()
        self._engine = self._reader = None
        self._sessions = self._read_sessions = None

    def session(self) -> AsyncSession:
        """A session for work that writes (or must see its own writes)."""
        if self._sessions is None:
            raise RuntimeError("the database is not connected")
        return self._sessions()

    def read_session(self) -> AsyncSession:
        """A session for reading only; on SQLite it does not wait for the writer."""
        if self._read_sessions is None:
            raise RuntimeError("the database is not connected")
        return self._read_sessions()

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    def on_commit(self, hook: Callable[[], None], *, topic: str | None = None) -> None:
        """Call `hook` after every commit of a session that asked for it (`request_commit_hooks`);
        with a `topic`, only after commits that asked for that topic."""
        self._commit_hooks.append((topic, hook))

    def _after_commit(self, session: Session) -> None:
        untargeted = session.info.pop("run_commit_hooks", False)
        topics: set[str] = session.info.pop("commit_topics", set())
        for topic, hook in self._commit_hooks:
            if (untargeted and topic is None) or topic in topics:
                hook()


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Call `callback` once this session's transaction commits (not if it rolls back)."""
    event.listen(session.sync_session, "after_commit", lambda _: callback(), once=True)


def request_commit_hooks(session: AsyncSession, *topics: str) -> None:
    """Ask for the database's commit hooks to run once this session's transaction commits: those
    registered without a topic, or, given `topics`, those registered for one of them."""
    info = session.sync_session.info
    if topics:
        info.setdefault("commit_topics", set()).update(topics)
    else:
        info["run_commit_hooks"] = True
