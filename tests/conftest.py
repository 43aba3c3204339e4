"""Fixtures on the real infrastructure: a Postgres database per test session and a schema per
service per test; a RabbitMQ prefix per test (its queues and exchanges deleted afterwards);
Redis. Nothing here mocks Ganglion's own infrastructure."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

import asyncpg
import pytest
from pydantic import SecretStr

from libs.common.bus.base import BusOptions
from libs.common.bus.rabbitmq import RabbitMQBus
from libs.common.settings import ServiceSettings
from tests.support.infra import (
    PG_HOST,
    PG_PORT,
    PG_USER,
    RABBITMQ_URL,
    REDIS_URL,
    pg_url,
    unreachable,
)

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Token {TOKEN}"}

S = TypeVar("S", bound=ServiceSettings)


def pytest_sessionstart(session: pytest.Session) -> None:
    problems = unreachable()
    if problems:
        pytest.exit("the test infrastructure is down:\n" + "\n".join(problems), returncode=3)


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres"
    )
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    name = f"ganglion_test_{os.getpid()}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    yield pg_url(name)
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests see no GANGLION_* from the developer's shell, and their own client config."""
    for key in list(os.environ):
        if key.startswith("GANGLION_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("GANGLION_CONFIG_DIR", str(tmp_path / "client"))
    monkeypatch.setenv("GANGLION_HOME", str(tmp_path / "home"))


@dataclass
class Infra:
    """One test's slice of the shared infrastructure."""

    pg: str
    prefix: str
    home: Path
    rabbitmq_url: str = RABBITMQ_URL
    redis_url: str = REDIS_URL
    schemas: set[str] = field(default_factory=set)

    def settings(self, cls: type[S], *, backend: str = "postgres", **overrides: Any) -> S:
        """Settings for one service on this test's schema (or SQLite file), bus prefix and home."""
        values: dict[str, Any] = {
            "home": self.home,
            "token": SecretStr(TOKEN),
            "bus_prefix": self.prefix,
            "bus_retry_delay": 0.2,
            "bus_max_deliveries": 3,
        }
        if backend == "postgres":
            schema = f"{cls.SERVICE}_{self.prefix}"
            self.schemas.add(schema)
            values.update(
                database_url=self.pg,
                database_schema=schema,
                rabbitmq_url=self.rabbitmq_url,
                redis_url=self.redis_url,
            )
        values.update(overrides)
        return cls(**values)

    def env(self, service: str) -> dict[str, str]:
        """The same, as environment variables for a service started as its own process."""
        schema = f"{service}_{self.prefix}"
        self.schemas.add(schema)
        upper = service.upper()
        return {
            "GANGLION_HOME": str(self.home),
            "GANGLION_TOKEN": TOKEN,
            "GANGLION_BUS_PREFIX": self.prefix,
            "GANGLION_BUS_RETRY_DELAY": "0.2",
            "GANGLION_RABBITMQ_URL": self.rabbitmq_url,
            "GANGLION_REDIS_URL": self.redis_url,
            f"GANGLION_{upper}_DATABASE_URL": self.pg,
            f"GANGLION_{upper}_DATABASE_SCHEMA": schema,
        }


@pytest.fixture
async def infra(pg_database: str, tmp_path: Path) -> AsyncIterator[Infra]:
    slice_ = Infra(pg=pg_database, prefix=f"t{uuid4().hex[:10]}", home=tmp_path / "home")
    yield slice_
    # Bounded, so a cleanup that blocks (say, on a lock a leaked connection holds) says so.
    for schema in slice_.schemas:
        await asyncio.wait_for(
            _admin_on(pg_database, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'), 20
        )
    await asyncio.wait_for(_delete_topology(slice_.prefix), 20)


async def _delete_topology(prefix: str) -> None:
    bus = RabbitMQBus(RABBITMQ_URL, BusOptions(prefix=prefix))
    await bus.connect()
    try:
        await bus.delete_topology()
    finally:
        await bus.close()


async def _admin_on(url: str, sql: str) -> None:
    database = url.rsplit("/", 1)[1]
    connection = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=database)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()
