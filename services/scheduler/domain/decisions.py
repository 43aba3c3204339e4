"""Which queued runs start now: a pure function of the stored state, testable without I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True)
class Waiting:
    uuid: UUID
    queued_at: datetime


def choose(waiting: Sequence[Waiting], *, active: int, concurrency: int) -> list[UUID]:
    """First come, first served, up to the queue's free slots."""
    free = max(concurrency - active, 0)
    ordered = sorted(waiting, key=lambda w: (w.queued_at, w.uuid))
    return [w.uuid for w in ordered[:free]]
