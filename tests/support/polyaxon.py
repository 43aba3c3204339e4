"""The real `polyaxon` 2.18 client in a venv of its own (it pins libraries ours do not share),
created on first use with uv from PyPI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

VENV = Path(__file__).resolve().parents[2] / ".bench" / "polyaxon-venv"
REQUIREMENTS = ("polyaxon==2.18.0", "pandas")


def polyaxon_python() -> Path:
    python = VENV / "bin" / "python"
    ready = VENV / ".ready"
    if not ready.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        uv = Path(sys.executable).parent / "uv"
        subprocess.run(
            [str(uv), "pip", "install", "--quiet", "--python", str(python), *REQUIREMENTS],
            check=True,
            timeout=600,
        )
        ready.touch()
    return python


def polyaxon_cli(
    host: str, token: str, home: Path, *args: str, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the real `polyaxon` CLI against a Ganglion at `host`, with a home of its own so no
    user configuration leaks in; returns the finished process (the caller checks it)."""
    cli = polyaxon_python().parent / "polyaxon"
    env = {
        "PATH": f"{cli.parent}:/usr/bin:/bin",
        "HOME": str(home),
        "POLYAXON_HOME": str(home / ".polyaxon"),
        "POLYAXON_HOST": host,
        "POLYAXON_AUTH_TOKEN": token,
        "POLYAXON_NO_OP": "false",
        "POLYAXON_INTERACTIVE": "false",
        # Wide enough that the CLI's tables print uuids and names whole.
        "COLUMNS": "240",
    }
    return subprocess.run(
        [str(cli), *args],
        env=env,
        cwd=cwd or home,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
