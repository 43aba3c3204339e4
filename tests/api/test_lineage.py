"""Lineage records (`.../runs/{uuid}/lineage/artifacts`), as Polyaxon's clients send them."""

from __future__ import annotations

import httpx

RUNS = "/api/v1/default/demo/runs"


async def test_record_replace_and_list(api: httpx.AsyncClient, project: str) -> None:
    uuid = (await api.post(RUNS, json={"is_managed": False})).json()["uuid"]
    lineage = f"{RUNS}/{uuid}/lineage/artifacts"
    first = {
        "name": "loss",
        "kind": "metric",
        "path": "events/metric/loss.plx",
        "summary": {"metric": {"count": 2, "last": 0.3}},
        "is_input": False,
        "run": uuid,
        "extra_field_from_a_newer_client": 1,
    }
    created = await api.post(
        lineage, json={"artifacts": [first, {"name": "data", "kind": "dir", "is_input": True}]}
    )
    assert created.status_code == 201, created.text
    again = {**first, "summary": {"metric": {"count": 3, "last": 0.2}}}
    assert (await api.post(lineage, json={"artifacts": [again]})).status_code == 201
    listed = (await api.get(lineage)).json()
    assert listed["count"] == 2
    records = {r["name"]: r for r in listed["results"]}
    assert records["loss"]["summary"] == {"metric": {"count": 3, "last": 0.2}}
    assert records["data"]["is_input"] is True and records["data"]["path"] is None
    # Exactly V1RunArtifact's fields: Polyaxon 2.18's client refuses any other.
    assert set(records["loss"]) == {
        "name", "kind", "path", "state", "summary", "meta_info", "run", "connection", "is_input"
    }  # fmt: skip
    # `polyaxon ops artifacts -l-name/-l-kind` filters with a query.
    named = (await api.get(lineage, params={"query": "name: loss|other"})).json()
    assert [r["name"] for r in named["results"]] == ["loss"]
    kinds = (await api.get(lineage, params={"query": "kind: dir, name: data"})).json()
    assert [r["name"] for r in kinds["results"]] == ["data"]
    page = (await api.get(lineage, params={"limit": 1})).json()
    assert len(page["results"]) == 1 and page["next"] is not None
    # The records go with the run.
    assert (await api.delete(f"{RUNS}/{uuid}")).status_code == 204
    assert (await api.get(lineage)).status_code == 404


async def test_bad_lineage(api: httpx.AsyncClient, project: str) -> None:
    uuid = (await api.post(RUNS, json={"is_managed": False})).json()["uuid"]
    lineage = f"{RUNS}/{uuid}/lineage/artifacts"
    missing = await api.post(lineage, json={"artifacts": [{"kind": "file"}]})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "artifacts", 0, "name"]
    not_a_list = await api.post(lineage, json={"artifacts": {"name": "x"}})
    assert not_a_list.status_code == 422
    unknown = await api.post(
        f"{RUNS}/{'0' * 32}/lineage/artifacts", json={"artifacts": [{"name": "x", "kind": "file"}]}
    )
    assert unknown.status_code == 404 and unknown.json()["detail"][0]["loc"] == ["path", "uuid"]
    assert (await api.get(lineage)).json()["count"] == 0
    for query in ("status: done", "name", "kind:", "name: a, size: 3"):
        bad = await api.get(lineage, params={"query": query})
        assert bad.status_code == 422, query
        assert bad.json()["detail"][0]["loc"] == ["query", "query"]
