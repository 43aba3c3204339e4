"""Artifacts through the tracking service: streaming upload limits, download of a file and of a
folder, tree, deletion, traversal refused everywhere, Polyaxon event files read into series, and
the same API over the S3 store."""

from __future__ import annotations

import io
import tarfile
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from services.tracking.app import create_app
from services.tracking.settings import TrackingSettings
from tests.conftest import Infra
from tests.support.apps import serve
from tests.tracking.test_stores import S3_ENV, s3_endpoint, tar_of
from tests.tracking.test_tracking_service import created

__all__ = ["s3_endpoint"]


@pytest.fixture(params=["local", "s3"])
async def tracking(
    request: pytest.FixtureRequest, infra: Infra, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    extra: dict[str, object] = {}
    if request.param == "s3":
        import boto3

        endpoint = request.getfixturevalue("s3_endpoint")
        for key, value in S3_ENV.items():
            monkeypatch.setenv(key, value)
        bucket = f"artifacts-{infra.prefix}"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
        extra = {"artifact_store": "s3", "s3_bucket": bucket, "s3_endpoint_url": endpoint}
    app = create_app(infra.settings(TrackingSettings, max_upload_bytes=200_000, **extra))
    async with serve(app) as client:
        yield client, app


async def test_upload_download_tree_delete(
    tracking: tuple[httpx.AsyncClient, FastAPI], infra: Infra
) -> None:
    client, _ = tracking
    _, base = await created(infra, client)
    payload = bytes(range(256)) * 700
    up = await client.post(
        f"{base}/artifact",
        files={"upload_file": ("model.bin", payload)},
        data={"path": "outputs/models"},
    )
    assert up.json() == {"path": "outputs/models/model.bin"}, up.text
    folder = await client.post(
        f"{base}/artifact",
        files={"upload_file": ("code.tar.gz", tar_of({"a.py": b"1", "pkg/b.py": b"22"}))},
        data={"path": "code", "untar": "true"},
    )
    assert folder.status_code == 200, folder.text
    down = await client.get(f"{base}/artifact", params={"path": "outputs/models/model.bin"})
    assert down.content == payload and down.headers["content-length"] == str(len(payload))
    tree = (await client.get(f"{base}/artifacts/tree", params={"path": "code"})).json()
    assert tree == {"files": {"a.py": 1}, "dirs": ["pkg"], "is_done": True}
    archive = await client.get(f"{base}/artifacts", params={"path": "code"})
    assert archive.headers["content-type"] == "application/gzip"
    with tarfile.open(fileobj=io.BytesIO(archive.content), mode="r:gz") as tar:
        names = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    assert names == {"a.py": b"1", "pkg/b.py": b"22"}
    assert (
        await client.delete(f"{base}/artifact", params={"path": "code/a.py"})
    ).status_code == 204
    gone = await client.delete(f"{base}/artifact", params={"path": "code/a.py"})
    assert gone.status_code == 404 and gone.json()["detail"][0]["loc"] == ["query", "path"]
    assert (await client.delete(f"{base}/artifacts", params={"path": "code"})).json() == {
        "deleted": 1
    }
    assert (await client.get(f"{base}/artifacts", params={"path": "code"})).status_code == 404
    missing = await client.get(f"{base}/artifact", params={"path": "nope.bin"})
    assert missing.status_code == 404


async def test_limits_and_bad_uploads(
    tracking: tuple[httpx.AsyncClient, FastAPI], infra: Infra
) -> None:
    client, _ = tracking
    _, base = await created(infra, client)
    big = await client.post(
        f"{base}/artifact", files={"upload_file": ("big.bin", b"x" * 300_000)}, data={"path": "o"}
    )
    assert big.status_code == 413 and big.json()["detail"][0]["loc"] == ["body", "upload_file"]
    assert (await client.get(f"{base}/artifacts/tree")).json()["files"] == {}
    no_file = await client.post(f"{base}/artifact", data={"path": "outputs"})
    assert no_file.status_code in (415, 422)
    not_form = await client.post(
        f"{base}/artifact", content=b"raw", headers={"content-type": "application/octet-stream"}
    )
    assert not_form.status_code == 415
    assert not_form.json()["detail"][0]["loc"] == ["header", "content-type"]
    broken = await client.post(
        f"{base}/artifact",
        files={"upload_file": ("b.tar.gz", b"not a tarball")},
        data={"untar": "true"},
    )
    assert broken.status_code == 422 and broken.json()["detail"][0]["type"] == "invalid_archive"


async def test_folder_upload_route_and_check_path(
    tracking: tuple[httpx.AsyncClient, FastAPI], infra: Infra
) -> None:
    """`POST .../artifacts` is where Polyaxon's `upload_artifacts_dir` sends a folder's tar.gz
    (options in the `json` field); a file asked for as a folder with `check_path` comes back
    as itself."""
    client, _ = tracking
    _, base = await created(infra, client)
    folder = await client.post(
        f"{base}/artifacts",
        files={"upload_file": ("uploadsx1.tar.gz", tar_of({"a.txt": b"a", "sub/b.txt": b"bb"}))},
        data={"json": '{"untar": true, "path": "data/set", "overwrite": true}'},
    )
    assert folder.json() == {"path": "data/set"}, folder.text
    tree = (await client.get(f"{base}/artifacts/tree", params={"path": "data/set"})).json()
    assert tree == {"files": {"a.txt": 1}, "dirs": ["sub"], "is_done": True}
    file = await client.get(
        f"{base}/artifacts", params={"path": "data/set/sub/b.txt", "check_path": "true"}
    )
    assert file.content == b"bb" and "tar" not in file.headers["content-disposition"]
    plain = await client.get(f"{base}/artifacts", params={"path": "data/set/sub/b.txt"})
    assert plain.status_code == 404
    broken = await client.post(
        f"{base}/artifacts", files={"upload_file": ("x.tar.gz", b"not a tarball")}
    )
    assert broken.status_code == 422 and broken.json()["detail"][0]["type"] == "invalid_archive"
    bad_json = await client.post(
        f"{base}/artifacts", files={"upload_file": ("x.tar.gz", b"x")}, data={"json": "{"}
    )
    assert bad_json.status_code == 422 and bad_json.json()["detail"][0]["loc"] == ["body", "json"]
    bad_flag = await client.get(f"{base}/artifacts", params={"check_path": "perhaps"})
    assert bad_flag.status_code == 422
    assert bad_flag.json()["detail"][0]["loc"] == ["query", "check_path"]
    escaping = await client.post(
        f"{base}/artifacts",
        files={"upload_file": ("e.tar.gz", tar_of({"../../escaped.txt": b"gotcha"}))},
    )
    assert escaping.status_code == 422
    outside = await client.post(
        f"{base}/artifacts", files={"upload_file": ("x", b"x")}, data={"path": "../up"}
    )
    assert outside.status_code == 422 and outside.json()["detail"][0]["type"] == "unsafe_path"
    assert not any(infra.home.rglob("escaped.txt"))


async def test_traversal_is_refused_on_every_route(
    tracking: tuple[httpx.AsyncClient, FastAPI], infra: Infra
) -> None:
    client, _ = tracking
    _, base = await created(infra, client)
    for path in ("../other-run", "../../../../etc/passwd", "a/../../b"):
        upload = await client.post(
            f"{base}/artifact", files={"upload_file": ("x", b"x")}, data={"path": path}
        )
        assert upload.status_code == 422 and upload.json()["detail"][0]["type"] == "unsafe_path"
        for method, route in (
            ("GET", "artifact"),
            ("GET", "artifacts"),
            ("GET", "artifacts/tree"),
            ("DELETE", "artifact"),
            ("DELETE", "artifacts"),
        ):
            response = await client.request(method, f"{base}/{route}", params={"path": path})
            assert response.status_code == 422, (method, route, path)
            assert response.json()["detail"][0]["loc"] == ["query", "path"]
    escaping = await client.post(
        f"{base}/artifact",
        files={"upload_file": ("e.tar.gz", tar_of({"../../escaped.txt": b"gotcha"}))},
        data={"path": "uploads", "untar": "true"},
    )
    assert escaping.status_code == 422
    assert not any(infra.home.rglob("escaped.txt"))


async def test_polyaxon_event_files_become_series(
    tracking: tuple[httpx.AsyncClient, FastAPI], infra: Infra
) -> None:
    client, _ = tracking
    _, base = await created(infra, client)
    loss = (
        "step|timestamp|metric\n"
        "1|2026-11-22 16:58:51.718442+00:00|0.5\n"
        "2|2026-11-22 16:58:52.718442+00:00|0.3\n"
    )
    for _ in range(2):  # a re-upload of the whole file replaces the series
        response = await client.post(
            f"{base}/artifact",
            files={"upload_file": ("loss.plx", loss.encode())},
            data={"path": "events/metric"},
        )
        assert response.status_code == 200, response.text
    text = "step|timestamp|text\n1|2026-11-22 16:58:51+00:00|hello | world\n"
    await client.post(
        f"{base}/artifact",
        files={"upload_file": ("notes.plx", text.encode())},
        data={"path": "events/text"},
    )
    series = (await client.get(f"{base}/metrics")).json()
    assert [(s["name"], s["count"], s["last"], s["last_step"]) for s in series] == [
        ("loss", 2, 0.3, 2)
    ]
    notes = (await client.get(f"{base}/events/text")).json()["data"][0]["data"]
    assert notes["text"] == [{"text": "hello | world"}]
    kept = await client.get(f"{base}/artifact", params={"path": "events/metric/loss.plx"})
    assert kept.text == loss
