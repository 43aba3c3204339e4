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
