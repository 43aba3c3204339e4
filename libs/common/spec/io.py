"""Inputs, outputs and params (V1IO, V1Validation, V1Param), and the checks on a value."""

from __future__ import annotations

import operator
import re
from typing import Any

from pydantic import field_validator

from libs.common.spec.base import Name, SpecModel
from libs.common.spec.types import check_type_name


class Validation(SpecModel):
    """Constraints on an input's value (V1Validation)."""

    delay: bool | None = None
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    multiple_of: float | None = None
    min_digits: int | None = None
    max_digits: int | None = None
    decimal_places: int | None = None
    regex: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    contains: Any = None
    excludes: Any = None
    options: list[Any] | None = None
    min_items: int | None = None
    max_items: int | None = None
    keys: list[str] | None = None
    contains_keys: list[str] | None = None
    excludes_keys: list[str] | None = None

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    def problems(self, value: Any) -> list[str]:
        """What `value` breaks, in words; empty when it passes."""
        out: list[str] = []
        if self.options is not None and value not in self.options:
            out.append(f"expected one of {self.options}")
        if isinstance(value, int | float) and not isinstance(value, bool):
            for bound, op, ok in (
                (self.gt, ">", operator.gt),
                (self.ge, ">=", operator.ge),
                (self.lt, "<", operator.lt),
                (self.le, "<=", operator.le),
            ):
                if bound is not None and not ok(value, bound):
                    out.append(f"expected a value {op} {bound:g}")
            if self.multiple_of and (value / self.multiple_of) % 1:
                out.append(f"expected a multiple of {self.multiple_of:g}")
            digits = len(str(abs(int(value))))
            if self.min_digits is not None and digits < self.min_digits:
                out.append(f"expected at least {self.min_digits} digits")
            if self.max_digits is not None and digits > self.max_digits:
                out.append(f"expected at most {self.max_digits} digits")
            if self.decimal_places is not None and isinstance(value, float):
                decimals = str(value).partition(".")[2].rstrip("0")
                if len(decimals) > self.decimal_places:
                    out.append(f"expected at most {self.decimal_places} decimal places")
        if isinstance(value, str) and self.regex and not re.fullmatch(self.regex, value):
            out.append(f"expected to match {self.regex!r}")
        if isinstance(value, str | list | dict):
            if self.min_length is not None and len(value) < self.min_length:
                out.append(f"expected a length of at least {self.min_length}")
            if self.max_length is not None and len(value) > self.max_length:
                out.append(f"expected a length of at most {self.max_length}")
            if self.contains is not None and self.contains not in value:
                out.append(f"expected to contain {self.contains!r}")
            if self.excludes is not None and self.excludes in value:
                out.append(f"expected not to contain {self.excludes!r}")
        if isinstance(value, list):
            if self.min_items is not None and len(value) < self.min_items:
                out.append(f"expected at least {self.min_items} items")
            if self.max_items is not None and len(value) > self.max_items:
                out.append(f"expected at most {self.max_items} items")
        if isinstance(value, dict):
            if self.keys is not None and set(value) - set(self.keys):
                out.append(f"expected only the keys {self.keys}")
            if self.contains_keys and (missing := set(self.contains_keys) - set(value)):
                out.append(f"expected the keys {sorted(missing)}")
            if self.excludes_keys and (present := set(self.excludes_keys) & set(value)):
                out.append(f"expected none of the keys {sorted(present)}")
        return out


class IO(SpecModel):
    """An input or output of a component (V1IO)."""

    name: Name
    description: str | None = None
    type: str | None = None
    value: Any = None
    is_optional: bool | None = None
    is_list: bool | None = None
    is_flag: bool | None = None
    arg_format: str | None = None
    connection: str | None = None
    to_init: bool | None = None
    to_env: str | None = None
    validation: Validation | None = None
    delay_validation: bool | None = None
    options: list[Any] | None = None

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str | None) -> str | None:
        return None if value is None else check_type_name(value)

    @property
    def rules(self) -> Validation | None:
        """`validation`, with the deprecated `options` folded in."""
        if self.options is None:
            return self.validation
        rules = self.validation or Validation()
        return rules.model_copy(update={"options": rules.options or self.options})


PARAM_KEYS = frozenset({"value", "ref", "contextOnly", "connection", "toInit", "toEnv"})


class Param(SpecModel):
    """A value given to an input (V1Param). The short form `lr: 0.1` means `{value: 0.1}`."""

    value: Any = None
    ref: str | None = None
    context_only: bool | None = None
    connection: str | None = None
    to_init: bool | None = None
    to_env: str | None = None

    @field_validator("ref")
    @classmethod
    def _ref_form(cls, value: str | None) -> str | None:
        if value is not None and not (
            value == "dag"
            or re.fullmatch(r"ops\.[-a-zA-Z0-9_]+", value)
            or re.fullmatch(r"runs\.[0-9a-fA-F-]{32,36}", value)
        ):
            raise ValueError("expected 'dag', 'ops.<operation name>' or 'runs.<uuid>'")
        return value

    @property
    def ref_op(self) -> str | None:
        """The upstream operation this param reads from, for `ref: ops.X`."""
        return self.ref[4:] if self.ref and self.ref.startswith("ops.") else None


def normalize_params(raw: Any) -> Any:
    if not isinstance(raw, dict):
        return raw
    return {
        name: value
        if isinstance(value, Param) or (isinstance(value, dict) and PARAM_KEYS & value.keys())
        else {"value": value}
        for name, value in raw.items()
    }
