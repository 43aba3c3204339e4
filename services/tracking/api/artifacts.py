"""Artifacts with Polyaxon's paths: streaming multipart upload (`upload_file`, `path`, `untar`,
`overwrite`), download of a file or a folder (as tar.gz, streamed), tree listing, deletion.
Uploaded `events/<kind>/<name>.plx` files (what Polyaxon's client writes) become series."""

from __future__ import annotations

import json
import tarfile
import time
import zlib
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from libs.common.http import ApiError, not_found
from libs.common.runtime import Runtime
from services.tracking.deps import (
    ReadableRun,
    RunRef,
    RuntimeDep,
    SettingsDep,
    StoreDep,
    WritableRun,
)
from services.tracking.domain.multipart import End, Part, parts
from services.tracking.domain.plx import import_event_file, is_event_file
from services.tracking.domain.stores.base import (
    ArtifactStore,
    TooLarge,
    Tree,
    UnsafePath,
    run_key,
    safe_relative,
    staging_key,
)
from services.tracking.settings import TrackingSettings

router = APIRouter(
    prefix="/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}", tags=["artifacts"]
)

FILE_FIELDS = ("upload_file", "uploadfile", "file")
PathQuery = Annotated[str, Query(description="Path inside the run's artifacts.")]


def _unsafe(exc: UnsafePath, loc: tuple[str, str]) -> ApiError:
    return ApiError(422, str(exc), loc=loc, type="unsafe_path")


def _key(project: str, uuid: object, path: str, loc: tuple[str, str]) -> str:
    try:
        return run_key(project, uuid, path)  # type: ignore[arg-type]
    except UnsafePath as exc:
        raise _unsafe(exc, loc) from None


def _flag(raw: object, default: bool) -> bool:
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    return str(raw).strip().lower() in ("1", "true", "t", "yes", "on")


def _options(fields: dict[str, str]) -> dict[str, object]:
    """Form fields, and Polyaxon 2.x's way: one `json` field holding path, untar, overwrite."""
    options: dict[str, object] = dict(fields)
    if "json" in fields:
        try:
            packed = json.loads(fields["json"])
        except ValueError:
            raise ApiError(
                422, "the `json` field is not JSON", loc=("body", "json"), type="json_invalid"
            ) from None
        if not isinstance(packed, dict):
            raise ApiError(
                422, "the `json` field must be an object", loc=("body", "json"), type="invalid"
            )
        options.update({k: v for k, v in packed.items() if k in ("path", "untar", "overwrite")})
    return options


UploadPath = Annotated[str | None, Query(description="Also accepted as a form field.")]


@router.post("/artifact")
async def upload_artifact(
    run: WritableRun,
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    runtime: RuntimeDep,
    path: UploadPath = None,
) -> dict[str, str]:
    """Form fields `path` (folder inside the run's artifacts), `untar` (the file is a tar.gz of
    a folder), `overwrite` (default true), or the three in one `json` field as Polyaxon 2.x
    sends them, and the file in `upload_file`. The file streams to
    the store; a body over `GANGLION_TRACKING_MAX_UPLOAD_BYTES` is refused with 413."""
    return await _upload(run, request, store, settings, runtime, path, untar_default=False)


@router.post("/artifacts")
async def upload_artifacts(
    run: WritableRun,
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    runtime: RuntimeDep,
    path: UploadPath = None,
) -> dict[str, str]:
    """A folder as one tar.gz (`polyaxon ops upload` of a directory, `upload_artifacts_dir`):
    the same form as `POST .../artifact`, with `untar` true unless the form says otherwise.
    The archive's members land under `path`."""
    return await _upload(run, request, store, settings, runtime, path, untar_default=True)


async def _upload(
    run: RunRef,
    request: Request,
    store: ArtifactStore,
    settings: TrackingSettings,
    runtime: Runtime,
    path: str | None,
    *,
    untar_default: bool,
) -> dict[str, str]:
    fields: dict[str, str] = {}
    staged: str | None = None
    filename = "upload"
    size = 0
    stream = parts(request)

    async def file_bytes() -> AsyncIterator[bytes]:
        nonlocal size
        async for inner in stream:
            if isinstance(inner, End):
                return
            if isinstance(inner, bytes):
                size += len(inner)
                if size > settings.max_upload_bytes:
                    raise TooLarge()
                yield inner

    try:
        async for item in stream:
            if not isinstance(item, Part):
                continue
            if item.filename is not None and item.name in FILE_FIELDS:
                if staged is not None:
                    raise ApiError(
                        422, "one file per request", loc=("body", item.name), type="too_many"
                    )
                filename = item.filename or "upload"
                staged = staging_key()
                await store.write(staged, file_bytes())
                continue
            value = bytearray()
            async for inner in stream:
                if isinstance(inner, End):
                    break
                if isinstance(inner, bytes):
                    value.extend(inner)
                    if len(value) > 65_536:
                        raise ApiError(
                            422, "form field too long", loc=("body", item.name), type="too_long"
                        )
            fields[item.name] = value.decode("utf-8", errors="replace")
    except TooLarge:
        raise ApiError(
            413,
            f"upload over {settings.max_upload_bytes} bytes (GANGLION_TRACKING_MAX_UPLOAD_BYTES)",
            loc=("body", "upload_file"),
            type="too_large",
        ) from None
    if staged is None:
        raise ApiError(
            422,
            "no file: send it in the form field `upload_file`",
            loc=("body", "upload_file"),
            type="missing",
        )
    options = _options(fields)
    folder = str(options.get("path") or path or "")
    untar = _flag(options.get("untar"), untar_default)
    overwrite = _flag(options.get("overwrite"), True)
    try:
        try:
            prefix = run_key(run.project, run.uuid, folder)
            relative = safe_relative(folder)
            if untar:
                await store.extract_tar(staged, prefix)
                return {"path": relative}
            name = safe_relative(filename.rsplit("/", 1)[-1]) or "upload"
            relative = f"{relative}/{name}".lstrip("/")
            target = run_key(run.project, run.uuid, relative)
            await store.move(staged, target, overwrite=overwrite)
            staged = None
        except UnsafePath as exc:
            raise _unsafe(exc, ("body", "path")) from None
        except FileExistsError:
            raise ApiError(
                409,
                f"{folder}/{filename} exists; send overwrite=true to replace it",
                loc=("body", "path"),
                type="conflict",
            ) from None
        except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
            if isinstance(exc, FileNotFoundError | PermissionError):
                raise
            raise ApiError(
                422,
                f"not a valid tar archive: {exc}",
                loc=("body", "upload_file"),
                type="invalid_archive",
            ) from None
    finally:
        if staged is not None:
            await store.delete(staged)
    if is_event_file(relative):
        await import_event_file(runtime.db, store, run.uuid, target, relative)
    return {"path": relative}


@router.get("/artifact")
async def download_artifact(run: ReadableRun, store: StoreDep, path: PathQuery) -> Response:
    key = _key(run.project, run.uuid, path, ("query", "path"))
    size = await store.size(key)
    if size is None:
        raise not_found(f"file {path!r} of run {run.uuid.hex}", ("query", "path"))
    name = key.rsplit("/", 1)[-1].replace('"', "")
    return StreamingResponse(
        store.read(key),
        media_type="application/octet-stream",
        headers={
            "content-length": str(size),
            "content-disposition": f'attachment; filename="{name}"',
        },
    )


async def _tar_gz(
    store: ArtifactStore, prefix: str, files: list[tuple[str, int]]
) -> AsyncIterator[bytes]:
    # Written by hand from tarfile's headers so that each file streams through once.
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    now = int(time.time())
    for relative, size in files:
        info = tarfile.TarInfo(relative)
        info.size, info.mtime, info.mode = size, now, 0o644
        yield packer.compress(info.tobuf(tarfile.PAX_FORMAT))
        left = size
        async for chunk in store.read(f"{prefix}/{relative}"):
            piece = chunk[:left]
            left -= len(piece)
            yield packer.compress(piece)
            if left == 0:
                break
        # A file that shrank since it was listed is padded to the size its header announced.
        yield packer.compress(b"\0" * (left + (-size) % tarfile.BLOCKSIZE))
    yield packer.compress(b"\0" * (2 * tarfile.BLOCKSIZE))
    yield packer.flush()


@router.get("/artifacts")
async def download_folder(
    run: ReadableRun,
    store: StoreDep,
    path: PathQuery = "",
    check_path: Annotated[
        bool, Query(description="If `path` is a file, send the file itself, not a tar.gz.")
    ] = False,
) -> Response:
    """A folder of the run's artifacts as a tar.gz, streamed as it is read. Polyaxon's client
    sends `check_path=true` for a lineage entry that may be a file or a folder."""
    prefix = _key(run.project, run.uuid, path, ("query", "path"))
    files = await store.listing(prefix)
    if not files and check_path and safe_relative(path):
        return await download_artifact(run, store, path)
    if not files:
        raise not_found(f"folder {path!r} of run {run.uuid.hex}", ("query", "path"))
    name = (safe_relative(path).replace("/", "-") or run.uuid.hex).replace('"', "")
    return StreamingResponse(
        _tar_gz(store, prefix, files),
        media_type="application/gzip",
        headers={"content-disposition": f'attachment; filename="{name}.tar.gz"'},
    )


@router.get("/artifacts/tree")
async def tree(run: ReadableRun, store: StoreDep, path: PathQuery = "") -> Tree:
    """V1ArtifactTree: `{files: {name: size}, dirs: [...], is_done}` directly under `path`."""
    return await store.tree(_key(run.project, run.uuid, path, ("query", "path")))


@router.delete("/artifact", status_code=204)
async def delete_artifact(run: WritableRun, store: StoreDep, path: PathQuery) -> Response:
    key = _key(run.project, run.uuid, path, ("query", "path"))
    if not safe_relative(path) or not await store.delete(key):
        raise not_found(f"file {path!r} of run {run.uuid.hex}", ("query", "path"))
    return Response(status_code=204)


@router.delete("/artifacts")
async def delete_folder(run: WritableRun, store: StoreDep, path: PathQuery = "") -> dict[str, int]:
    """Delete a folder of the run's artifacts (all of them when `path` is empty)."""
    deleted = await store.delete_tree(_key(run.project, run.uuid, path, ("query", "path")))
    return {"deleted": deleted}
