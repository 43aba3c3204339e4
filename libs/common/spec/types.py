"""Casting param values to their input's declared type. `-P name=value` arrives as a string."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

_TRUE = {"true", "t", "yes", "y", "1", "on"}
_FALSE = {"false", "f", "no", "n", "0", "off"}


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


def _container(kind: type, value: Any) -> Any:
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
    return value if isinstance(value, str) else str(value)


_CASTS: dict[str, Callable[[Any], Any]] = {
    "int": _int,
    "float": _float,
    "bool": _bool,
    "str": _str,
    "dict": lambda v: _container(dict, v),
    "list": lambda v: _container(list, v),
}


def cast_value(type_: str | None, value: Any, *, is_list: bool | None = None) -> Any:
    """The value as `type_`; raises ValueError naming what was expected. Types the spec issue
    has not typed yet (path, uri, image, ...) keep their value."""
    if value is None:
        return None
    base = (type_ or "any").strip()
    if is_list:
        items = _container(list, value)
        return [cast_value(base, item) for item in items]
    cast = _CASTS.get(base.lower())
    return cast(value) if cast else value
