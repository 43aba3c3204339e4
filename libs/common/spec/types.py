"""IO types and casting values to them. `-P name=value` arrives as a string; YAML gives numbers,
dates and booleans. Every cast returns a JSON-serialisable value or raises ValueError saying
what was expected."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

_TRUE = {"true", "t", "yes", "y", "1", "on"}
_FALSE = {"false", "f", "no", "n", "0", "off"}
_GENERIC = re.compile(r"^(list|dict|optional)\[(.*)\]$", re.IGNORECASE)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError("expected a bool (true/false)")


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected an int, got a bool")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ValueError("expected an int")


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a float, got a bool")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise ValueError("expected a float")


def _json(kind: type, value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(f"expected a {kind.__name__} (JSON)") from None
    if not isinstance(value, kind):
        raise ValueError(f"expected a {kind.__name__}")
    return value


def _str(value: Any) -> str:
    if isinstance(value, dict | list):
        raise ValueError("expected a str")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value if isinstance(value, str) else str(value)


def _text(expected: str, pattern: str | None = None) -> Callable[[Any], str]:
    regex = re.compile(pattern) if pattern else None

    def cast(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"expected {expected}")
        if regex and not regex.match(value.strip()):
            raise ValueError(f"expected {expected}")
        return value.strip()

    return cast


def _text_or_mapping(expected: str, key: str, pattern: str | None = None) -> Callable[[Any], Any]:
    text = _text(expected, pattern)

    def cast(value: Any) -> Any:
        if isinstance(value, dict):
            if key not in value:
                raise ValueError(f"expected {expected} (a mapping needs {key!r})")
            return value
        if isinstance(value, str) and value.strip().startswith("{"):
            return cast(_json(dict, value))
        return text(value)

    return cast


def _datetime(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day).isoformat()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise ValueError("expected a datetime (ISO 8601, e.g. 2024-05-01T10:00:00)")


def _date(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise ValueError("expected a date (YYYY-MM-DD)")


def _timedelta(value: Any) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    try:
        return _float(value)
    except ValueError:
        raise ValueError("expected a duration in seconds") from None


def _uuid(value: Any) -> str:
    try:
        return UUID(str(value).strip()).hex
    except ValueError:
        raise ValueError("expected a uuid") from None


def _mapping(value: Any) -> dict[str, Any]:
    result: dict[str, Any] = _json(dict, value)
    return result


def _any(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


_IMAGE = r"^[a-zA-Z0-9][-a-zA-Z0-9_.:/@]*$"
_URI = r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://\S+|[^\s:@/]+(?::[^\s@]*)?@\S+|\S+\.\S+)$"

_CASTS: dict[str, Callable[[Any], Any]] = {
    "any": _any,
    "int": _int,
    "float": _float,
    "metric": _float,
    "bool": _bool,
    "str": _str,
    "dict": lambda v: _json(dict, v),
    "list": lambda v: _json(list, v),
    "date": _date,
    "datetime": _datetime,
    "timedelta": _timedelta,
    "uuid": _uuid,
    "email": _text("an email address", r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    "path": _text("a path"),
    "uri": _text_or_mapping("a uri (scheme://host, user:password@host)", "host", _URI),
    "image": _text("a container image (name[:tag])", _IMAGE),
    "git": _text_or_mapping("a git url or {url, revision, flags}", "url"),
    "s3": _text("an s3 url (s3://bucket/key)", r"^s3://"),
    "gcs": _text("a gcs url (gs://bucket/key)", r"^gs://"),
    "wasb": _text("a wasb url (wasbs://container@account/...)", r"^wasbs?://"),
    "metadata": _mapping,
    "dockerfile": _mapping,
    "file": _mapping,
    "tensorboard": _mapping,
    "event": _mapping,
    "artifacts": _text_or_mapping("artifacts ({files, dirs})", "files"),
}
_NUMERIC = frozenset({"int", "float", "metric"})
TYPES = frozenset(_CASTS)
"""Every IO type name Polyaxon 2.18 registers, plus the generics `List[T]`, `Dict[K, V]` and
`Optional[T]`."""


def _normal(type_: str | None) -> str:
    base = (type_ or "any").strip()
    lowered = base.lower()
    return lowered if lowered in _CASTS else base


def check_type_name(type_: str) -> str:
    """The type as written, if it names a known type; raises ValueError listing them."""
    name = _normal(type_)
    if name in _CASTS:
        return type_
    match = _GENERIC.match(name)
    if match:
        for part in match.group(2).split(","):
            check_type_name(part)
        return type_
    raise ValueError(f"unknown type {type_!r}; expected one of {', '.join(sorted(_CASTS))}")


def is_numeric(type_: str | None) -> bool:
    return _normal(type_) in _NUMERIC


def cast_value(type_: str | None, value: Any, *, is_list: bool | None = None) -> Any:
    """The value as `type_`; raises ValueError naming what was expected."""
    if value is None:
        return None
    if is_list:
        return [cast_value(type_, item) for item in _json(list, value)]
    name = _normal(type_)
    cast = _CASTS.get(name)
    if cast is not None:
        return cast(value)
    match = _GENERIC.match(name)
    if match is None:
        return _any(value)
    outer, inner = match.group(1).lower(), match.group(2)
    if outer == "optional":
        return cast_value(inner, value)
    if outer == "list":
        return [cast_value(inner, item) for item in _json(list, value)]
    value_type = inner.split(",", 1)[1] if "," in inner else "any"
    return {str(k): cast_value(value_type, v) for k, v in _json(dict, value).items()}


def compatible(source: str | None, target: str | None) -> bool:
    """Whether an output of type `source` can feed an input of type `target` across a DAG edge."""
    a, b = _normal(source), _normal(target)
    if "any" in (a, b) or a == b:
        return True
    if b in ("float", "metric") and a in _NUMERIC:
        return True
    return b == "str" and a in ("path", "uri", "image", "uuid", "date", "datetime", "email")
