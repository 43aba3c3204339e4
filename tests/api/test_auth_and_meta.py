"""Tokens on every route but health; who am I; the installation; OpenAPI."""

from __future__ import annotations

import httpx
import pytest

from services.api.app import create_app
from services.api.settings import ApiSettings
from tests.conftest import Infra
from tests.support.apps import serve


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing or malformed Authorization header"),
        ({"Authorization": "Token"}, "missing or malformed Authorization header"),
        ({"Authorization": "Basic abc"}, "missing or malformed Authorization header"),
        ({"Authorization": "Token wrong-token-value"}, "invalid token"),
    ],
)
async def test_routes_need_a_valid_token(
    api: httpx.AsyncClient, headers: dict[str, str], message: str
) -> None:
    for path in ("/api/v1/users", "/api/v1/default/projects/list", "/api/v1/installation"):
        response = await api.get(path, headers={"Authorization": ""} | headers)
        assert response.status_code == 401
        detail = response.json()["detail"][0]
        assert detail["loc"] == ["header", "Authorization"]
        assert message in detail["msg"]


async def test_bearer_is_accepted(api: httpx.AsyncClient) -> None:
    token = api.headers["Authorization"].split()[1]
    assert (
        await api.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    ).status_code == 200


async def test_health_needs_no_token(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz", headers={"Authorization": ""})).json() == {"status": "ok"}
    ready = await api.get("/readyz", headers={"Authorization": ""})
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "bus": "ok", "coordinator": "ok"}


async def test_who_am_i_and_installation(api: httpx.AsyncClient) -> None:
    assert (await api.get("/api/v1/users")).json()["username"] == "admin"
    installation = (await api.get("/api/v1/installation")).json()
    assert (
        installation["dist"] == "ce"
        and len(installation["key"]) == 32
        and installation["auth"] == ["token"]
    )


async def test_openapi_documents_the_routes(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    for path in (
        "/api/v1/{owner}/projects/create",
        "/api/v1/{owner}/{project}/runs",
        "/api/v1/{owner}/{project}/runs/{uuid}/statuses",
    ):
        assert path in spec["paths"]


async def test_unknown_path_is_a_clean_404(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v2/nothing/here/at/all")
    assert response.status_code == 404
    assert response.json()["detail"][0]["msg"] == "Not Found"


async def test_first_start_without_a_configured_token_prints_one(
    infra: Infra, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = infra.settings(ApiSettings, token=None)
    async with serve(create_app(settings), auth=False) as client:
        printed = capsys.readouterr().err
        assert "first access token:" in printed
        token = printed.split("first access token:")[1].split()[0]
        assert (
            await client.get("/api/v1/users", headers={"Authorization": f"Token {token}"})
        ).status_code == 200
    # A second start keeps the same token and prints nothing new.
    async with serve(create_app(settings), auth=False) as client:
        assert "first access token" not in capsys.readouterr().err
        assert (
            await client.get("/api/v1/users", headers={"Authorization": f"Token {token}"})
        ).status_code == 200
