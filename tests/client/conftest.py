from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ganglion.client import ApiClient
from tests.support.live import Live, embedded


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    """Ganglion embedded, really listening; the client's environment points at it."""
    with embedded(tmp_path / "home") as server:
        monkeypatch.setenv("GANGLION_HOST", server.url)
        monkeypatch.setenv("GANGLION_TOKEN", server.token)
        yield server


@pytest.fixture
def api(live: Live) -> Iterator[ApiClient]:
    with ApiClient(live.url, live.token) as client:
        client.create_project("demo")
        yield client
