"""The 16 param distributions of a matrix (`matrix.params.<name>: {kind, value}`) and their value
forms: a list `[a, b, c]`, a mapping `{start, stop, num}` or a string `"a:b:c"`. Each model
keeps the value as written (the compiled operation round-trips it) and exposes it parsed as
`args`, which the generators in `generators.py` use."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator

from libs.common.spec.base import SpecModel

DISCRETE_KINDS = frozenset(
    {"choice", "range", "linspace", "logspace", "geomspace", "daterange", "datetimerange"}
)
CONTINUOUS_KINDS = frozenset(
    {"uniform", "quniform", "loguniform", "qloguniform",
     "normal", "qnormal", "lognormal", "qlognormal"}
)  # fmt: skip

# kind -> (names of the value's parts, how many are required, defaults of the optional ones)
_FORMS: dict[str, tuple[tuple[str, ...], int, dict[str, Any]]] = {
    "range": (("start", "stop", "step"), 3, {}),
    "linspace": (("start", "stop", "num"), 3, {}),
    "logspace": (("start", "stop", "num", "base"), 3, {"base": 10}),
    "geomspace": (("start", "stop", "num"), 3, {}),
    "daterange": (("start", "stop", "step"), 2, {"step": 1}),
    "datetimerange": (("start", "stop", "step"), 3, {}),
    "uniform": (("low", "high"), 2, {}),
    "quniform": (("low", "high", "q"), 3, {}),
    "loguniform": (("low", "high"), 2, {}),
    "qloguniform": (("low", "high", "q"), 3, {}),
    "normal": (("loc", "scale"), 2, {}),
    "qnormal": (("loc", "scale", "q"), 3, {}),
    "lognormal": (("loc", "scale"), 2, {}),
    "qlognormal": (("loc", "scale", "q"), 3, {}),
}


def _number(name: str, raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError(f"{name}: expected a number, got a bool")
    if isinstance(raw, int | float):
        return raw
    if isinstance(raw, str):
        try:
            return float(raw) if any(c in raw for c in ".eE") or "inf" in raw else int(raw)
        except ValueError:
            pass
    raise ValueError(f"{name}: expected a number, got {raw!r}")


def _moment(name: str, raw: Any, *, with_time: bool) -> datetime:
    if isinstance(raw, datetime):
        return raw
    if isinstance(raw, date):
        return datetime(raw.year, raw.month, raw.day)
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw.strip())
        except ValueError:
            pass
        else:
            return parsed
    form = "a datetime (2019-06-22 21:00)" if with_time else "a date (2019-06-22)"
    raise ValueError(f"{name}: expected {form}, got {raw!r}")


def parse_args(kind: str, value: Any) -> dict[str, Any]:
    """The value's parts by name, checked; raises ValueError naming the form expected."""
    names, required, defaults = _FORMS[kind]
    forms = f"[{', '.join(names)}], {{{', '.join(names)}}} or '{':'.join(names)}'"
    if isinstance(value, str) and kind not in ("daterange", "datetimerange"):
        value = value.split(":")
    if isinstance(value, list | tuple):
        if not required <= len(value) <= len(names):
            raise ValueError(f"expected {forms}; got {len(value)} parts")
        parts = dict(zip(names, value, strict=False))
    elif isinstance(value, dict):
        unknown = set(value) - set(names)
        missing = set(names[:required]) - set(value)
        if unknown or missing:
            raise ValueError(f"expected {forms}; got the keys {sorted(value)}")
        parts = dict(value)
    else:
        raise ValueError(f"expected {forms}; got {value!r}")
    args = {**defaults, **parts}
    if kind in ("daterange", "datetimerange"):
        with_time = kind == "datetimerange"
        start = _moment("start", args["start"], with_time=with_time)
        stop = _moment("stop", args["stop"], with_time=with_time)
        step = _number("step", args["step"])
        if step <= 0:
            raise ValueError("step: expected a positive number of days or seconds")
        if stop < start:
            raise ValueError("stop: expected a moment after start")
        return {"start": start, "stop": stop, "step": step}
    args = {k: _number(k, v) for k, v in args.items()}
    _check(kind, args)
    return args


def _check(kind: str, a: dict[str, Any]) -> None:
    if "num" in a and (not float(a["num"]).is_integer() or a["num"] < 1):
        raise ValueError("num: expected a whole number >= 1")
    if "q" in a and a["q"] <= 0:
        raise ValueError("q: expected a positive number")
    if "scale" in a and a["scale"] <= 0:
        raise ValueError("scale: expected a positive number")
    if "low" in a and not a["low"] < a["high"]:
        raise ValueError("low: expected less than high")
    if kind == "range":
        if a["step"] == 0:
            raise ValueError("step: expected a non-zero number")
        if (a["stop"] - a["start"]) * a["step"] <= 0:
            raise ValueError("step: never goes from start to stop")
    if kind == "geomspace" and (a["start"] == 0 or a["stop"] == 0 or a["start"] * a["stop"] < 0):
        raise ValueError("start, stop: expected non-zero numbers of the same sign")
    if kind == "logspace" and a["base"] <= 0:
        raise ValueError("base: expected a positive number")
    if kind in ("uniform", "quniform") and not all(map(math.isfinite, (a["low"], a["high"]))):
        raise ValueError("low, high: expected finite numbers")


class _Distribution(SpecModel):
    kind: str
    value: Any
    _args: dict[str, Any] = PrivateAttr(default_factory=dict)

    @field_validator("value")
    @classmethod
    def _form(cls, value: Any, info: ValidationInfo) -> Any:
        if "kind" in info.data:
            parse_args(info.data["kind"], value)
        return value

    def model_post_init(self, context: Any, /) -> None:
        self._args = parse_args(self.kind, self.value)

    @property
    def args(self) -> dict[str, Any]:
        """The value's parts by name (`start`, `stop`, `num`, `low`, `q`, ...)."""
        return self._args

    @property
    def is_discrete(self) -> bool:
        return self.kind in DISCRETE_KINDS


class Choice(SpecModel):
    kind: Literal["choice"]
    value: list[Any] = Field(min_length=1)

    @property
    def is_discrete(self) -> bool:
        return True


class PChoice(SpecModel):
    kind: Literal["pchoice"]
    value: list[tuple[Any, float]] = Field(min_length=1)

    @field_validator("value")
    @classmethod
    def _probabilities(cls, value: list[tuple[Any, float]]) -> list[tuple[Any, float]]:
        probabilities = [p for _, p in value]
        if any(not 0 <= p <= 1 for p in probabilities):
            raise ValueError("each probability must be between 0 and 1")
        total = sum(probabilities)
        # Polyaxon's own quick-start sums to 0.9; sampling normalises, so only refuse nonsense.
        if not 0 < total <= 1 + 1e-9:
            raise ValueError(f"probabilities must sum to more than 0 and at most 1, got {total:g}")
        return value

    @property
    def is_discrete(self) -> bool:
        return False


class Range(_Distribution):
    kind: Literal["range"]


class Linspace(_Distribution):
    kind: Literal["linspace"]


class Logspace(_Distribution):
    kind: Literal["logspace"]


class Geomspace(_Distribution):
    kind: Literal["geomspace"]


class Daterange(_Distribution):
    kind: Literal["daterange"]


class Datetimerange(_Distribution):
    kind: Literal["datetimerange"]


class Uniform(_Distribution):
    kind: Literal["uniform"]


class QUniform(_Distribution):
    kind: Literal["quniform"]


class LogUniform(_Distribution):
    kind: Literal["loguniform"]


class QLogUniform(_Distribution):
    kind: Literal["qloguniform"]


class Normal(_Distribution):
    kind: Literal["normal"]


class QNormal(_Distribution):
    kind: Literal["qnormal"]


class LogNormal(_Distribution):
    kind: Literal["lognormal"]


class QLogNormal(_Distribution):
    kind: Literal["qlognormal"]


HpParam = Annotated[
    Choice | PChoice | Range | Linspace | Logspace | Geomspace | Daterange | Datetimerange
    | Uniform | QUniform | LogUniform | QLogUniform | Normal | QNormal | LogNormal | QLogNormal,
    Field(discriminator="kind"),
]  # fmt: skip
"""One matrix param: `{kind, value}`."""
