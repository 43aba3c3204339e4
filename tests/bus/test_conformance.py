"""One contract, two transports: the in-process bus and RabbitMQ pass the same tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest

from libs.common.bus import Bus, BusOptions, InMemoryBus, RabbitMQBus
from libs.common.events import Envelope
from libs.common.events.contracts import RunDeleted, RunStopRequested
from libs.common.events.topology import Binding
from tests.conftest import Infra
from tests.support.infra import RABBITMQ_URL
from tests.support.waiting import eventually

TOPOLOGY = (
    Binding("svc", "stops", (RunStopRequested.routing_key(),)),
    Binding("svc", "all_runs", ("api.run.*.v1",)),
)


def stop_event() -> Envelope:
    event = RunStopRequested(uuid=uuid4(), reason="test")
    return Envelope.wrap(event, subject=f"run:{event.uuid}")


def make_bus(kind: str, prefix: str) -> Bus:
    options = BusOptions(prefix=prefix, max_deliveries=3, retry_delay=0.3)
    if kind == "memory":
        return InMemoryBus(options, TOPOLOGY)
    return RabbitMQBus(RABBITMQ_URL, options, TOPOLOGY)


@pytest.fixture(params=["memory", "rabbitmq"])
async def bus(request: pytest.FixtureRequest, infra: Infra) -> AsyncIterator[Bus]:
    instance = make_bus(request.param, infra.prefix)
    await instance.start()
    yield instance
    if isinstance(instance, RabbitMQBus):
        await instance.delete_topology()
    await instance.close()


async def test_delivers_to_every_matching_queue(bus: Bus) -> None:
    stops: list[Envelope] = []
    everything: list[Envelope] = []

    async def on_stop(e: Envelope) -> None:
        stops.append(e)

    async def on_any(e: Envelope) -> None:
        everything.append(e)

    await bus.subscribe("svc", "stops", on_stop)
    await bus.subscribe("svc", "all_runs", on_any)
    stop = stop_event()
    deleted = Envelope.wrap(RunDeleted(uuid=uuid4(), owner="o", project="p"), subject="run:x")
    await bus.publish(stop)
    await bus.publish(deleted)
    await eventually(lambda: len(everything) == 2)
    await eventually(lambda: len(stops) == 1)
    assert stops == [stop]
    assert {e.id for e in everything} == {stop.id, deleted.id}


async def test_queue_keeps_events_published_before_anyone_subscribed(bus: Bus) -> None:
    early = stop_event()
    await bus.publish(early)
    received: list[Envelope] = []

    async def handler(e: Envelope) -> None:
        received.append(e)

    await bus.subscribe("svc", "stops", handler)
    await eventually(lambda: received == [early])


async def test_failed_handling_is_redelivered_after_the_delay(bus: Bus) -> None:
    attempts: list[float] = []

    async def flaky(e: Envelope) -> None:
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            raise RuntimeError("transient")

    await bus.subscribe("svc", "stops", flaky)
    await bus.publish(stop_event())
    await eventually(lambda: len(attempts) == 2)
    assert attempts[1] - attempts[0] >= 0.25
    await asyncio.sleep(0.5)
    assert len(attempts) == 2
    assert await bus.dead_letters("svc.stops") == []


async def test_dead_letter_after_max_deliveries(bus: Bus) -> None:
    attempts: list[Envelope] = []

    async def broken(e: Envelope) -> None:
        attempts.append(e)
        raise ValueError("cannot handle this")

    await bus.subscribe("svc", "stops", broken)
    event = stop_event()
    await bus.publish(event)
    dead = await eventually(lambda: bus.dead_letters("svc.stops"), timeout=10)
    assert len(attempts) == 3
    assert [d.envelope for d in dead] == [event]
    assert dead[0].deliveries == 3
    assert "cannot handle this" in dead[0].error
    # Inspecting dead letters does not consume them.
    assert len(await bus.dead_letters("svc.stops")) == 1


async def test_one_queue_is_handled_in_order(bus: Bus) -> None:
    seen: list[int] = []

    async def slow(e: Envelope) -> None:
        await asyncio.sleep(0.001 * (e.open(RunStopRequested).submission % 3))
        seen.append(e.open(RunStopRequested).submission)

    await bus.subscribe("svc", "stops", slow)
    for i in range(30):
        await bus.publish(
            Envelope.wrap(RunStopRequested(uuid=uuid4(), submission=i), subject="run:x")
        )
    await eventually(lambda: len(seen) == 30)
    assert seen == list(range(30))


async def test_unknown_queue_is_refused(bus: Bus) -> None:
    async def handler(e: Envelope) -> None:
        return None

    with pytest.raises(LookupError, match=r"svc\.nope"):
        await bus.subscribe("svc", "nope", handler)


@pytest.mark.parametrize("batch_fails", [False, True])
async def test_memory_bus_hands_waiting_events_to_the_batch_handler(batch_fails: bool) -> None:
    bus = InMemoryBus(BusOptions(max_deliveries=3, retry_delay=0.1), TOPOLOGY)
    await bus.start()
    alone: list[Envelope] = []
    batches: list[list[Envelope]] = []

    async def one(envelope: Envelope) -> None:
        alone.append(envelope)

    async def several(envelopes: list[Envelope]) -> None:
        batches.append(envelopes)
        if batch_fails:
            raise RuntimeError("the batch's transaction failed")

    # Published before anyone handles them: they wait in the queue together.
    events = [stop_event() for _ in range(5)]
    for event in events:
        await bus.publish(event)
    await bus.subscribe("svc", "stops", one, batch=several)
    await eventually(lambda: bus.idle())
    assert [[e.id for e in b] for b in batches] == [[e.id for e in events]]
    # A failed batch left nothing done: each event is then handled alone, in order.
    assert [e.id for e in alone] == ([e.id for e in events] if batch_fails else [])
    # One event alone is not held back for company.
    last = stop_event()
    await bus.publish(last)
    await eventually(lambda: [e.id for e in alone][-1:] == [last.id])
    await bus.close()
