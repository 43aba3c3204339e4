"""`ganglion preset create|update|ls|get|delete`: the organization's saved presets, applied to
an operation that names them in `presets: [...]`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganglion.cli.common import UserError, client, echo, table

presets = typer.Typer(
    help="Presets: saved patches that operations apply by name (`presets: [name]`).",
    no_args_is_help=True,
)
FileArg = Annotated[Path, typer.Option("--file", "-f", help="The preset (YAML or JSON).")]


def _content(file: Path) -> str:
    if not file.is_file():
        raise UserError(f"{file}: no such file")
    return file.read_text()


@presets.command("create")
def create_preset(
    name: str, file: FileArg, description: Annotated[str | None, typer.Option()] = None
) -> None:
    """Save a preset under a name."""
    with client() as api:
        api.create_preset(name, _content(file), description=description)
    echo(f"preset {name} created")


@presets.command("update")
def update_preset(name: str, file: FileArg) -> None:
    """Replace a preset's content; runs submitted from now on use it."""
    with client() as api:
        api.update_preset(name, content=_content(file))
    echo(f"preset {name} updated")


@presets.command("ls")
def list_presets() -> None:
    """List the saved presets."""
    with client() as api:
        results = api.list_presets()["results"]
    table([(p["name"], p["description"] or "") for p in results], ["name", "description"])


@presets.command("get")
def get_preset(name: str) -> None:
    """Print a preset's content."""
    with client() as api:
        echo(api.get_preset(name)["content"].rstrip())


@presets.command("delete")
def delete_preset(name: str) -> None:
    """Delete a preset; operations that name it are refused from now on."""
    with client() as api:
        api.delete_preset(name)
    echo(f"preset {name} deleted")
