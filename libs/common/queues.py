"""Queue names, as the api validates them and the scheduler uses them."""

from __future__ import annotations

DEFAULT_QUEUE = "default"


def queue_name(spec_queue: str | None) -> str:
    """The queue a spec asks for; Polyaxon writes `agent/queue`, and one scheduler serves one set
    of queues, so the agent part is dropped."""
    if not spec_queue:
        return DEFAULT_QUEUE
    return spec_queue.rsplit("/", 1)[-1]
