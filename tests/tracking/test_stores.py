"""Artifact store conformance: every implementation (local filesystem; S3 through moto's
S3-compatible server, a third party's stand-in) passes the same tests."""

from __future__ import annotations

import io
import tarfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import boto3
import pytest
from moto.server import ThreadedMotoServer

from libs.common.logs import LogLine
from services.tracking.domain.stores.base import (
    ArtifactStore,
    UnsafePath,
    run_key,
    run_prefix,
    safe_relative,
)
from services.tracking.domain.stores.local import LocalArtifactStore
from services.tracking.domain.stores.s3 import S3ArtifactStore
from tests.support.live import free_port

S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def s3_store(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> S3ArtifactStore:
    for key, value in S3_ENV.items():
        monkeypatch.setenv(key, value)
    bucket = f"b-{uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return S3ArtifactStore(bucket, prefix="ganglion", endpoint_url=endpoint, region="us-east-1")


@pytest.fixture(params=["local", "s3"])
async def store(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[ArtifactStore]:
    if request.param == "local":
        yield LocalArtifactStore(tmp_path / "artifacts")
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        yield s3_store(endpoint, monkeypatch)


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def tar_of(files: dict[str, bytes], *, link: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo("link")
            info.type, info.linkname = tarfile.SYMTYPE, link
            archive.addfile(info)
    return buffer.getvalue()


def test_safe_relative_refuses_climbing_out() -> None:
    assert safe_relative("a/./b//c/../d") == "a/b/d"
    assert safe_relative("/outputs/x") == "outputs/x"
    for bad in ("..", "../x", "a/../../b", "/abs/../../..", "a\\..\\..\\b", "x\x00y"):
        with pytest.raises(UnsafePath):
            safe_relative(bad)
    uuid = uuid4()
    assert run_key("demo", uuid, "") == f"demo/{uuid.hex}"


async def test_write_read_move_delete(store: ArtifactStore) -> None:
    key = run_key("demo", uuid4(), "outputs/model.bin")
    big = bytes(range(256)) * 40_000  # 10 MB: more than one S3 part
    assert await store.write(key, chunks(big[:3_000_000], big[3_000_000:])) == len(big)
    assert await store.size(key) == len(big)
    assert await store.read_all(key) == big
    with pytest.raises(FileExistsError):
        await store.write(key, chunks(b"x"), overwrite=False)
    assert await store.read_all(key) == big
    moved = key.replace("model.bin", "final/model.bin")
    await store.move(key, moved)
    assert await store.size(key) is None and await store.size(moved) == len(big)
    assert await store.delete(moved) is True
    assert await store.delete(moved) is False
    with pytest.raises(FileNotFoundError):
        await store.read_all(moved)


async def test_a_failed_write_leaves_nothing(store: ArtifactStore) -> None:
    key = run_key("demo", uuid4(), "outputs/partial.bin")

    async def broken() -> AsyncIterator[bytes]:
        yield b"first part"
        raise RuntimeError("the client went away")

    with pytest.raises(RuntimeError):
        await store.write(key, broken())
    assert await store.size(key) is None
    assert await store.listing(key.rsplit("/", 2)[0]) == []


async def test_listing_tree_and_folder_deletion(store: ArtifactStore) -> None:
    run = uuid4()
    for relative in ("outputs/a.txt", "outputs/deep/b.txt", "logs/x.jsonl", "top.txt"):
        await store.write_bytes(run_key("demo", run, relative), relative.encode())
    prefix = run_key("demo", run, "")
    assert [p for p, _ in await store.listing(prefix)] == [
        "logs/x.jsonl",
        "outputs/a.txt",
        "outputs/deep/b.txt",
        "top.txt",
    ]
    tree = await store.tree(run_key("demo", run, "outputs"))
    assert tree.files == {"a.txt": 5 + len("outputs/")} and tree.dirs == ["deep"]
    assert await store.delete_tree(run_key("demo", run, "outputs")) == 2
    assert [p for p, _ in await store.listing(prefix)] == ["logs/x.jsonl", "top.txt"]
    with pytest.raises(UnsafePath):
        await store.delete_tree("")


async def test_extract_tar_refuses_escapes(store: ArtifactStore) -> None:
    run = uuid4()
    archive = run_key("demo", run, "upload.tar.gz")
    await store.write_bytes(archive, tar_of({"train.py": b"print(1)", "pkg/util.py": b"x = 1"}))
    assert await store.extract_tar(archive, run_key("demo", run, "code")) == 2
    assert await store.read_all(run_key("demo", run, "code/pkg/util.py")) == b"x = 1"
    for evil in (tar_of({"../../escaped.txt": b"gotcha"}), tar_of({}, link="/etc/passwd")):
        await store.write_bytes(archive, evil)
        with pytest.raises(tarfile.TarError):
            await store.extract_tar(archive, run_key("demo", run, "evil"))
    names = [p for p, _ in await store.listing(run_key("demo", run, ""))]
    assert not any("escaped" in n or n.startswith("evil/link") for n in names)


async def test_logs_append_and_read_in_time_order(store: ArtifactStore) -> None:
    run = uuid4()
    t = [datetime(2026, 1, 1, 0, 0, s, tzinfo=UTC) for s in range(4)]
    await store.append_logs("demo", run, "sdk", [LogLine(timestamp=t[2], value="c")])
    await store.append_logs("demo", run, "sdk", [LogLine(timestamp=t[0], value="a")])
    await store.append_logs(
        "demo",
        run,
        "main",
        [LogLine(timestamp=t[1], value="b"), LogLine(timestamp=t[3], value="d")],
    )
    assert [line.value for line in await store.read_logs("demo", run)] == ["a", "b", "c", "d"]
    await store.delete_run("demo", run)
    assert await store.read_logs("demo", run) == []


async def test_following_logs_reads_only_what_each_file_gained(store: ArtifactStore) -> None:
    run = uuid4()
    t = [datetime(2026, 1, 1, 0, 0, s, tzinfo=UTC) for s in range(5)]
    cursor: dict[str, int] = {}
    assert await store.read_new_logs("demo", run, cursor) == []
    await store.append_logs("demo", run, "main", [LogLine(timestamp=t[0], value="a")])
    await store.append_logs("demo", run, "sdk", [LogLine(timestamp=t[1], value="b")])
    assert [x.value for x in await store.read_new_logs("demo", run, cursor)] == ["a", "b"]
    assert await store.read_new_logs("demo", run, cursor) == []
    await store.append_logs("demo", run, "main", [LogLine(timestamp=t[3], value="d")])
    await store.append_logs("demo", run, "sdk", [LogLine(timestamp=t[2], value="c")])
    # A line from another file that is older than the last one sent is still sent.
    assert [x.value for x in await store.read_new_logs("demo", run, cursor)] == ["c", "d"]
    # A line still being written waits until it is complete.
    key = run_key("demo", run, "logs/writer.jsonl")
    whole = LogLine(timestamp=t[4], value="e").model_dump_json().encode() + b"\n"
    await store.write_bytes(key, whole[:10])
    assert await store.read_new_logs("demo", run, cursor) == []
    await store.write_bytes(key, whole)
    assert [x.value for x in await store.read_new_logs("demo", run, cursor)] == ["e"]
    assert await store.read_new_logs("demo", run, cursor) == []


async def test_a_run_folder_moves_whole_and_a_second_move_finds_nothing(
    store: ArtifactStore,
) -> None:
    run = uuid4()
    await store.write_bytes(run_key("old", run, "outputs/model.bin"), b"weights")
    await store.write_bytes(run_key("old", run, "logs/main.jsonl"), b"{}\n")
    assert await store.move_tree(run_prefix("old", run), run_prefix("new", run)) == 2
    assert await store.read_all(run_key("new", run, "outputs/model.bin")) == b"weights"
    assert await store.listing(run_prefix("old", run)) == []
    assert await store.move_tree(run_prefix("old", run), run_prefix("new", run)) == 0
    # Into a folder that already holds files: file by file, the other files stay.
    await store.write_bytes(run_key("old", run, "outputs/late.txt"), b"late")
    assert await store.move_tree(run_prefix("old", run), run_prefix("new", run)) == 1
    assert [p for p, _ in await store.listing(run_prefix("new", run))] == [
        "logs/main.jsonl",
        "outputs/late.txt",
        "outputs/model.bin",
    ]
