"""Artifact upload, as Polyaxon's clients do it: multipart `upload_file`, with `path`, `untar`."""

from __future__ import annotations

import tarfile
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from libs.common.http import ApiError
from services.tracking.deps import SettingsDep, StoreDep, WritableRun
from services.tracking.domain.store import UnsafePath

router = APIRouter(
    prefix="/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}", tags=["artifacts"]
)


@router.post("/artifact")
async def upload_artifact(
    run: WritableRun,
    store: StoreDep,
    settings: SettingsDep,
    upload_file: Annotated[
        UploadFile, File(description="The file, or a tar.gz of a folder with untar=true.")
    ],
    path: Annotated[str, Form(description="Folder inside the run's artifacts to put it in.")] = "",
    untar: Annotated[bool, Form()] = False,
    overwrite: Annotated[bool, Form()] = True,
) -> dict[str, str]:
    if upload_file.size is not None and upload_file.size > settings.max_upload_bytes:
        raise ApiError(
            413,
            f"upload of {upload_file.size} bytes; the limit is {settings.max_upload_bytes}",
            loc=("body", "upload_file"),
            type="too_large",
        )
    try:
        folder = store.resolve(run.project, run.uuid, path)
        if untar:
            await store.untar(folder, upload_file.file)
            return {"path": path}
        name = upload_file.filename or "upload"
        target = store.resolve(run.project, run.uuid, f"{path}/{name}")
        await store.save(target, upload_file.file, overwrite=overwrite)
    except UnsafePath as exc:
        raise ApiError(422, str(exc), loc=("body", "path"), type="unsafe_path") from None
    except (tarfile.TarError, EOFError, OSError) as exc:
        if isinstance(exc, FileExistsError):
            raise ApiError(
                409,
                f"{path}/{name} exists; send overwrite=true to replace it",
                loc=("body", "path"),
                type="conflict",
            ) from None
        if isinstance(exc, tarfile.TarError | EOFError):
            raise ApiError(
                422,
                f"not a valid tar archive: {exc}",
                loc=("body", "upload_file"),
                type="invalid_archive",
            ) from None
        raise
    return {"path": f"{path}/{name}".lstrip("/")}
