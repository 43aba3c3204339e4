"""`ganglion queue create|ls|update|delete` and `ganglion quota set|ls|delete`."""

from __future__ import annotations

from typing import Annotated

import typer

from ganglion.cli.common import UserError, client, echo, table
from libs.common.quantities import format_memory

queues = typer.Typer(
    help="Queues: where runs wait, with a priority and a concurrency limit.", no_args_is_help=True
)
quotas = typer.Typer(
    help="Quotas: how much a project or a user runs at once.", no_args_is_help=True
)


@queues.command("create")
def create_queue(
    name: str,
    priority: Annotated[int, typer.Option(help="Higher-priority queues are served first.")] = 0,
    concurrency: Annotated[
        int | None, typer.Option(help="Runs at once (default: unlimited).")
    ] = None,
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create a queue."""
    with client() as api:
        queue = api.create_queue(
            name, priority=priority, concurrency=concurrency, description=description
        )
    echo(
        f"queue {queue['name']} created "
        f"(priority {queue['priority']}, concurrency {queue['concurrency'] or 'unlimited'})"
    )


@queues.command("update")
def update_queue(
    name: str,
    priority: Annotated[int | None, typer.Option()] = None,
    concurrency: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Change a queue's priority or concurrency; runs already waiting follow at once."""
    changes = {
        k: v for k, v in {"priority": priority, "concurrency": concurrency}.items() if v is not None
    }
    if not changes:
        raise UserError("nothing to change: pass --priority and/or --concurrency")
    with client() as api:
        queue = api.update_queue(name, **changes)
    echo(
        f"queue {queue['name']}: priority {queue['priority']}, "
        f"concurrency {queue['concurrency'] or 'unlimited'}"
    )


@queues.command("ls")
def list_queues() -> None:
    """List queues (the built-in `default` queue is listed once defined)."""
    with client() as api:
        results = api.list_queues()["results"]
    table(
        [
            (q["name"], q["priority"], q["concurrency"] or "unlimited", q["description"] or "")
            for q in results
        ],
        ["name", "priority", "concurrency", "description"],
    )


@queues.command("delete")
def delete_queue(name: str) -> None:
    """Delete a queue; runs waiting in it are told it no longer exists."""
    with client() as api:
        api.delete_queue(name)
    echo(f"queue {name} deleted")


@quotas.command("set")
def set_quota(
    project: Annotated[str | None, typer.Option(help="Limit this project.")] = None,
    user: Annotated[str | None, typer.Option(help="Limit this user.")] = None,
    runs: Annotated[int | None, typer.Option(help="Runs at once.")] = None,
    cpu: Annotated[float | None, typer.Option(help="Cores requested at once.")] = None,
    memory: Annotated[str | None, typer.Option(help="Memory requested at once, e.g. 64Gi.")] = None,
    gpu: Annotated[float | None, typer.Option(help="GPUs requested at once.")] = None,
    share: Annotated[float, typer.Option(help="The project's weight in fair share.")] = 1.0,
) -> None:
    """Set (replace) the quota of a project or a user."""
    if (project is None) == (user is None):
        raise UserError("pass exactly one of --project and --user")
    kind, subject = ("project", project) if project is not None else ("user", user)
    assert subject is not None
    with client() as api:
        api.set_quota(kind, subject, runs=runs, cpu=cpu, memory=memory, gpu=gpu, share=share)
    echo(f"{kind} {subject}: quota set")


@quotas.command("ls")
def list_quotas() -> None:
    """List quotas."""
    with client() as api:
        results = api.list_quotas()["results"]

    def show(value: float | None, memory: bool = False) -> str:
        if value is None:
            return "-"
        return format_memory(value) if memory else f"{value:g}"

    rows = [
        (
            q["kind"],
            q["subject"],
            show(q["runs"]),
            show(q["cpu"]),
            show(q["memory"], True),
            show(q["gpu"]),
            f"{q['share']:g}",
        )
        for q in results
    ]
    table(rows, ["kind", "subject", "runs", "cpu", "memory", "gpu", "share"])


@quotas.command("delete")
def delete_quota(
    project: Annotated[str | None, typer.Option()] = None,
    user: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Remove the quota of a project or a user."""
    if (project is None) == (user is None):
        raise UserError("pass exactly one of --project and --user")
    kind, subject = ("project", project) if project is not None else ("user", user)
    assert subject is not None
    with client() as api:
        api.delete_quota(kind, subject)
    echo(f"{kind} {subject}: quota removed")
