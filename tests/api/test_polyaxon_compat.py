"""What Polyaxon's clients call beyond the core run routes: the version check, bulk tags, and a
transfer of finished runs to another project; each with its bad input."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from pydantic import TypeAdapter

from libs.common.ids import UtcDatetime

RUNS = "/api/v1/default/demo/runs"


async def tracked_run(api: httpx.AsyncClient, name: str) -> str:
    response = await api.post(RUNS, json={"is_managed": False, "name": name, "tags": ["t"]})
    assert response.status_code == 200, response.text
    return str(response.json()["uuid"])


def test_datetimes_go_on_the_wire_with_their_offset() -> None:
    # SQLite hands back naive datetimes; Polyaxon's CLI subtracts them from an aware now.
    wire = TypeAdapter(UtcDatetime)

    def sent(value: datetime) -> str:
        return wire.dump_json(wire.validate_python(value)).decode()

    expected = '"2026-01-02T03:04:05Z"'
    assert sent(datetime(2026, 1, 2, 3, 4, 5)) == expected
    assert sent(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == expected


async def test_compatibility_answers_without_credentials(api: httpx.AsyncClient) -> None:
    anonymous = httpx.AsyncClient(transport=api._transport, base_url=api.base_url)
    async with anonymous:
        response = await anonymous.get("/api/v1/compatibility/0123abcd/2-18-0/cli")
    assert response.status_code == 200, response.text
    assert response.json() == {"cli": {"min": "2.0.0", "latest": "2.18.0"}}


@pytest.mark.parametrize(
    ("path", "loc"),
    [
        ("/api/v1/compatibility/0123abcd/two/cli", ["path", "version"]),
        ("/api/v1/compatibility/0123abcd/2-18-0/toaster", ["path", "service"]),
        ("/api/v1/compatibility/not%20a%20key/2-18-0/cli", ["path", "uuid"]),
    ],
)
async def test_compatibility_names_the_bad_part(
    api: httpx.AsyncClient, path: str, loc: list[str]
) -> None:
    response = await api.get(path)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc


async def test_bulk_tag_adds_tags_to_each_run(api: httpx.AsyncClient, project: str) -> None:
    first, second, third = [await tracked_run(api, n) for n in ("a", "b", "c")]
    response = await api.post(
        f"{RUNS}/tag", json={"uuids": [first, second, "0" * 32], "tags": ["t", "new"]}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"uuids": [first, second], "not_found": ["0" * 32]}
    tags = {u: (await api.get(f"{RUNS}/{u}")).json()["tags"] for u in (first, second, third)}
    assert tags == {first: ["t", "new"], second: ["t", "new"], third: ["t"]}


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"uuids": ["RUN"], "tags": ["x"]}, ["body", "uuids", 0]),
        ({"uuids": [], "tags": ["x"]}, ["body", "uuids"]),
        ({"uuids": ["0" * 32], "tags": []}, ["body", "tags"]),
        ({"uuids": ["0" * 32]}, ["body", "tags"]),
        ({"uuids": ["0" * 32], "tags": [""]}, ["body", "tags", 0]),
    ],
)
async def test_bulk_tag_bad_input(
    api: httpx.AsyncClient, project: str, body: dict[str, object], loc: list[object]
) -> None:
    response = await api.post(f"{RUNS}/tag", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc


async def finished_run(api: httpx.AsyncClient, name: str) -> str:
    uuid = await tracked_run(api, name)
    await api.post(f"{RUNS}/{uuid}/statuses", json={"condition": {"type": "running"}})
    done = await api.post(f"{RUNS}/{uuid}/statuses", json={"condition": {"type": "succeeded"}})
    assert done.status_code in (200, 201), done.text
    return uuid


async def test_a_finished_run_moves_to_another_project(
    api: httpx.AsyncClient, project: str
) -> None:
    await api.post("/api/v1/default/projects/create", json={"name": "other"})
    uuid = await finished_run(api, "moves")
    moved = await api.post(f"{RUNS}/{uuid}/transfer", json={"project": "other"})
    assert moved.status_code == 200, moved.text
    assert (await api.get(f"/api/v1/default/other/runs/{uuid}")).json()["project"] == "other"
    assert (await api.get(f"{RUNS}/{uuid}")).status_code == 404
    first, second = await finished_run(api, "a"), await finished_run(api, "b")
    bulk = await api.post(
        f"{RUNS}/transfer", json={"uuids": [first, second, "0" * 32], "project": "other"}
    )
    assert bulk.status_code == 200, bulk.text
    assert (bulk.json()["uuids"], bulk.json()["not_found"]) == ([first, second], ["0" * 32])
    listed = (await api.get("/api/v1/default/other/runs")).json()
    assert {r["uuid"] for r in listed["results"]} == {uuid, first, second}


async def test_a_run_that_may_still_write_is_not_transferred(
    api: httpx.AsyncClient, project: str
) -> None:
    await api.post("/api/v1/default/projects/create", json={"name": "other"})
    running, finished = await tracked_run(api, "live"), await finished_run(api, "done")
    single = await api.post(f"{RUNS}/{running}/transfer", json={"project": "other"})
    assert single.status_code == 409 and single.json()["detail"][0]["loc"] == ["path", "uuid"]
    assert "only a finished run can be transferred" in single.json()["detail"][0]["msg"]
    # All or none: the finished one stays too.
    bulk = await api.post(
        f"{RUNS}/transfer", json={"uuids": [finished, running], "project": "other"}
    )
    assert bulk.status_code == 409
    assert (await api.get(f"{RUNS}/{finished}")).json()["project"] == "demo"
    assert (await api.get("/api/v1/default/other/runs")).json()["count"] == 0


async def test_transfer_bad_input(api: httpx.AsyncClient, project: str) -> None:
    uuid = await tracked_run(api, "stays")
    missing = await api.post(f"{RUNS}/{uuid}/transfer", json={})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "project"]
    unknown = await api.post(f"{RUNS}/{'0' * 32}/transfer", json={"project": "other"})
    assert unknown.status_code == 404
    assert unknown.json()["detail"][0]["loc"] == ["path", "uuid"]
    nowhere = await api.post(
        "/api/v1/default/nope/runs/transfer", json={"uuids": [uuid], "project": "x"}
    )
    assert nowhere.status_code == 404
    no_destination = await api.post(f"{RUNS}/{uuid}/transfer", json={"project": "nope"})
    assert no_destination.status_code == 404
    assert no_destination.json()["detail"][0]["loc"] == ["body", "project"]
    no_uuids = await api.post(f"{RUNS}/transfer", json={"project": "nope"})
    assert no_uuids.status_code == 422
    assert no_uuids.json()["detail"][0]["loc"] == ["body", "uuids"]
