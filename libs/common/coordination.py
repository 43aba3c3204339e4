"""What may be lost: locks and heartbeats between replicas. Redis in production; an
in-process stand-in when every service shares one process (embedded)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from redis.asyncio import Redis
from redis.exceptions import LockError


class Coordinator(ABC):
    @abstractmethod
    def hold(self, name: str, ttl: float) -> AbstractAsyncContextManager[bool]:
        """Try to take the lock `name` for at most `ttl` seconds without waiting; yield whether
        this caller holds it."""

    @abstractmethod
    async def beat(self, key: str, ttl: float) -> None:
        """Record that `key` (a replica, a run) is alive now, for `ttl` seconds."""

    @abstractmethod
    async def last_beats(self, keys: Sequence[str]) -> dict[str, float]:
        """When each of `keys` last beat (unix time), for those whose beat has not expired."""

    @abstractmethod
    async def ping(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...


class LocalCoordinator(Coordinator):
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._beats: dict[str, tuple[float, float]] = {}

    async def beat(self, key: str, ttl: float) -> None:
        now = time.time()
        self._beats[key] = (now, now + ttl)

    async def last_beats(self, keys: Sequence[str]) -> dict[str, float]:
        now = time.time()
        return {k: self._beats[k][0] for k in keys if k in self._beats and self._beats[k][1] > now}

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

    async def beat(self, key: str, ttl: float) -> None:
        await self.redis.set(
            f"{self.prefix}:beat:{key}", str(time.time()), px=max(int(ttl * 1000), 1)
        )

    async def last_beats(self, keys: Sequence[str]) -> dict[str, float]:
        if not keys:
            return {}
        values = await self.redis.mget([f"{self.prefix}:beat:{k}" for k in keys])
        return {k: float(v) for k, v in zip(keys, values, strict=True) if v is not None}

    async def ping(self) -> None:
        await self.redis.ping()

    async def close(self) -> None:
        await self.redis.aclose()
