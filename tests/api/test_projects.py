"""Projects over HTTP, Polyaxon's paths and shapes."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Infra
from tests.support.apps import published_now


async def test_create_get_list_delete(api: httpx.AsyncClient, infra: Infra) -> None:
    created = await api.post(
        "/api/v1/default/projects/create",
        json={"name": "myproj", "description": "d", "tags": ["a", "b"], "is_public": False},
    )
    assert created.status_code == 200
    body = created.json()
    assert {k: body[k] for k in ("owner", "name", "description", "tags", "is_public")} == {
        "owner": "default", "name": "myproj", "description": "d", "tags": ["a", "b"], "is_public": False
    }  # fmt: skip
    assert len(body["uuid"]) == 32
    got = await api.get("/api/v1/default/myproj")
    assert got.json()["uuid"] == body["uuid"]
    listed = (await api.get("/api/v1/default/projects/list")).json()
    assert listed["count"] == 1
    assert [p["name"] for p in listed["results"]] == ["myproj"]
    assert (await api.delete("/api/v1/default/myproj")).status_code == 204
    assert (await api.get("/api/v1/default/myproj")).status_code == 404
    # On start the api announced its configured token to the services that check tokens.
    announced = await published_now(infra, "tracking.token_created", 1)
    assert [e.name for e in announced] == ["api.token.created"]


async def test_pagination_links(api: httpx.AsyncClient) -> None:
    for i in range(5):
        await api.post("/api/v1/default/projects/create", json={"name": f"p{i}"})
    page = (
        await api.get(
            "/api/v1/default/projects/list", params={"limit": 2, "offset": 2, "sort": "name"}
        )
    ).json()
    assert page["count"] == 5
    assert [p["name"] for p in page["results"]] == ["p2", "p3"]
    assert "offset=4" in page["next"] and "limit=2" in page["next"]
    assert "offset=0" in page["previous"]
    last = (await api.get("/api/v1/default/projects/list", params={"limit": 2, "offset": 4})).json()
    assert last["next"] is None


async def test_update_and_no_rename(api: httpx.AsyncClient, project: str) -> None:
    updated = await api.patch(f"/api/v1/default/{project}", json={"description": "new"})
    assert updated.json()["description"] == "new"
    renamed = await api.patch(f"/api/v1/default/{project}", json={"name": "other"})
    assert renamed.status_code == 422
    assert renamed.json()["detail"][0]["loc"] == ["body", "name"]


@pytest.mark.parametrize(
    ("body", "status", "loc"),
    [
        ({"name": "has space"}, 422, ["body", "name"]),
        ({"name": "runs"}, 422, ["body", "name"]),
        ({}, 422, ["body", "name"]),
        ({"name": "ok", "tags": "not-a-list"}, 422, ["body", "tags"]),
    ],
)
async def test_bad_project_input(
    api: httpx.AsyncClient, body: dict[str, object], status: int, loc: list[str]
) -> None:
    response = await api.post("/api/v1/default/projects/create", json=body)
    assert response.status_code == status
    assert response.json()["detail"][0]["loc"] == loc


async def test_duplicate_and_unknown(api: httpx.AsyncClient, project: str) -> None:
    again = await api.post("/api/v1/default/projects/create", json={"name": project})
    assert again.status_code == 409
    assert "already exists" in again.json()["detail"][0]["msg"]
    missing = await api.get("/api/v1/default/nope")
    assert missing.status_code == 404
    assert "project default/nope" in missing.json()["detail"][0]["msg"]
    owner = await api.get("/api/v1/someone/projects/list")
    assert owner.status_code == 404
    assert owner.json()["detail"][0]["loc"] == ["path", "owner"]


async def test_malformed_json_body(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/v1/default/projects/create",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"
