"""Running Ganglion: `up` (everything in one process), `down`, `service NAME`, `migrate NAME`."""

from __future__ import annotations

import asyncio
import importlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Annotated

import httpx
import typer
import uvicorn

from ganglion.cli.common import UserError, echo
from ganglion.config import load_config, save_config
from libs.common.auth import generate_token
from libs.common.db.database import Database
from libs.common.settings import default_home

SERVICES = ("api", "scheduler", "tracking")


def _home(home: Path | None) -> Path:
    return (home or default_home()).expanduser().resolve()


def _token(home: Path) -> str:
    """GANGLION_TOKEN if set, else the one this home was given at its first `up`."""
    if configured := os.environ.get("GANGLION_TOKEN"):
        return configured
    path = home / "token"
    if path.exists():
        return path.read_text().strip()
    home.mkdir(parents=True, exist_ok=True)
    token = generate_token()
    path.write_text(token)
    path.chmod(0o600)
    return token


def _public_url(host: str, port: int) -> str:
    reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{reachable}:{port}"


def _wait_healthy(url: str, pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        time.sleep(0.2)
    return False


def up(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    home: Annotated[
        Path | None, typer.Option(help="Data folder (default: GANGLION_HOME or ~/.ganglion).")
    ] = None,
    detach: Annotated[
        bool,
        typer.Option("--detach", "-d", help="Run in the background; stop with `ganglion down`."),
    ] = False,
    concurrency: Annotated[int, typer.Option(help="Runs executed at once.")] = 4,
) -> None:
    """Start every service in one process: SQLite, in-process bus, local runner."""
    folder = _home(home)
    token = _token(folder)
    url = _public_url(host, port)
    config = load_config(environment=False)
    config.host, config.token, config.streams_host = url, token, None
    save_config(config)
    if detach:
        _detach(folder, host, port, concurrency, url)
        return
    # Imported here: the other commands do not need every service loaded.
    from ganglion.embedded import EmbeddedOptions, embedded_app

    app = embedded_app(EmbeddedOptions(folder, token, url, concurrency))
    echo(f"Ganglion is starting at {url}\n  token: {token}\n  home:  {folder}")
    uvicorn.run(app, host=host, port=port, log_level="info", lifespan="on")


def _detach(folder: Path, host: str, port: int, concurrency: int, url: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pidfile = folder / "ganglion.pid"
    if pidfile.exists() and _alive(int(pidfile.read_text())):
        raise UserError(
            f"Ganglion already runs from {folder} (pid {pidfile.read_text().strip()}); "
            "`ganglion down` stops it"
        )
    command = [
        sys.executable,
        "-m",
        "ganglion.cli.main",
        "up",
        "--host",
        host,
        "--port",
        str(port),
        "--home",
        str(folder),
        "--concurrency",
        str(concurrency),
    ]
    with (folder / "server.log").open("ab") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    pidfile.write_text(str(process.pid))
    if not _wait_healthy(url, process.pid, timeout=60):
        raise UserError(f"Ganglion did not come up; see {folder / 'server.log'}")
    echo(
        f"Ganglion is up at {url} (pid {process.pid})\n"
        f"  token: {load_config(environment=False).token}\n"
        f"  home:  {folder}\n"
        f"  logs:  {folder / 'server.log'}"
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def down(
    home: Annotated[Path | None, typer.Option(help="Data folder of the instance to stop.")] = None,
) -> None:
    """Stop a Ganglion started with `ganglion up --detach`."""
    pidfile = _home(home) / "ganglion.pid"
    if not pidfile.exists():
        raise UserError(f"no detached Ganglion runs from {pidfile.parent}")
    pid = int(pidfile.read_text())
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
    pidfile.unlink(missing_ok=True)
    echo(f"Ganglion (pid {pid}) stopped")


def _check_service(name: str) -> None:
    if name not in SERVICES:
        raise UserError(f"unknown service {name!r}; choose one of {', '.join(SERVICES)}")


def _service_app(name: str) -> ModuleType:
    if name not in SERVICES:
        raise UserError(f"unknown service {name!r}; choose one of {', '.join(SERVICES)}")
    return importlib.import_module(f"services.{name}.app")


def service(
    name: Annotated[str, typer.Argument(help="api, scheduler or tracking.")],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Run one service against Postgres, RabbitMQ and Redis, configured by GANGLION_* variables."""
    module = _service_app(name)
    if not os.environ.get("GANGLION_RABBITMQ_URL"):
        raise UserError(
            "a standalone service needs GANGLION_RABBITMQ_URL "
            "(for everything in one process: `ganglion up`)"
        )
    uvicorn.run(module.create_app(), host=host, port=port, log_level="info", lifespan="on")


def migrate(name: Annotated[str, typer.Argument(help="api, scheduler or tracking.")]) -> None:
    """Apply a service's database migrations and exit."""
    module = _service_app(name)
    settings = module.Settings()

    async def run() -> None:
        db = Database(
            settings.resolved_database_url,
            schema=settings.resolved_schema,
            migrations=module.MIGRATIONS,
        )
        await db.connect()
        await db.dispose()

    asyncio.run(run())
    echo(f"{name}: migrations applied")
