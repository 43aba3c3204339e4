"""Event envelopes and the catalogue, checked against docs/events.md."""

from __future__ import annotations

import re
from pathlib import Path
from uuid import uuid4

import pytest

from libs.common.events import BY_ROUTING_KEY, CONTRACTS, Envelope
from libs.common.events.contracts import RunStopRequested, RunSubmitted
from libs.common.events.topology import TOPOLOGY, consumers_of, topic_matches

DOC = Path(__file__).parents[2] / "docs" / "events.md"


def test_routing_keys_carry_name_and_version() -> None:
    for contract in CONTRACTS:
        assert re.fullmatch(r"[a-z]+\.[a-z_]+\.[a-z_]+\.v\d+", contract.routing_key()), contract
    assert len(BY_ROUTING_KEY) == len(CONTRACTS)


def test_envelope_round_trip_and_open() -> None:
    event = RunStopRequested(uuid=uuid4(), reason="because", submission=2)
    envelope = Envelope.wrap(event, subject=f"run:{event.uuid}")
    again = Envelope.from_bytes(envelope.to_bytes())
    assert again == envelope
    assert again.routing_key == "api.run.stop_requested.v1"
    assert again.open(RunStopRequested) == event
    with pytest.raises(ValueError, match=r"carries api\.run\.stop_requested\.v1"):
        again.open(RunSubmitted)


def test_consumers_ignore_fields_added_later() -> None:
    payload = {"uuid": str(uuid4()), "reason": None, "submission": 1, "added_in_a_later_release": 1}
    envelope = Envelope(name="api.run.stop_requested", version=1, subject="run:x", payload=payload)
    assert envelope.open(RunStopRequested).submission == 1


def test_every_topology_binding_consumes_a_known_event() -> None:
    for binding in TOPOLOGY:
        for key in binding.routing_keys:
            assert any(topic_matches(key, known) for known in BY_ROUTING_KEY), binding


@pytest.mark.parametrize(
    ("pattern", "key", "matches"),
    [
        ("api.run.created.v1", "api.run.created.v1", True),
        ("api.run.*.v1", "api.run.created.v1", True),
        ("api.#", "api.run.created.v1", True),
        ("#", "api.run.created.v1", True),
        ("api.*", "api.run.created.v1", False),
        ("api.run.created.v1", "api.run.created.v2", False),
        ("#.v1", "scheduler.run.status_changed.v1", True),
    ],
)
def test_topic_matching(pattern: str, key: str, matches: bool) -> None:
    assert topic_matches(pattern, key) is matches


def _documented() -> dict[str, str]:
    """Each `### <routing key>` section of docs/events.md, by routing key."""
    sections = re.split(r"^### ", DOC.read_text(), flags=re.MULTILINE)[1:]
    return {s.split("\n", 1)[0].strip().strip("`"): s for s in sections}


def test_docs_list_exactly_the_events_in_code() -> None:
    assert set(_documented()) == set(BY_ROUTING_KEY)


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.routing_key())
def test_docs_describe_each_event(contract: type) -> None:
    section = _documented()[contract.routing_key()]
    assert f"Producer: {contract.publisher()}" in section
    for field in contract.model_fields:
        assert f"`{field}`" in section, f"{contract.routing_key()}: field {field} is not documented"
    for queue in consumers_of(contract.routing_key()):
        assert f"`{queue}`" in section, (
            f"{contract.routing_key()}: consumer {queue} is not documented"
        )


def test_the_architecture_services_table_matches_the_topology() -> None:
    """docs/architecture.md says what each service publishes and consumes; the contracts (whose
    names start with their producer) and the topology say it too, and they agree."""
    text = (DOC.parent / "architecture.md").read_text()
    for service in ("api", "scheduler", "tracking"):
        row = next(line for line in text.splitlines() if line.startswith(f"| {service} |"))
        publishes, consumes = row.strip("|").split("|")[3:5]
        produced = {c.routing_key().removesuffix(".v1") for c in CONTRACTS}
        assert set(re.findall(r"`([a-z_.]+)`", publishes)) == {
            key for key in produced if key.startswith(f"{service}.")
        }, service
        assert set(re.findall(r"`([a-z_.]+)`", consumes)) == {
            key.removesuffix(".v1")
            for binding in TOPOLOGY
            if binding.consumer == service
            for key in binding.routing_keys
        }, service
