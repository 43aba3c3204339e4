"""Live fan-out of what may be lost (new log lines, new metric points): Redis pub/sub in
production, so that any replica can serve any run's live stream; in-process when every service
shares one process (embedded). A subscriber that is not listening misses messages: live streams
first read what is stored, then follow."""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from redis.asyncio import Redis


class Subscription(ABC):
    @abstractmethod
    async def get(self, wait: float) -> bytes | None:
        """The next message, or None if none came within `wait` seconds."""


class PubSub(ABC):
    @abstractmethod
    async def publish(self, channel: str, message: bytes) -> None: ...

    @abstractmethod
    async def listeners(self, channel: str) -> int:
        """How many subscribers `channel` has now (publishers skip work nobody will read)."""

    @abstractmethod
    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]: ...

    @abstractmethod
    async def close(self) -> None: ...


class _QueueSubscription(Subscription):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=10_000)

    async def get(self, wait: float) -> bytes | None:
        try:
            return await asyncio.wait_for(self.queue.get(), wait)
        except TimeoutError:
            return None


class LocalPubSub(PubSub):
    def __init__(self) -> None:
        self._channels: dict[str, set[_QueueSubscription]] = {}

    async def publish(self, channel: str, message: bytes) -> None:
        for subscription in list(self._channels.get(channel, ())):
            # A subscriber that stopped reading loses messages rather than stalling writers.
            with contextlib.suppress(asyncio.QueueFull):
                subscription.queue.put_nowait(message)

    async def listeners(self, channel: str) -> int:
        return len(self._channels.get(channel, ()))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        subscription = _QueueSubscription()
        self._channels.setdefault(channel, set()).add(subscription)
        try:
            yield subscription
        finally:
            members = self._channels.get(channel, set())
            members.discard(subscription)
            if not members:
                self._channels.pop(channel, None)

    async def close(self) -> None:
        self._channels.clear()


class _RedisSubscription(Subscription):
    def __init__(self, pubsub: object) -> None:
        self.pubsub = pubsub

    async def get(self, wait: float) -> bytes | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while (remaining := deadline - loop.time()) > 0:
            # Subscription confirmations come back as None too: keep waiting for a message.
            message = await self.pubsub.get_message(  # type: ignore[attr-defined]
                ignore_subscribe_messages=True, timeout=remaining
            )
            if message is not None and message.get("type") == "message":
                data = message.get("data")
                return data if isinstance(data, bytes) else None
        return None


class RedisPubSub(PubSub):
    def __init__(self, url: str, *, prefix: str = "ganglion") -> None:
        self.redis: Redis = Redis.from_url(url)
        self.prefix = prefix

    def _name(self, channel: str) -> str:
        return f"{self.prefix}:live:{channel}"

    async def publish(self, channel: str, message: bytes) -> None:
        await self.redis.publish(self._name(channel), message)

    async def listeners(self, channel: str) -> int:
        counts = await self.redis.pubsub_numsub(self._name(channel))
        return int(counts[0][1]) if counts else 0

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        pubsub = self.redis.pubsub()
        await pubsub.subscribe(self._name(channel))
        try:
            yield _RedisSubscription(pubsub)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.unsubscribe(self._name(channel))
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        await self.redis.aclose()


def make_pubsub(redis_url: str | None, prefix: str) -> PubSub:
    return RedisPubSub(redis_url, prefix=prefix) if redis_url else LocalPubSub()
