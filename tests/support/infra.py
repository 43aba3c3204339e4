"""The real Postgres, RabbitMQ and Redis the tests use. Unreachable means failed, never skipped."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

PG_HOST = os.environ.get("GANGLION_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("GANGLION_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("GANGLION_TEST_PG_USER", "postgres")
RABBITMQ_URL = os.environ.get("GANGLION_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
REDIS_URL = os.environ.get("GANGLION_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

START_HINTS = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "RabbitMQ": "rabbitmq-server -detached",
    "Redis": 'redis-server --daemonize yes --port 6379 --save "" --appendonly no',
}


@dataclass(frozen=True)
class Endpoint:
    name: str
    host: str
    port: int


ENDPOINTS = (
    Endpoint("PostgreSQL", PG_HOST, PG_PORT),
    Endpoint("RabbitMQ", "127.0.0.1", 5672),
    Endpoint("Redis", "127.0.0.1", 6379),
)


def unreachable() -> list[str]:
    problems = []
    for endpoint in ENDPOINTS:
        try:
            with socket.create_connection((endpoint.host, endpoint.port), timeout=3):
                pass
        except OSError as exc:
            problems.append(
                f"{endpoint.name} is not reachable at {endpoint.host}:{endpoint.port} ({exc}); "
                f"start it with: {START_HINTS[endpoint.name]}"
            )
    return problems


def pg_url(database: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"
