"""The client's configuration: `<config dir>/client.json`, overridden by `GANGLION_HOST`,
`GANGLION_TOKEN`, `GANGLION_STREAMS_HOST`, `GANGLION_SCHEDULER_HOST` and `GANGLION_PROJECT`.
The config dir is `GANGLION_CONFIG_DIR`, or `~/.ganglion`."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_HOST = "http://127.0.0.1:8000"


def config_dir() -> Path:
    return Path(os.environ.get("GANGLION_CONFIG_DIR") or Path.home() / ".ganglion")


@dataclass
class ClientConfig:
    host: str = DEFAULT_HOST
    token: str | None = None
    streams_host: str | None = None
    scheduler_host: str | None = None
    project: str | None = None
    owner: str = "default"
    last_runs: dict[str, str] = field(default_factory=dict)
    """The last run touched in each project, for commands given no run uuid."""

    @property
    def tracking_host(self) -> str:
        return self.streams_host or self.host


def _file() -> Path:
    return config_dir() / "client.json"


def load_config(*, environment: bool = True) -> ClientConfig:
    config = ClientConfig()
    path = _file()
    if path.exists():
        data = json.loads(path.read_text())
        known = {k: v for k, v in data.items() if k in ClientConfig.__dataclass_fields__}
        config = ClientConfig(**known)
    if environment:
        config.host = os.environ.get("GANGLION_HOST") or config.host
        config.token = os.environ.get("GANGLION_TOKEN") or config.token
        config.streams_host = os.environ.get("GANGLION_STREAMS_HOST") or config.streams_host
        config.scheduler_host = os.environ.get("GANGLION_SCHEDULER_HOST") or config.scheduler_host
        config.project = os.environ.get("GANGLION_PROJECT") or config.project
    return config


def save_config(config: ClientConfig) -> Path:
    path = _file()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(config), indent=2))
    temporary.chmod(0o600)
    temporary.replace(path)
    return path


def update_config(**changes: object) -> ClientConfig:
    """Change the stored file only (not what the environment overrides)."""
    config = load_config(environment=False)
    for key, value in changes.items():
        setattr(config, key, value)
    save_config(config)
    return config
