"""What only a real broker can prove: durability across connections, competing replicas,
redelivery when a consumer dies mid-event, and publishing while the broker is unreachable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest

from libs.common.bus import BusOptions, RabbitMQBus
from libs.common.events import Envelope
from libs.common.events.contracts import RunStopRequested
from tests.bus.test_conformance import TOPOLOGY, stop_event
from tests.conftest import Infra
from tests.support.infra import RABBITMQ_URL
from tests.support.proxy import CuttableProxy
from tests.support.waiting import eventually


@pytest.fixture
def options(infra: Infra) -> BusOptions:
    return BusOptions(prefix=infra.prefix, max_deliveries=2, retry_delay=0.2)


@pytest.fixture
async def cleanup(options: BusOptions) -> AsyncIterator[None]:
    yield
    bus = RabbitMQBus(RABBITMQ_URL, options, TOPOLOGY)
    await bus.connect()
    await bus.delete_topology()
    await bus.close()


async def test_dead_letters_are_kept_by_the_broker(options: BusOptions, cleanup: None) -> None:
    first = RabbitMQBus(RABBITMQ_URL, options, TOPOLOGY)
    await first.start()

    async def broken(e: Envelope) -> None:
        raise RuntimeError("poison")

    await first.subscribe("svc", "stops", broken)
    event = stop_event()
    await first.publish(event)
    await eventually(lambda: first.dead_letters("svc.stops"))
    await first.close()
    second = RabbitMQBus(RABBITMQ_URL, options, TOPOLOGY)
    await second.start()
    try:
        dead = await second.dead_letters("svc.stops")
        assert [d.envelope.id for d in dead] == [event.id]
    finally:
        await second.close()


async def test_replicas_compete_for_one_queue(options: BusOptions, cleanup: None) -> None:
    replicas = [RabbitMQBus(RABBITMQ_URL, options, TOPOLOGY) for _ in range(2)]
    handled: dict[int, list[int]] = {0: [], 1: []}
    for index, replica in enumerate(replicas):
        await replica.start()

        async def handler(e: Envelope, index: int = index) -> None:
            await asyncio.sleep(0.01)
            handled[index].append(e.open(RunStopRequested).submission)

        await replica.subscribe("svc", "stops", handler)
    try:
        for i in range(40):
            await replicas[0].publish(
                Envelope.wrap(RunStopRequested(uuid=uuid4(), submission=i), subject="run:x")
            )
        await eventually(lambda: len(handled[0]) + len(handled[1]) == 40)
        await asyncio.sleep(0.3)
        assert sorted(handled[0] + handled[1]) == list(range(40))
        assert handled[0] and handled[1]
    finally:
        for replica in replicas:
            await replica.close()


async def test_event_in_flight_when_its_consumer_dies_is_redelivered(
    options: BusOptions, cleanup: None
) -> None:
    dying = RabbitMQBus(RABBITMQ_URL, options, TOPOLOGY)
    await dying.start()
    started = asyncio.Event()

    async def hangs(e: Envelope) -> None:
        started.set()
        await asyncio.sleep(3600)

    await dying.subscribe("svc", "stops", hangs)
    event = stop_event()
    await dying.publish(event)
    await asyncio.wait_for(started.wait(), 10)
    await dying.close()  # dies without acknowledging

    survivor = RabbitMQBus(RABBITMQ_URL, options, TOPOLOGY)
    await survivor.start()
    received: list[Envelope] = []

    async def handler(e: Envelope) -> None:
        received.append(e)

    try:
        await survivor.subscribe("svc", "stops", handler)
        await eventually(lambda: received == [event])
    finally:
        await survivor.close()


async def test_publish_fails_while_the_broker_is_unreachable_then_recovers(
    options: BusOptions, cleanup: None
) -> None:
    proxy = CuttableProxy("127.0.0.1", 5672)
    await proxy.start()
    bus = RabbitMQBus(
        f"amqp://guest:guest@127.0.0.1:{proxy.port}/", options, TOPOLOGY, publish_timeout=1.0
    )
    await bus.start()
    received: list[Envelope] = []

    async def handler(e: Envelope) -> None:
        received.append(e)

    try:
        await bus.subscribe("svc", "stops", handler)
        proxy.cut()
        with pytest.raises(Exception):  # noqa: B017,PT011 - aio-pika raises several kinds here
            await bus.publish(stop_event())
        await eventually(lambda: _disconnected(bus))
        proxy.restore()
        await eventually(lambda: _connected(bus), timeout=20)
        event = stop_event()
        await eventually(lambda: _publishes(bus, event), timeout=20)
        await eventually(lambda: event in received, timeout=20)
    finally:
        await bus.close()
        await proxy.close()


async def _connected(bus: RabbitMQBus) -> bool:
    try:
        await bus.check()
    except RuntimeError:
        return False
    return True


async def _disconnected(bus: RabbitMQBus) -> bool:
    return not await _connected(bus)


async def _publishes(bus: RabbitMQBus, event: Envelope) -> bool:
    try:
        await bus.publish(event)
    except Exception:
        return False
    return True
