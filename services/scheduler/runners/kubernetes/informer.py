"""A list-then-watch cache of one kind of Kubernetes object (what client-go calls an informer):
statuses come from it instead of one API call per run per poll, and every change is reported at
once. A broken or expired watch lists again, so a missed event can only delay, never lose, a
change."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from kubernetes_asyncio.client.exceptions import ApiException

log = logging.getLogger(__name__)

WATCH_SECONDS = 300
"""The server ends each watch after this long; the informer watches again from where it was."""

Call = Callable[..., Awaitable[Any]]
Listener = Callable[[str, dict[str, Any]], None]


async def read_json(call: Awaitable[Any]) -> Any:
    """The body of an API call made with `_preload_content=False`; ApiException on an error."""
    response = await call
    try:
        body = await response.read()
        if not 200 <= response.status <= 299:
            raise ApiException(status=response.status, reason=_reason(body))
        return json.loads(body) if body else None
    finally:
        response.release()


def _reason(body: bytes) -> str:
    try:
        return str(json.loads(body).get("message") or body.decode())
    except (ValueError, AttributeError):
        return body.decode("utf-8", "replace")


def name_of(obj: dict[str, Any]) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


class Informer:
    def __init__(self, what: str, list_call: Call, selector: str, listener: Listener) -> None:
        self.what = what
        self._list = list_call
        self._selector = selector
        self._listener = listener
        self.objects: dict[str, dict[str, Any]] = {}
        self.synced = asyncio.Event()
        """Set while `objects` mirrors the cluster (after a list, while the watch holds)."""
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"informer:{self.what}")

    def put(self, obj: dict[str, Any]) -> None:
        """Record an object this process just wrote, before its watch event arrives."""
        self.objects[name_of(obj)] = obj

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                version = await self._relist()
                self.synced.set()
                delay = 0.5
                while True:
                    version = await self._watch(version)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # 410 Gone (the version expired), a dropped connection, a missing CRD, ...
                self.synced.clear()
                log.warning(
                    "watching %s failed (%r); listing again in %.1fs", self.what, exc, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _relist(self) -> str | None:
        body = await read_json(self._list(label_selector=self._selector, _preload_content=False))
        items = {name_of(obj): obj for obj in body.get("items") or []}
        for name in set(self.objects) - set(items):
            self._emit("DELETED", self.objects.pop(name))
        for name, obj in items.items():
            kind = "MODIFIED" if name in self.objects else "ADDED"
            self.objects[name] = obj
            self._emit(kind, obj)
        version = (body.get("metadata") or {}).get("resourceVersion")
        return str(version) if version else None

    async def _watch(self, version: str | None) -> str | None:
        options: dict[str, Any] = {
            "label_selector": self._selector,
            "watch": True,
            "allow_watch_bookmarks": True,
            "timeout_seconds": WATCH_SECONDS,
            "_preload_content": False,
        }
        if version:
            options["resource_version"] = version
        response = await self._list(**options)
        try:
            if response.status != 200:
                raise ApiException(status=response.status, reason=_reason(await response.read()))
            async for raw in response.content:
                if not raw.strip():
                    continue
                event = json.loads(raw)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    raise ApiException(status=obj.get("code"), reason=obj.get("message"))
                version = str(obj.get("metadata", {}).get("resourceVersion") or version or "")
                if kind == "BOOKMARK":
                    continue
                if kind == "DELETED":
                    self.objects.pop(name_of(obj), None)
                else:
                    self.objects[name_of(obj)] = obj
                self._emit(str(kind), obj)
        finally:
            response.release()
        return version or None

    def _emit(self, kind: str, obj: dict[str, Any]) -> None:
        try:
            self._listener(kind, obj)
        except Exception:
            log.exception("%s listener failed on %s %s", self.what, kind, name_of(obj))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.synced.clear()
