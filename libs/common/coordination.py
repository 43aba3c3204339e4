"""What may be lost: locks between replicas (and later heartbeats). Redis in production; an
in-process stand-in when every service shares one process (embedded)."""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from redis.asyncio import Redis
from redis.exceptions import LockError


class Coordinator(ABC):
    @abstractmethod
    def hold(self, name: str, ttl: float) -> AbstractAsyncContextManager[bool]:
        """Try to take the lock `name` for at most `ttl` seconds without waiting; yield whether
        this caller holds it."""

    @abstractmethod
    async def ping(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...


class LocalCoordinator(Coordinator):
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def hold(self, name: str, ttl: float) -> AsyncIterator[bool]:
        lock = self._locks.setdefault(name, asyncio.Lock())
        if lock.locked():
            yield False
            return
        async with lock:
            yield True

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisCoordinator(Coordinator):
    def __init__(self, url: str, *, prefix: str = "ganglion") -> None:
        self.redis: Redis = Redis.from_url(url)
        self.prefix = prefix

    @asynccontextmanager
    async def hold(self, name: str, ttl: float) -> AsyncIterator[bool]:
        lock = self.redis.lock(f"{self.prefix}:lock:{name}", timeout=ttl, blocking=False)
        acquired = bool(await lock.acquire())
        try:
            yield acquired
        finally:
            if acquired:
                # It may have expired while we worked; then it is someone else's now.
                with contextlib.suppress(LockError):
                    await lock.release()

    async def ping(self) -> None:
        await self.redis.ping()

    async def close(self) -> None:
        await self.redis.aclose()
