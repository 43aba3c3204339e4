"""Spec errors a person can act on: each names the file, the path in it and what was expected."""

from __future__ import annotations

import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

_HERE = " :: "


@dataclass(frozen=True)
class SpecIssue:
    loc: str
    msg: str
    file: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        return f"{where}{self.loc or '<root>'}: {self.msg}"


class SpecError(Exception):
    """One or more issues; a file is accepted whole or not at all."""

    def __init__(self, issues: Sequence[SpecIssue]) -> None:
        super().__init__("; ".join(str(i) for i in issues))
        self.issues = list(issues)

    @classmethod
    def one(cls, loc: str, msg: str, file: str | None = None) -> SpecError:
        return cls([SpecIssue(loc, msg, file)])

    def in_file(self, file: str) -> SpecError:
        return SpecError([SpecIssue(i.loc, i.msg, i.file or file) for i in self.issues])

    def under(self, prefix: str) -> SpecError:
        return SpecError([SpecIssue(join(prefix, i.loc), i.msg, i.file) for i in self.issues])


def join(prefix: str, loc: str) -> str:
    if not prefix:
        return loc
    if not loc:
        return prefix
    return f"{prefix}{loc}" if loc.startswith("[") else f"{prefix}.{loc}"


def path(parts: Iterable[str | int]) -> str:
    """`("run", "container", "args", 1)` -> `run.container.args[1]`."""
    out = ""
    for part in parts:
        out = f"{out}[{part}]" if isinstance(part, int) else join(out, str(part))
    return out


def located(sub: str, msg: str) -> str:
    """A validator's message about `sub`, a key below the field it validates."""
    return f"{sub}{_HERE}{msg}"


def from_validation(exc: ValidationError, prefix: str = "", model: Any = None) -> SpecError:
    """Pydantic's errors with paths as a person reads them: `model` (the validated type) lets
    the path drop the tags that discriminated unions add (`run.job.container` is
    `run.container`)."""
    issues = []
    for error in exc.errors():
        loc = _clean(model, error["loc"])
        message = error["msg"]
        kind = error["type"]
        if kind == "extra_forbidden":
            message = "unknown field"
        elif kind == "union_tag_invalid":
            expected = error.get("ctx", {}).get("expected_tags", "")
            message = f"unknown kind {error['input'].get('kind')!r}; expected one of {expected}"
            loc = [*loc, "kind"]
        elif kind == "union_tag_not_found":
            message = "missing kind"
            loc = [*loc, "kind"]
        elif kind == "literal_error":
            message = f"expected {error.get('ctx', {}).get('expected', 'another value')}"
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if _HERE in message:
            sub, _, message = message.partition(_HERE)
            loc = [*loc, sub]
        issues.append(SpecIssue(join(prefix, path(loc)), message))
    return SpecError(issues)


def _members(tp: Any) -> tuple[Any, list[Any]]:
    """The type without Annotated/Optional, and the members if it is a union."""
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (Union, types.UnionType):
        members = [m for m in get_args(tp) if m is not type(None)]
        if len(members) == 1:
            return _members(members[0])
        return tp, [_members(m)[0] for m in members]
    return tp, []


def _tag(member: Any) -> Any:
    if isinstance(member, type) and issubclass(member, BaseModel) and "kind" in member.model_fields:
        annotation = member.model_fields["kind"].annotation
        if get_origin(annotation) is Literal:
            return get_args(annotation)
    return None


def _clean(model: Any, loc: Sequence[Any]) -> list[str | int]:
    out: list[str | int] = []
    tp = model
    for part in loc:
        if isinstance(part, str) and part.startswith("function-"):
            continue
        tp, members = _members(tp) if tp is not None else (None, [])
        if members:
            chosen = next((m for m in members if (tags := _tag(m)) and part in tags), None)
            if chosen is None:
                # An untagged union names the member it tried (`str`, `list[str]`): drop it.
                tp = None
                if isinstance(part, str) and not part.isidentifier():
                    continue
            else:
                tp = chosen
                continue
        out.append(part)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = next((f for n, f in tp.model_fields.items() if part in (n, f.alias)), None)
            tp = field.annotation if field is not None else None
        elif get_origin(tp) in (list, tuple):
            tp = get_args(tp)[0]
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        else:
            tp = None
    return out
