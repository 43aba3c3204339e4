"""Who consumes what: every handler queue and the events bound to it.

The topology is data so that any service can declare all of it before it publishes: an event
published before its consumer ever started waits in the consumer's queue instead of being dropped.
docs/events.md is checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass

from libs.common.events import contracts as c


@dataclass(frozen=True)
class Binding:
    """One durable queue `<consumer>.<handler>`; replicas of the consumer compete on it."""

    consumer: str
    handler: str
    routing_keys: tuple[str, ...]

    @property
    def queue(self) -> str:
        return f"{self.consumer}.{self.handler}"


TOPOLOGY: tuple[Binding, ...] = (
    Binding("api", "mirror_scheduler_status", (c.SchedulerRunStatusChanged.routing_key(),)),
    Binding("api", "artifacts_copied", (c.ArtifactsCopied.routing_key(),)),
    Binding("api", "metric_summaries", (c.MetricSummaryUpdated.routing_key(),)),
    Binding("scheduler", "enqueue_submitted", (c.RunSubmitted.routing_key(),)),
    Binding("scheduler", "stop_requested", (c.RunStopRequested.routing_key(),)),
    Binding("scheduler", "run_deleted", (c.RunDeleted.routing_key(),)),
    Binding("scheduler", "token_created", (c.TokenCreated.routing_key(),)),
    Binding("scheduler", "run_transferred", (c.RunTransferred.routing_key(),)),
    Binding("scheduler", "queue_changed", (c.QueueChanged.routing_key(),)),
    Binding("scheduler", "quota_changed", (c.QuotaChanged.routing_key(),)),
    Binding("tracking", "run_created", (c.RunCreated.routing_key(),)),
    Binding("tracking", "run_deleted", (c.RunDeleted.routing_key(),)),
    Binding("tracking", "token_created", (c.TokenCreated.routing_key(),)),
    Binding("tracking", "run_transferred", (c.RunTransferred.routing_key(),)),
)


def consumers_of(routing_key: str, topology: tuple[Binding, ...] = TOPOLOGY) -> list[str]:
    return [b.queue for b in topology if any(topic_matches(p, routing_key) for p in b.routing_keys)]


def topic_matches(pattern: str, key: str) -> bool:
    """AMQP topic matching: `*` is exactly one word, `#` zero or more."""
    return _match(pattern.split("."), key.split("."))


def _match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head in ("*", words[0])) and _match(rest, words[1:])
