"""Running service apps inside a test: their real lifespan, an HTTP client over ASGI, and a look
at what they published on RabbitMQ."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import aio_pika
import httpx
from fastapi import FastAPI

from libs.common.events import Envelope
from tests.conftest import AUTH, Infra
from tests.support.waiting import eventually


@asynccontextmanager
async def serve(app: FastAPI, *, auth: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    context = app.router.lifespan_context(app)
    await context.__aenter__()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=AUTH if auth else {}
        ) as client:
            yield client
    finally:
        await shut_down(context)


async def shut_down(context: AbstractAsyncContextManager[object], timeout: float = 30.0) -> None:
    """Leave an app's lifespan; if that hangs, say where every task is stuck."""
    try:
        await asyncio.wait_for(context.__aexit__(None, None, None), timeout)
    except TimeoutError:
        for task in asyncio.all_tasks():
            print(f"--- task {task.get_name()}", file=sys.stderr)
            task.print_stack(file=sys.stderr)
        raise


async def published(infra: Infra, queue: str) -> list[Envelope]:
    """The events waiting in `<prefix>.<queue>`, left in place."""
    connection = await aio_pika.connect(infra.rabbitmq_url)
    try:
        channel = await connection.channel()
        handle = await channel.get_queue(f"{infra.prefix}.{queue}", ensure=True)
        envelopes = []
        while (message := await handle.get(no_ack=False, fail=False)) is not None:
            envelopes.append(Envelope.from_bytes(message.body))
        await channel.close()
        return envelopes
    finally:
        await connection.close()


async def published_now(
    infra: Infra, queue: str, count: int, *, timeout: float = 10.0
) -> list[Envelope]:
    """Wait until `count` events wait in the queue (the outbox relay publishes just after commit);
    then check that no more arrive."""
    events = await eventually(lambda: _at_least(infra, queue, count), timeout=timeout)
    await asyncio.sleep(0.2)
    events = await published(infra, queue)
    assert len(events) == count, f"{queue}: expected {count} events, found {len(events)}"
    return events


async def _at_least(infra: Infra, queue: str, count: int) -> list[Envelope] | None:
    events = await published(infra, queue)
    return events if len(events) >= count else None


async def publish(infra: Infra, envelope: Envelope) -> None:
    """Publish as the producing service would, on its exchange."""
    connection = await aio_pika.connect(infra.rabbitmq_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(f"{infra.prefix}.{envelope.publisher}")
        await exchange.publish(
            aio_pika.Message(envelope.to_bytes()), routing_key=envelope.routing_key
        )
    finally:
        await connection.close()


async def publish_raw(infra: Infra, exchange_name: str, routing_key: str, body: bytes) -> None:
    connection = await aio_pika.connect(infra.rabbitmq_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(f"{infra.prefix}.{exchange_name}")
        await exchange.publish(aio_pika.Message(body), routing_key=routing_key)
    finally:
        await connection.close()
