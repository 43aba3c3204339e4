"""`ganglion ops ls|get|statuses|logs|stop|delete`: runs of a project."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ganglion.cli.common import (
    ProjectOption,
    UserError,
    UuidOption,
    client,
    echo,
    follow_logs,
    project_of,
    remember_run,
    run_of,
    table,
    watch_statuses,
)
from ganglion.client import ApiClient, GanglionError

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
        waiting = _why_waiting(api, run["uuid"]) if run["status"] == "queued" else None
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
    if waiting is not None:
        echo(f"waiting: {waiting}")
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


UidsOption = typer.Option(
    None, "--uid", "-uid", "--uuid", help="Run uuid; repeat for several (default: the last run)."
)


def _targets(project: str, uids: list[str] | None) -> list[str]:
    return list(uids) if uids else [run_of(project, None)]


def _bulk(action: str, done: str, project: str | None, uids: list[str] | None) -> None:
    name = project_of(project)
    targets = _targets(name, uids)
    with client() as api:
        if len(targets) == 1:
            getattr(api, f"{action}_run")(name, targets[0])
            found, missing = targets, []
        else:
            result = api.bulk(name, action, targets)
            found, missing = result["uuids"], result["not_found"]
    for uuid in found:
        echo(f"run {uuid}: {done}")
    if missing:
        raise UserError(f"not found in {name}: {', '.join(missing)}")


@app.command("stop")
def stop(project: str | None = ProjectOption, uid: list[str] | None = UidsOption) -> None:
    """Stop runs: at once if they have not started, else through stopping."""
    _bulk("stop", "stop requested", project, uid)


@app.command("approve")
def approve(project: str | None = ProjectOption, uid: list[str] | None = UidsOption) -> None:
    """Let runs waiting for approval (isApproved: false) go."""
    _bulk("approve", "approved", project, uid)


@app.command("skip")
def skip(project: str | None = ProjectOption, uid: list[str] | None = UidsOption) -> None:
    """Skip runs that have not started."""
    _bulk("skip", "skipped", project, uid)


@app.command("transfer")
def transfer(
    to: Annotated[str, typer.Option("--to", "-to", help="The project to move the runs to.")],
    project: str | None = ProjectOption,
    uid: list[str] | None = UidsOption,
) -> None:
    """Move finished runs, with their logs and artifacts, to another project."""
    name = project_of(project)
    with client() as api:
        result = api.transfer_runs(name, _targets(name, uid), to)
    for uuid in result["uuids"]:
        echo(f"run {uuid}: moved to {to}")
    if result["not_found"]:
        raise UserError(f"not found in {name}: {', '.join(result['not_found'])}")


@app.command("delete")
def delete(
    project: str | None = ProjectOption,
    uid: list[str] | None = UidsOption,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete runs and their data (running ones are stopped)."""
    name = project_of(project)
    if not yes:
        typer.confirm(f"Delete {len(_targets(name, uid))} run(s)?", abort=True)
    _bulk("delete", "deleted", name, uid)


@app.command("restart")
def restart(
    project: str | None = ProjectOption,
    uid: str | None = UuidOption,
    copy: Annotated[
        bool, typer.Option("--copy", "-c", help="Start with the original's artifacts.")
    ] = False,
    name: Annotated[str | None, typer.Option("--name")] = None,
) -> None:
    """A new run from a run's spec (with --copy, and its artifacts)."""
    target = project_of(project)
    with client() as api:
        new = api.restart_run(
            target, run_of(target, uid), copy=copy, **({"name": name} if name else {})
        )
    remember_run(target, new["uuid"])
    echo(
        f"run {new['uuid']} created as a {'copy' if copy else 'restart'} "
        f"of {new['original']['uuid']}"
    )


@app.command("resume")
def resume(project: str | None = ProjectOption, uid: str | None = UuidOption) -> None:
    """Run a finished run again, keeping its outputs (for jobs that resume from a checkpoint)."""
    target = project_of(project)
    with client() as api:
        run = api.resume_run(target, run_of(target, uid))
    echo(f"run {run['uuid']}: {run['status']}")


def _why_waiting(api: ApiClient, uuid: str) -> str:
    try:
        waiting = api.get_execution(uuid).get("waiting")
    except GanglionError as exc:
        return f"unknown ({exc.message})"
    return str(waiting["message"]) if waiting else "about to start"
