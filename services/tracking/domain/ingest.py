"""Decoding a batch of metric points from the wire, in any of the forms clients send:

- JSON `{"batch_id"?, "metrics": [{name, value, step?, timestamp?}]}` (Polyaxon-like points),
- JSON `{"batch_id"?, "series": [{name, values, steps?, timestamps?}]}` (columns, compact;
  timestamps as epoch seconds or ISO 8601),
- NDJSON (`application/x-ndjson`): one point object per line,
- msgpack (`application/msgpack`): the same object as the JSON forms.

Every form ends as columns per series name; errors name the offending field."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, NotRequired

import msgpack
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from libs.common.http import ApiError
from services.tracking.domain.points import Columns, seconds_to_micros, to_micros

MetricName = Annotated[str, StringConstraints(min_length=1, max_length=250)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Step = Annotated[int, Field(ge=0)]

JSON_TYPES = ("application/json", "")
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonlines")
MSGPACK_TYPES = ("application/msgpack", "application/x-msgpack", "application/vnd.msgpack")


class PointIn(TypedDict):
    name: MetricName
    value: Finite
    step: NotRequired[Step | None]
    timestamp: NotRequired[datetime | None]


class SeriesIn(TypedDict):
    """One series' points as columns. `timestamps` are epoch seconds (compact) or ISO 8601."""

    name: MetricName
    values: list[Finite]
    steps: NotRequired[list[Step | None] | None]
    timestamps: NotRequired[list[Finite] | list[datetime] | None]


class BatchIn(BaseModel):
    """A batch of points. `batch_id` makes it idempotent: a retry with the same id is
    acknowledged and not stored again."""

    model_config = ConfigDict(extra="ignore")

    batch_id: str | None = Field(None, min_length=1, max_length=100)
    metrics: list[PointIn] | None = None
    series: list[SeriesIn] | None = None


_POINT = TypeAdapter(PointIn)


@dataclass
class Batch:
    batch_id: str | None
    series: dict[str, Columns] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(len(c) for c in self.series.values())


def _invalid(exc: ValidationError, prefix: Sequence[str | int] = ("body",)) -> ApiError:
    return ApiError.many(
        422, [((*prefix, *e["loc"]), e["msg"], e["type"]) for e in exc.errors()[:20]]
    )


def _too_many(count: int, limit: int, loc: str) -> ApiError:
    return ApiError(
        413,
        f"{count} points in one batch; the limit is {limit}: split it into several requests",
        loc=("body", loc),
        type="too_large",
    )


def _columns_of_points(points: Sequence[PointIn], default_micros: int) -> dict[str, Columns]:
    grouped: dict[str, tuple[list[int | None], list[int], list[float]]] = {}
    for point in points:
        steps, times, values = grouped.setdefault(point["name"], ([], [], []))
        steps.append(point.get("step"))
        moment = point.get("timestamp")
        times.append(default_micros if moment is None else to_micros(moment))
        values.append(point["value"])
    return {name: Columns.of(*cols) for name, cols in grouped.items()}


def _columns_of_series(series: Sequence[SeriesIn], default_micros: int) -> dict[str, Columns]:
    out: dict[str, Columns] = {}
    for index, item in enumerate(series):
        values = item["values"]
        steps = item.get("steps") or [None] * len(values)
        moments = item.get("timestamps")
        times: Sequence[int] | npt.NDArray[np.int64]
        if not moments:
            times = [default_micros] * len(values)
        elif isinstance(moments[0], datetime):
            times = [to_micros(m) for m in moments]
        else:
            times = seconds_to_micros(moments)
        for label, column in (("steps", steps), ("timestamps", times)):
            if len(column) != len(values):
                raise ApiError(
                    422,
                    f"{len(column)} {label} for {len(values)} values",
                    loc=("body", "series", index, label),
                    type="length_mismatch",
                )
        columns = Columns.of(steps, times, values)
        previous = out.get(item["name"])
        out[item["name"]] = columns if previous is None else Columns.concat([previous, columns])
    return out


def decode(
    body: bytes, content_type: str, *, limit: int, now_micros: int, batch_id: str | None
) -> Batch:
    """The batch in `body`, or an ApiError: 415 for an unknown content type, 413 over `limit`
    points, 422 naming the first bad fields."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in NDJSON_TYPES:
        lines = [line for line in body.splitlines() if line.strip()]
        if len(lines) > limit:
            raise _too_many(len(lines), limit, "metrics")
        points: list[PointIn] = []
        for number, line in enumerate(lines):
            try:
                points.append(_POINT.validate_json(line))
            except ValidationError as exc:
                raise _invalid(exc, ("body", number)) from None
        return Batch(batch_id, _columns_of_points(points, now_micros))
    try:
        if kind in MSGPACK_TYPES:
            try:
                raw: Any = msgpack.unpackb(body, timestamp=3)
            except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
                raise ApiError(
                    422, "the body is not valid msgpack", loc=("body",), type="msgpack_invalid"
                ) from None
            parsed = BatchIn.model_validate(raw)
        elif kind in JSON_TYPES or kind.endswith("+json"):
            parsed = BatchIn.model_validate_json(body)
        else:
            raise ApiError(
                415,
                f"cannot read a body of type {kind!r}; send application/json, "
                "application/x-ndjson or application/msgpack",
                loc=("header", "content-type"),
                type="unsupported_media_type",
            )
    except ValidationError as exc:
        raise _invalid(exc) from None
    if parsed.metrics is None and parsed.series is None:
        raise ApiError(
            422,
            "a batch needs `metrics` (a list of points) or `series` (columns)",
            loc=("body", "metrics"),
            type="missing",
        )
    count = len(parsed.metrics or []) + sum(len(s["values"]) for s in parsed.series or [])
    if count > limit:
        raise _too_many(count, limit, "metrics" if parsed.metrics else "series")
    batch = Batch(parsed.batch_id or batch_id)
    if parsed.metrics:
        batch.series = _columns_of_points(parsed.metrics, now_micros)
    if parsed.series:
        for name, columns in _columns_of_series(parsed.series, now_micros).items():
            previous = batch.series.get(name)
            batch.series[name] = (
                columns if previous is None else Columns.concat([previous, columns])
            )
    return batch
