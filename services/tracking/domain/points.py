"""Metric points as columns: packing them into chunks, reading a series back in step order,
summarising a batch, and downsampling for charts without losing extremes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

NO_STEP = -1
"""How a point logged without a step is stored (steps are never negative)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
I64 = np.dtype("<i8")
F64 = np.dtype("<f8")


_MICRO = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICRO


def seconds_to_micros(seconds: Sequence[float]) -> npt.NDArray[np.int64]:
    return np.rint(np.asarray(seconds, dtype=F64) * 1e6).astype(I64)


def from_micros(micros: int) -> datetime:
    return datetime.fromtimestamp(micros // 1_000_000, UTC).replace(microsecond=micros % 1_000_000)


@dataclass
class Columns:
    """One series' points, as parallel arrays."""

    steps: npt.NDArray[np.int64]
    timestamps: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.values)

    @classmethod
    def empty(cls) -> Columns:
        return cls(np.empty(0, I64), np.empty(0, I64), np.empty(0, F64))

    @classmethod
    def of(
        cls,
        steps: Sequence[int | None],
        timestamps: Sequence[int] | npt.NDArray[np.int64],
        values: Sequence[float],
    ) -> Columns:
        if None in steps:
            packed = np.fromiter((NO_STEP if s is None else s for s in steps), I64, len(steps))
        else:
            packed = np.asarray(steps, dtype=I64)
        return cls(packed, np.asarray(timestamps, dtype=I64), np.asarray(values, dtype=F64))

    @classmethod
    def unpack(cls, steps: bytes, timestamps: bytes, values: bytes) -> Columns:
        return cls(
            np.frombuffer(steps, I64), np.frombuffer(timestamps, I64), np.frombuffer(values, F64)
        )

    def pack(self) -> tuple[bytes, bytes, bytes]:
        return (
            self.steps.astype(I64, copy=False).tobytes(),
            self.timestamps.astype(I64, copy=False).tobytes(),
            self.values.astype(F64, copy=False).tobytes(),
        )

    @classmethod
    def concat(cls, parts: Iterable[Columns]) -> Columns:
        parts = list(parts)
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(
            np.concatenate([p.steps for p in parts]),
            np.concatenate([p.timestamps for p in parts]),
            np.concatenate([p.values for p in parts]),
        )

    def ordered(self) -> Columns:
        """In step order, then time order; batches usually arrive in order, so check first."""
        if len(self) < 2:
            return self
        steps, times = self.steps, self.timestamps
        in_order = np.all(
            (steps[1:] > steps[:-1]) | ((steps[1:] == steps[:-1]) & (times[1:] >= times[:-1]))
        )
        if in_order:
            return self
        order = np.lexsort((times, steps))
        return self.take(order)

    def take(self, index: npt.NDArray[np.intp] | slice) -> Columns:
        return Columns(self.steps[index], self.timestamps[index], self.values[index])

    def after_step(self, step: int) -> Columns:
        start = int(np.searchsorted(self.steps, step, side="right"))
        return self.take(slice(start, None))

    def as_lists(self) -> tuple[list[int | None], list[str], list[float]]:
        steps = [None if s == NO_STEP else s for s in self.steps.tolist()]
        times = [from_micros(t).isoformat() for t in self.timestamps.tolist()]
        return steps, times, self.values.tolist()


@dataclass(frozen=True)
class Summary:
    """What a batch adds to a series' summary. `last` is the value at the highest step (ties:
    the latest timestamp, then the last logged)."""

    count: int
    min: float
    max: float
    last: float
    last_step: int | None
    last_timestamp: datetime
    min_step: int
    max_step: int


def summarise(columns: Columns) -> Summary:
    steps, times, values = columns.steps, columns.timestamps, columns.values
    # lexsort's last key is the primary one; the arrival index breaks the remaining ties.
    last = int(np.lexsort((np.arange(len(values)), times, steps))[-1])
    step = int(steps[last])
    return Summary(
        count=len(values),
        min=float(values.min()),
        max=float(values.max()),
        last=float(values[last]),
        last_step=None if step == NO_STEP else step,
        last_timestamp=from_micros(int(times[last])),
        min_step=int(steps.min()),
        max_step=int(steps.max()),
    )


def downsample(columns: Columns, max_points: int) -> Columns:
    """At most `max_points` points for a chart: the series split into `max_points // 2` buckets
    of consecutive points, keeping each bucket's lowest and highest point (in order), so that
    every spike and dip survives; the first and last points are always kept."""
    n = len(columns)
    if n <= max_points or max_points < 4:
        return columns if n <= max_points else columns.take(slice(0, max_points))
    buckets = (max_points - 2) // 2
    size = -(-n // buckets)
    buckets = -(-n // size)
    padded = np.full(buckets * size, np.nan)
    padded[:n] = columns.values
    shaped = padded.reshape(buckets, size)
    offsets = np.arange(buckets) * size
    lows = np.nanargmin(shaped, axis=1) + offsets
    highs = np.nanargmax(shaped, axis=1) + offsets
    keep = np.unique(np.concatenate(([0, n - 1], lows, highs)))
    return columns.take(keep)
