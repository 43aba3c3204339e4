"""`ganglion config set|show`."""

from __future__ import annotations

from typing import Annotated

import typer

from ganglion.cli.common import echo
from ganglion.config import config_dir, load_config, update_config

app = typer.Typer(help="Where this CLI finds Ganglion.", no_args_is_help=True)


@app.command("set")
def set_config(
    host: Annotated[str | None, typer.Option(help="API URL, e.g. http://127.0.0.1:8000")] = None,
    token: Annotated[str | None, typer.Option(help="Access token.")] = None,
    streams_host: Annotated[
        str | None, typer.Option(help="Tracking URL, if not the API's host.")
    ] = None,
    scheduler_host: Annotated[
        str | None, typer.Option(help="Scheduler URL, if not the API's host.")
    ] = None,
    project: Annotated[str | None, typer.Option(help="Default project.")] = None,
) -> None:
    """Store settings in the client config file."""
    changes = {
        k: v
        for k, v in {
            "host": host,
            "token": token,
            "streams_host": streams_host,
            "scheduler_host": scheduler_host,
            "project": project,
        }.items()
        if v is not None
    }
    if changes:
        update_config(**changes)
    echo(f"saved to {config_dir() / 'client.json'}")


@app.command("show")
def show() -> None:
    """Print the settings in effect (environment included)."""
    config = load_config()
    echo(
        f"host: {config.host}\n"
        f"streams_host: {config.streams_host or config.host}\n"
        f"project: {config.project or ''}"
    )
    echo(f"token: {'set' if config.token else 'not set'}")
