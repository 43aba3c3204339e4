"""The artifact store in an S3-compatible bucket (AWS, MinIO, Ceph, ...), through boto3 in worker
threads. Writes stream as multipart uploads (parts of 8 MiB), so no file is held in memory;
an object appears only once its upload completes."""

from __future__ import annotations

import asyncio
import tarfile
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import boto3
from botocore.exceptions import ClientError

from services.tracking.domain.stores.base import ArtifactStore, UnsafePath, safe_relative

PART = 8 << 20


class _Reader:
    """Only `read()`: boto3 then streams the member instead of seeking in the archive."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def read(self, size: int = -1) -> bytes:
        return bytes(self.handle.read(size))


class S3ArtifactStore(ArtifactStore):
    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = safe_relative(prefix)
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url, region_name=region)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _folder(self, prefix: str) -> str:
        return self._key(prefix).rstrip("/") + "/"

    async def _call(self, name: str, **kwargs: Any) -> Any:
        return await asyncio.to_thread(getattr(self.client, name), Bucket=self.bucket, **kwargs)

    async def write(self, key: str, chunks: AsyncIterable[bytes], *, overwrite: bool = True) -> int:
        if not overwrite and await self.exists(key):
            raise FileExistsError(key)
        target = self._key(key)
        upload = await self._call("create_multipart_upload", Key=target)
        upload_id = upload["UploadId"]
        parts: list[dict[str, Any]] = []
        size = 0
        pending: list[bytes] = []
        pending_size = 0

        async def flush() -> None:
            nonlocal pending, pending_size
            number = len(parts) + 1
            answer = await self._call(
                "upload_part",
                Key=target,
                UploadId=upload_id,
                PartNumber=number,
                Body=b"".join(pending),
            )
            parts.append({"ETag": answer["ETag"], "PartNumber": number})
            pending, pending_size = [], 0

        try:
            async for chunk in chunks:
                pending.append(chunk)
                pending_size += len(chunk)
                size += len(chunk)
                if pending_size >= PART:
                    await flush()
            if pending or not parts:
                await flush()
            await self._call(
                "complete_multipart_upload",
                Key=target,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            await asyncio.shield(
                self._call("abort_multipart_upload", Key=target, UploadId=upload_id)
            )
            raise
        return size

    async def read(self, key: str, offset: int = 0) -> AsyncIterator[bytes]:
        ranged = {"Range": f"bytes={offset}-"} if offset else {}
        try:
            answer = await self._call("get_object", Key=self._key(key), **ranged)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from None
            raise
        body = answer["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, PART // 8):
                yield chunk
        finally:
            body.close()

    async def size(self, key: str) -> int | None:
        try:
            answer = await self._call("head_object", Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        return int(answer["ContentLength"])

    async def move(self, source: str, target: str, *, overwrite: bool = True) -> None:
        if not overwrite and await self.exists(target):
            raise FileExistsError(target)
        await asyncio.to_thread(
            self.client.copy,
            {"Bucket": self.bucket, "Key": self._key(source)},
            self.bucket,
            self._key(target),
        )
        await self._call("delete_object", Key=self._key(source))

    async def _objects(self, prefix: str) -> list[dict[str, Any]]:
        folder = self._folder(prefix)

        def collect() -> list[dict[str, Any]]:
            paginator = self.client.get_paginator("list_objects_v2")
            found: list[dict[str, Any]] = []
            for page in paginator.paginate(Bucket=self.bucket, Prefix=folder):
                found.extend(page.get("Contents", []))
            return found

        return await asyncio.to_thread(collect)

    async def listing(self, prefix: str) -> list[tuple[str, int]]:
        folder = self._folder(prefix)
        return sorted(
            (item["Key"][len(folder) :], int(item["Size"])) for item in await self._objects(prefix)
        )

    async def delete(self, key: str) -> bool:
        if not await self.exists(key):
            return False
        await self._call("delete_object", Key=self._key(key))
        return True

    async def delete_tree(self, prefix: str) -> int:
        if not safe_relative(prefix):
            raise UnsafePath("refusing to delete the whole artifact store")
        keys = [item["Key"] for item in await self._objects(prefix)]
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            await self._call("delete_objects", Delete={"Objects": batch, "Quiet": True})
        return len(keys)

    async def extract_tar(self, archive: str, prefix: str) -> int:
        answer = await self._call("get_object", Key=self._key(archive))
        body = answer["Body"]

        def extract() -> int:
            count = 0
            # Stream mode reads the archive once, front to back, as it downloads.
            with tarfile.open(fileobj=body, mode="r|*") as tar:
                for member in tar:
                    if member.isdir():
                        continue
                    if not member.isfile():
                        raise tarfile.TarError(f"{member.name!r} is not a regular file")
                    try:
                        inside = safe_relative(member.name)
                    except UnsafePath:
                        raise tarfile.TarError(f"{member.name!r} leaves the folder") from None
                    if not inside or member.name.startswith("/"):
                        raise tarfile.TarError(f"{member.name!r} is an absolute path")
                    handle = tar.extractfile(member)
                    assert handle is not None
                    target = self._key(f"{prefix}/{inside}")
                    self.client.upload_fileobj(_Reader(handle), self.bucket, target)
                    count += 1
            return count

        try:
            return await asyncio.to_thread(extract)
        finally:
            body.close()
