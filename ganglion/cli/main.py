"""The `ganglion` command. User errors print one line and exit 2; nothing prints a traceback."""

from __future__ import annotations

import sys

import typer

from ganglion.cli import ops, presets, projects, queues, server, settings_cmd
from ganglion.cli import run as run_cmd
from ganglion.cli.common import UserError
from ganglion.client import GanglionError

app = typer.Typer(
    help="Ganglion: run, track, tune and automate ML experiments.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(server.up)
app.command()(server.down)
app.command()(server.service)
app.command()(server.migrate)
app.command("run")(run_cmd.run)
app.command("check")(run_cmd.check)
app.add_typer(settings_cmd.app, name="config")
app.add_typer(projects.app, name="project")
app.add_typer(ops.app, name="ops")
app.add_typer(queues.queues, name="queue")
app.add_typer(queues.quotas, name="quota")
app.add_typer(presets.presets, name="preset")


def main(argv: list[str] | None = None) -> int:
    try:
        # Standalone: typer reports usage errors (exit code 2) and turns Exit into SystemExit.
        app(args=argv, prog_name="ganglion")
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    except GanglionError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        return 2 if exc.is_client_error else 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
