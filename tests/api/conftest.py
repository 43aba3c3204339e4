from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.api.app import create_app
from services.api.settings import ApiSettings
from tests.conftest import Infra
from tests.support.apps import serve


@pytest.fixture
async def api(infra: Infra) -> AsyncIterator[httpx.AsyncClient]:
    """The api service on Postgres, RabbitMQ and Redis, and a client holding a valid token."""
    async with serve(create_app(infra.settings(ApiSettings))) as client:
        yield client


@pytest.fixture
async def project(api: httpx.AsyncClient) -> str:
    response = await api.post("/api/v1/default/projects/create", json={"name": "demo"})
    assert response.status_code == 200, response.text
    return "demo"
