"""What CLI commands share: the client, the project and run a command is about, output."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

import typer

from ganglion.client import ApiClient, GanglionError
from ganglion.config import ClientConfig, load_config, update_config

DONE = frozenset({"succeeded", "failed", "stopped", "skipped", "upstream_failed"})

ProjectOption = typer.Option(
    None, "--project", "-p", help="Project name (default: the configured project)."
)
UuidOption = typer.Option(
    None, "--uid", "-uid", "--uuid", help="Run uuid (default: the last run of the project)."
)


class UserError(Exception):
    """A mistake in what the user asked for: one line on stderr, exit code 2."""


def client(config: ClientConfig | None = None) -> ApiClient:
    config = config or load_config()
    if not config.token:
        raise UserError(
            "no token configured: run `ganglion up` here, or `ganglion config set --token ...`"
        )
    return ApiClient.from_config(config)


def project_of(project: str | None) -> str:
    resolved = project or load_config().project
    if not resolved:
        raise UserError("which project? pass -p PROJECT (or `ganglion config set --project NAME`)")
    return resolved


def remember_run(project: str, uuid: str) -> None:
    config = load_config(environment=False)
    update_config(last_runs={**config.last_runs, project: uuid})


def run_of(project: str, uuid: str | None) -> str:
    if uuid:
        return uuid
    last = load_config(environment=False).last_runs.get(project)
    if not last:
        raise UserError(f"which run? pass -uid UUID (no recent run in project {project!r})")
    return last


def parse_params(values: Sequence[str] | None) -> dict[str, str]:
    params: dict[str, str] = {}
    for raw in values or []:
        name, sep, value = raw.partition("=")
        if not sep or not name.strip():
            raise UserError(f"-P expects name=value, got {raw!r}")
        params[name.strip()] = value
    return params


def echo(text: str = "") -> None:
    typer.echo(text)


def warn(text: str) -> None:
    typer.echo(text, err=True)


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    cells = [
        [str(h) for h in headers],
        *[["" if v is None else str(v) for v in row] for row in rows],
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        echo(
            "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
        )


def follow_logs(
    api: ApiClient, project: str, uuid: str, *, follow: bool, interval: float = 1.0
) -> Iterator[str]:
    """Yield log lines; with `follow`, until the run is done and nothing more arrives."""
    run = api.get_run(project, uuid)
    namespace = run["settings"]["namespace"]
    last_time: str | None = None
    while True:
        try:
            page = api.get_logs(namespace, project, uuid, last_time=last_time)
        except GanglionError as exc:
            # Tracking learns of a new run from an event a moment after the api created it.
            if exc.status != 404 or not follow:
                raise
            time.sleep(interval)
            continue
        for line in page["logs"]:
            yield line["value"]
        last_time = page.get("last_time") or last_time
        if page["logs"]:
            continue
        if not follow or api.get_run(project, uuid)["status"] in DONE:
            # One more read: lines written just before the run ended.
            final = api.get_logs(namespace, project, uuid, last_time=last_time)
            for line in final["logs"]:
                yield line["value"]
            return
        time.sleep(interval)


def watch_statuses(api: ApiClient, project: str, uuid: str, *, interval: float = 0.5) -> str:
    """Print each new status until the run is done; return the final one."""
    seen = 0
    while True:
        conditions = api.get_statuses(project, uuid)["status_conditions"]
        for condition in conditions[seen:]:
            message = f"  {condition.get('message')}" if condition.get("message") else ""
            echo(f"{condition['last_transition_time'][:19]}  {condition['type']}{message}")
        seen = len(conditions)
        status = conditions[-1]["type"] if conditions else "created"
        if status in DONE:
            return str(status)
        time.sleep(interval)
        sys.stdout.flush()
