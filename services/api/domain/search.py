"""Run search: PQL (`libs/common/pql`) compiled to SQLAlchemy over the api's own tables, on
Postgres and on SQLite. Fields: uuid, name, description, user, kind, runtime, status,
managed_by, pending, project, tags, created/updated/started/finished/schedule times, duration,
wait_time, inputs.* (in.*, params.*), outputs.* (out.*), meta_info.* (meta_values.*,
meta_flags.*), metrics.<name>[.last|.min|.max|.count], pipeline[.*], original[.*], cloning_kind.
Every field also sorts. A bad query is a 400 naming the position and text of the culprit."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Float,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import aliased

from libs.common.http import ApiError
from libs.common.lifecycle import RunStatus
from libs.common.pql import And, Condition, Node, Or, PQLError, parse, parse_sort
from services.api.db.tables import Run, RunMetric

TEXT_FIELDS: dict[str, Any] = {
    "name": Run.name,
    "description": Run.description,
    "user": Run.user,
    "kind": Run.kind,
    "runtime": Run.runtime,
    "status": Run.status,
    "managed_by": Run.managed_by,
    "pending": Run.pending,
    "project": Run.project,
    "project.name": Run.project,
}
TIME_FIELDS: dict[str, Any] = {
    "created_at": Run.created_at,
    "updated_at": Run.updated_at,
    "started_at": Run.started_at,
    "finished_at": Run.finished_at,
    "schedule_at": Run.schedule_at,
}
UUID_FIELDS = ("uuid", "uid", "id")
JSON_PREFIXES: dict[str, Any] = {
    "inputs": Run.inputs,
    "in": Run.inputs,
    "params": Run.inputs,
    "outputs": Run.outputs,
    "out": Run.outputs,
    "meta_info": Run.meta_info,
    "meta_values": Run.meta_info,
    "meta_flags": Run.meta_info,
    "pipeline": Run.pipeline,
    "original": Run.original,
}
METRIC_AGGREGATES = ("last", "min", "max", "count")
FIELDS_HELP = (
    "uuid, name, description, user, kind, runtime, status, managed_by, pending, project, tags, "
    "created_at, updated_at, started_at, finished_at, schedule_at, duration, wait_time, "
    "inputs.*, outputs.*, meta_info.*, metrics.*, pipeline, original, cloning_kind"
)


def _error(message: str, position: int, token: str, loc: str = "query") -> ApiError:
    error = ApiError(400, message, loc=("query", loc), type="invalid_query")
    error.details[0]["ctx"] = {"position": position, "token": token}
    return error


def _number(text: str, where: Condition, *, index: int = 0) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _error(
            f"{where.field}: {text!r} at position {where.value_position} is not a number",
            where.value_position,
            text,
        ) from None
    if not math.isfinite(value):
        raise _error(f"{where.field}: {text!r} is not a finite number", where.value_position, text)
    return value


def _time(text: str, where: Condition) -> tuple[datetime, datetime]:
    """The moment `text` names and where its precision ends (a day, a minute, a second)."""
    raw = text.strip().replace("T", " ")
    formats = (
        ("%Y-%m-%d %H:%M:%S.%f", timedelta(microseconds=1)),
        ("%Y-%m-%d %H:%M:%S", timedelta(seconds=1)),
        ("%Y-%m-%d %H:%M", timedelta(minutes=1)),
        ("%Y-%m-%d", timedelta(days=1)),
    )
    for pattern, span in formats:
        try:
            moment = datetime.strptime(raw, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
        return moment, moment + span
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise _error(
            f"{where.field}: {text!r} at position {where.value_position} is not a date "
            "(YYYY-MM-DD[ HH:MM[:SS]])",
            where.value_position,
            text,
        ) from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment, moment + timedelta(microseconds=1)


@dataclass
class Compiler:
    """Turns a tree into a WHERE clause, and sort keys into ORDER BY terms (with the outer
    joins that metric sorts need)."""

    dialect: str
    joins: list[tuple[Any, ColumnElement[bool]]] = field(default_factory=list)

    @property
    def postgres(self) -> bool:
        return self.dialect == "postgresql"

    # values inside JSON columns
    def _json_text(self, document: Any, key: str) -> ColumnElement[Any]:
        if self.postgres:
            return document.op("->>")(literal(key, String()))  # type: ignore[no-any-return]
        return func.json_extract(document, f'$."{key}"')

    def _json_number(self, document: Any, key: str) -> ColumnElement[Any]:
        if self.postgres:
            node = document.op("->")(literal(key, String()))
            # A cast of a string that is not a number would fail the whole query.
            return case(
                (
                    func.jsonb_typeof(node) == "number",
                    cast(document.op("->>")(literal(key, String())), Float()),
                ),
                else_=None,
            )
        path = f'$."{key}"'
        return func.iif(
            func.json_type(document, path).in_(("integer", "real")),
            func.json_extract(document, path),
            None,
        )

    def _json_type(self, document: Any, key: str) -> ColumnElement[Any]:
        if self.postgres:
            return func.jsonb_typeof(document.op("->")(literal(key, String())))
        return func.json_type(document, f'$."{key}"')

    def _duration(self, start: Any, end: Any) -> ColumnElement[Any]:
        if self.postgres:
            return func.extract("epoch", end - start)
        return (func.julianday(end) - func.julianday(start)) * 86_400.0

    # conditions
    def where_of(self, query: str) -> ColumnElement[bool]:
        try:
            tree = parse(query)
        except PQLError as exc:
            raise _error(exc.message, exc.position, exc.token) from None
        return self.where(tree)

    def where(self, node: Node) -> ColumnElement[bool]:
        if isinstance(node, And):
            return and_(*(self.where(i) for i in node.items))
        if isinstance(node, Or):
            return or_(*(self.where(i) for i in node.items))
        clause = self.condition(node)
        if node.negated:
            # A missing value is not equal to anything: `~x` keeps the runs that have none.
            return not_(func.coalesce(clause, false()))
        return clause

    def condition(self, c: Condition) -> ColumnElement[bool]:
        name = c.field
        if name in TEXT_FIELDS:
            if name == "status":
                self._check_statuses(c)
            return self._text(TEXT_FIELDS[name], c)
        if name in UUID_FIELDS:
            return self._uuid(c)
        if name in TIME_FIELDS:
            return self._times(TIME_FIELDS[name], c)
        if name == "duration":
            return self._numeric(self._duration(Run.started_at, Run.finished_at), c)
        if name == "wait_time":
            return self._numeric(self._duration(Run.created_at, Run.started_at), c)
        if name == "tags":
            return self._tags(c)
        if name == "cloning_kind":
            return self._text(self._json_text(Run.original, "kind"), c)
        if name in ("pipeline", "original"):
            return self._related(JSON_PREFIXES[name], c)
        prefix, dot, rest = name.partition(".")
        if dot and rest and prefix == "metrics":
            return self._metric(rest, c)
        if dot and rest and prefix in JSON_PREFIXES:
            return self._json(JSON_PREFIXES[prefix], rest, c)
        raise _error(
            f"unknown field {name!r} at position {c.position}; fields: {FIELDS_HELP}",
            c.position,
            name,
        )

    def _check_statuses(self, c: Condition) -> None:
        known = {s.value for s in RunStatus}
        for value in c.values:
            if value not in known and "%" not in value:
                raise _error(
                    f"status: {value!r} at position {c.value_position} is not a status; "
                    f"statuses: {', '.join(sorted(known))}",
                    c.value_position,
                    value,
                )

    def _compare(
        self, expr: Any, c: Condition, convert: Callable[[str], Any]
    ) -> ColumnElement[bool]:
        if c.op == "nil":
            return expr.is_(None)  # type: ignore[no-any-return]
        if c.op == "in":
            return expr.in_([convert(v) for v in c.values])  # type: ignore[no-any-return]
        if c.op == "range":
            return and_(expr >= convert(c.values[0]), expr <= convert(c.values[1]))
        value = convert(c.values[0])
        operators: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
            "eq": lambda a, b: a == b,
            "lt": lambda a, b: a < b,
            "le": lambda a, b: a <= b,
            "gt": lambda a, b: a > b,
            "ge": lambda a, b: a >= b,
        }
        if c.op == "like":
            return expr.like(value)  # type: ignore[no-any-return]
        return operators[c.op](expr, value)

    def _text(self, expr: Any, c: Condition) -> ColumnElement[bool]:
        if c.op == "like":
            pattern = c.values[0].replace("\\", "\\\\").replace("_", "\\_")
            return expr.like(pattern, escape="\\")  # type: ignore[no-any-return]
        return self._compare(expr, c, str)

    def _numeric(self, expr: Any, c: Condition) -> ColumnElement[bool]:
        if c.op == "like":
            raise _error(
                f"{c.field}: patterns are for text; compare numbers with <, <=, >, >=",
                c.value_position,
                c.values[0],
            )
        return self._compare(expr, c, lambda v: _number(v, c))

    def _times(self, expr: Any, c: Condition) -> ColumnElement[bool]:
        if c.op == "nil":
            return expr.is_(None)  # type: ignore[no-any-return]
        if c.op == "like":
            raise _error(f"{c.field}: patterns are for text", c.value_position, c.values[0])
        if c.op == "in":
            return or_(*(self._times(expr, _with(c, "eq", (v,))) for v in c.values))
        if c.op == "range":
            low, _ = _time(c.values[0], c)
            _, high = _time(c.values[1], c)
            return and_(expr >= low, expr < high)
        start, end = _time(c.values[0], c)
        if c.op == "eq":
            return and_(expr >= start, expr < end)
        bounds: dict[str, ColumnElement[bool]] = {
            "lt": expr < start,
            "le": expr < end,
            "gt": expr >= end,
            "ge": expr >= start,
        }
        return bounds[c.op]

    def _uuid(self, c: Condition) -> ColumnElement[bool]:
        def convert(value: str) -> UUID:
            try:
                return UUID(value)
            except ValueError:
                raise _error(
                    f"{c.field}: {value!r} at position {c.value_position} is not a uuid",
                    c.value_position,
                    value,
                ) from None

        if c.op in ("like", "range") or c.op in ("lt", "le", "gt", "ge"):
            raise _error(f"{c.field}: compare uuids with ':' or '|'", c.value_position, c.field)
        return self._compare(Run.uuid, c, convert)

    def _tags(self, c: Condition) -> ColumnElement[bool]:
        if c.op == "nil":
            if self.postgres:
                return or_(Run.tags.is_(None), func.jsonb_array_length(Run.tags) == 0)
            return or_(Run.tags.is_(None), func.json_array_length(Run.tags) == 0)
        if c.op not in ("eq", "in", "like"):
            raise _error("tags: use tags:name, tags:a|b or a pattern", c.value_position, c.field)
        if self.postgres:
            if c.op == "like":
                element = func.jsonb_array_elements_text(Run.tags).table_valued("value")
                return exists(
                    select(1).select_from(element).where(element.c.value.like(c.values[0]))
                )
            return or_(*(Run.tags.op("@>")(literal([v], JSONB())) for v in c.values))
        element = func.json_each(Run.tags).table_valued("value")
        match = (
            element.c.value.like(c.values[0]) if c.op == "like" else element.c.value.in_(c.values)
        )
        return exists(select(1).select_from(element).where(match))

    def _related(self, document: Any, c: Condition) -> ColumnElement[bool]:
        if c.op == "nil":
            return document.is_(None)  # type: ignore[no-any-return]
        hexes = []
        for value in c.values:
            try:
                hexes.append(UUID(value).hex)
            except ValueError:
                raise _error(
                    f"{c.field}: {value!r} at position {c.value_position} is not a run uuid",
                    c.value_position,
                    value,
                ) from None
        stored = func.replace(self._json_text(document, "uuid"), "-", "")
        return stored.in_(hexes)

    def _json(self, document: Any, key: str, c: Condition) -> ColumnElement[bool]:
        text = self._json_text(document, key)
        if c.op == "nil":
            return or_(text.is_(None), self._json_type(document, key) == "null")
        if c.op == "like":
            return text.like(c.values[0])
        number = self._json_number(document, key)
        if c.op in ("lt", "le", "gt", "ge", "range"):
            return self._compare(number, c, lambda v: _number(v, c))

        def equal(value: str) -> ColumnElement[bool]:
            lowered = value.lower()
            options: list[ColumnElement[bool]] = [text == value]
            if lowered in ("true", "false", "t", "f"):
                flag = "true" if lowered in ("true", "t") else "false"
                options.append(
                    text == flag if self.postgres else self._json_type(document, key) == flag
                )
            with contextlib.suppress(ValueError):
                options.append(number == float(value))
            return or_(*options)

        return or_(*(equal(v) for v in c.values))

    def _metric(self, rest: str, c: Condition) -> ColumnElement[bool]:
        name, aggregate = _metric_parts(rest)
        summary = aliased(RunMetric)
        value = getattr(summary, aggregate)
        if c.op == "nil":
            has = exists(select(1).where(summary.run_uuid == Run.uuid, summary.name == name))
            return not_(has)
        if c.op == "like":
            raise _error(
                f"{c.field}: metrics compare with <, <=, >, >=, ':' or '..'",
                c.value_position,
                c.values[0],
            )
        test = self._compare(value, c, lambda v: _number(v, c))
        return exists(select(1).where(summary.run_uuid == Run.uuid, summary.name == name, test))

    # sorting
    def order(self, sort: str, default: str) -> list[ColumnElement[Any]]:
        try:
            keys = parse_sort(sort or default)
        except PQLError as exc:
            raise _error(exc.message, exc.position, exc.token, "sort") from None
        order: list[ColumnElement[Any]] = []
        for key in keys:
            expr = self.sort_expression(key.field, key.position)
            order.append(expr.desc().nulls_last() if key.descending else expr.asc().nulls_last())
        order.append(Run.uuid.desc())  # a stable order across pages
        return order

    def sort_expression(self, name: str, position: int) -> Any:
        if name in TEXT_FIELDS:
            return TEXT_FIELDS[name]
        if name in TIME_FIELDS:
            return TIME_FIELDS[name]
        if name in UUID_FIELDS:
            return Run.uuid
        if name == "duration":
            return self._duration(Run.started_at, Run.finished_at)
        if name == "wait_time":
            return self._duration(Run.created_at, Run.started_at)
        prefix, dot, rest = name.partition(".")
        if dot and rest and prefix == "metrics":
            metric, aggregate = _metric_parts(rest)
            summary = aliased(RunMetric)
            self.joins.append((summary, and_(summary.run_uuid == Run.uuid, summary.name == metric)))
            return getattr(summary, aggregate)
        if dot and rest and prefix in JSON_PREFIXES:
            # Numbers in order; values that are not numbers come last, like missing ones.
            return self._json_number(JSON_PREFIXES[prefix], rest)
        error = _error(
            f"cannot sort by {name!r} (position {position}); sortable: {FIELDS_HELP}",
            position,
            name,
            "sort",
        )
        error.details[0]["type"] = "invalid_sort"
        raise error


def _metric_parts(rest: str) -> tuple[str, str]:
    name, dot, last = rest.rpartition(".")
    if dot and last in METRIC_AGGREGATES:
        return name, last
    return rest, "last"


def _with(c: Condition, op: Any, values: tuple[str, ...]) -> Condition:
    return Condition(c.field, op, values, False, c.position, c.value_position)
