"""`ganglion project create|ls|get|delete`."""

from __future__ import annotations

from typing import Annotated

import typer

from ganglion.cli.common import client, echo, table

app = typer.Typer(help="Projects.", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Letters, digits, '-' and '_'.")],
    description: Annotated[str | None, typer.Option(help="What the project is for.")] = None,
    tags: Annotated[str | None, typer.Option(help="Comma-separated tags.")] = None,
) -> None:
    """Create a project."""
    with client() as api:
        project = api.create_project(
            name, description=description, tags=[t for t in (tags or "").split(",") if t]
        )
    echo(f"project {project['owner']}/{project['name']} created")


@app.command("ls")
def list_projects(limit: Annotated[int, typer.Option(help="How many to show.")] = 100) -> None:
    """List projects."""
    with client() as api:
        page = api.list_projects(limit=limit)
    table(
        [
            (p["name"], p["description"] or "", ",".join(p["tags"]), p["created_at"][:19])
            for p in page["results"]
        ],
        ["name", "description", "tags", "created"],
    )


@app.command("get")
def get(name: str) -> None:
    """Show one project."""
    with client() as api:
        project = api.get_project(name)
    for key in ("owner", "name", "description", "tags", "created_at", "updated_at"):
        echo(f"{key}: {project[key]}")


@app.command("delete")
def delete(
    name: str, yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False
) -> None:
    """Delete a project with all its runs."""
    if not yes:
        typer.confirm(f"Delete project {name} and all its runs?", abort=True)
    with client() as api:
        api.delete_project(name)
    echo(f"project {name} deleted")
