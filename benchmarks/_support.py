"""What the benchmarks share: a fresh Postgres database, Ganglion services and MLflow's server as
OS processes on this machine, a sampler of a process's memory, and medians."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import psutil

from libs.common.bus.base import BusOptions
from libs.common.bus.rabbitmq import RabbitMQBus

ROOT = Path(__file__).resolve().parents[1]
PG_HOST = os.environ.get("GANGLION_BENCH_PG_HOST", "127.0.0.1")
PG_USER = os.environ.get("GANGLION_BENCH_PG_USER", "postgres")
RABBITMQ_URL = os.environ.get("GANGLION_BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
REDIS_URL = os.environ.get("GANGLION_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
TOKEN = "bench-" + secrets.token_hex(16)
GANGLION = str(Path(sys.executable).parent / "ganglion")
MLFLOW_VENV = ROOT / ".bench" / "mlflow-venv"
MLFLOW_VERSION = os.environ.get("GANGLION_BENCH_MLFLOW_VERSION", "3.17.2")


def pg_url(database: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:5432/{database}"


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(host=PG_HOST, user=PG_USER, database="postgres")
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def fresh_database(name: str) -> str:
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    return pg_url(name)


def drop_database(name: str) -> None:
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up:\n{log.read_text()[-3000:]}")


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    extra: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


@contextmanager
def ganglion_service(name: str, database_url: str, home: Path, prefix: str) -> Iterator[Server]:
    """One Ganglion service as its own process, on Postgres, RabbitMQ and Redis."""
    port = free_port()
    log = home / f"{name}.log"
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "GANGLION_HOME": str(home),
        "GANGLION_TOKEN": TOKEN,
        "GANGLION_RABBITMQ_URL": RABBITMQ_URL,
        "GANGLION_REDIS_URL": REDIS_URL,
        "GANGLION_BUS_PREFIX": prefix,
        f"GANGLION_{name.upper()}_DATABASE_URL": database_url,
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [GANGLION, "service", name, "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_ready(f"{server.url}/healthz", process, log)
        yield server
    finally:
        server.stop()
        asyncio.run(_delete_topology(prefix))


async def _delete_topology(prefix: str) -> None:
    bus = RabbitMQBus(RABBITMQ_URL, BusOptions(prefix=prefix))
    await bus.connect()
    try:
        await bus.delete_topology()
    finally:
        await bus.close()


def ensure_mlflow() -> Path:
    """MLflow in a throwaway venv of its own (never a Ganglion dependency)."""
    binary = MLFLOW_VENV / "bin" / "mlflow"
    if not binary.exists():
        uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
        subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_VENV)], check=True)
        subprocess.run(
            [
                uv,
                "pip",
                "install",
                "--quiet",
                "--python",
                str(MLFLOW_VENV / "bin" / "python"),
                f"mlflow=={MLFLOW_VERSION}",
                "psycopg[binary]",
            ],
            check=True,
        )
    return binary


@contextmanager
def mlflow_server(database_url: str, home: Path, workers: int | None = None) -> Iterator[Server]:
    binary = ensure_mlflow()
    port = free_port()
    log = home / "mlflow.log"
    home.mkdir(parents=True, exist_ok=True)
    command = [
        str(binary),
        "server",
        "--backend-store-uri",
        database_url,
        "--default-artifact-root",
        str(home / "mlflow-artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if workers is not None:
        command += ["--workers", str(workers)]
    version = subprocess.run(
        [str(MLFLOW_VENV / "bin" / "python"), "-c", "import mlflow; print(mlflow.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(f"http://127.0.0.1:{port}", process, log, {"version": version})
    try:
        wait_ready(f"{server.url}/health", process, log, timeout=180)
        yield server
    finally:
        # MLflow's server forks workers: end its whole process group.
        if process.poll() is None:
            os.killpg(process.pid, 15)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)


class MemorySampler:
    """Peak resident memory of a process and its children while the block runs."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.start = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _rss(self) -> int:
        try:
            family = [self.process, *self.process.children(recursive=True)]
            return sum(p.memory_info().rss for p in family)
        except psutil.Error:
            return 0

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(self.interval)

    def __enter__(self) -> MemorySampler:
        self.start = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def mib(value: int) -> float:
    return value / (1 << 20)
