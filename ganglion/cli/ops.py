"""`ganglion ops ls|get|statuses|logs|stop|delete`: runs of a project."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ganglion.cli.common import (
    ProjectOption,
    UuidOption,
    client,
    echo,
    follow_logs,
    project_of,
    run_of,
    table,
    watch_statuses,
)

app = typer.Typer(help="Runs (operations).", no_args_is_help=True)


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}s"


@app.command("ls")
def list_runs(
    project: str | None = ProjectOption,
    limit: Annotated[int, typer.Option("--limit", "-l")] = 20,
    offset: Annotated[int, typer.Option("--offset", "-off")] = 0,
    sort: Annotated[
        str | None,
        typer.Option("--sort", "-s", help="e.g. -created_at or metrics.loss.min"),
    ] = None,
    query: Annotated[
        str | None,
        typer.Option("--query", "-q", help="PQL, e.g. 'status:running|failed, metrics.loss:<0.1'"),
    ] = None,
) -> None:
    """List a project's runs, filtered with a PQL query and sorted on any field."""
    name = project_of(project)
    with client() as api:
        page = api.list_runs(name, limit=limit, offset=offset, sort=sort, query=query)
    rows = [
        (
            r["uuid"],
            r["name"] or "",
            r["kind"] or "",
            r["status"],
            r["created_at"][:19],
            _seconds(r["duration"]),
        )
        for r in page["results"]
    ]
    table(rows, ["uuid", "name", "kind", "status", "created", "duration"])
    echo(f"{len(rows)} of {page['count']} runs")


@app.command("get")
def get(
    project: str | None = ProjectOption,
    uid: str | None = UuidOption,
    output: Annotated[str | None, typer.Option("--output", "-o", help="json")] = None,
) -> None:
    """Show a run: status, times, inputs, outputs."""
    name = project_of(project)
    with client() as api:
        run = api.get_run(name, run_of(name, uid))
    if output == "json":
        echo(json.dumps(run, indent=2))
        return
    for key in (
        "uuid",
        "name",
        "kind",
        "status",
        "user",
        "created_at",
        "started_at",
        "finished_at",
    ):
        echo(f"{key}: {run[key] or ''}")
    echo(f"wait_time: {_seconds(run['wait_time'])}\nduration: {_seconds(run['duration'])}")
    if run["status_conditions"] and run["status_conditions"][-1].get("message"):
        echo(f"message: {run['status_conditions'][-1]['message']}")
    for section in ("inputs", "outputs"):
        if run[section]:
            echo(f"{section}:")
            for key, value in run[section].items():
                echo(f"  {key}: {value}")


@app.command("statuses")
def statuses(
    project: str | None = ProjectOption,
    uid: str | None = UuidOption,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Keep watching until the run is done.")
    ] = False,
) -> None:
    """A run's status timeline."""
    name = project_of(project)
    with client() as api:
        uuid = run_of(name, uid)
        if watch:
            watch_statuses(api, name, uuid)
            return
        conditions = api.get_statuses(name, uuid)["status_conditions"]
    table(
        [
            (
                c["last_transition_time"][:19],
                c["type"],
                c.get("reason") or "",
                c.get("message") or "",
            )
            for c in conditions
        ],
        ["time", "status", "reason", "message"],
    )


@app.command("logs")
def logs(
    project: str | None = ProjectOption,
    uid: str | None = UuidOption,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep streaming until the run is done.")
    ] = False,
) -> None:
    """A run's logs."""
    name = project_of(project)
    with client() as api:
        for line in follow_logs(api, name, run_of(name, uid), follow=follow):
            echo(line)


@app.command("stop")
def stop(project: str | None = ProjectOption, uid: str | None = UuidOption) -> None:
    """Stop a run."""
    name = project_of(project)
    with client() as api:
        uuid = run_of(name, uid)
        api.stop_run(name, uuid)
        status = api.get_statuses(name, uuid)["status"]
    echo(f"run {uuid}: {status}")


@app.command("delete")
def delete(
    project: str | None = ProjectOption,
    uid: str | None = UuidOption,
    yes: Annotated[bool, typer.Option("--yes", "-y")] = False,
) -> None:
    """Delete a run and its data."""
    name = project_of(project)
    uuid = run_of(name, uid)
    if not yes:
        typer.confirm(f"Delete run {uuid}?", abort=True)
    with client() as api:
        api.delete_run(name, uuid)
    echo(f"run {uuid} deleted")
