"""Spec errors a person can act on: each names the file, the path in it and what was expected."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import ValidationError


@dataclass(frozen=True)
class SpecIssue:
    loc: str
    msg: str
    file: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        return f"{where}{self.loc or '<root>'}: {self.msg}"


class SpecError(Exception):
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


def from_validation(exc: ValidationError, prefix: str = "") -> SpecError:
    issues = []
    for error in exc.errors():
        # Discriminated unions add the tag as a path segment (`run.job.container`); drop it.
        loc = [p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        issues.append(SpecIssue(join(prefix, path(loc)), message))
    return SpecError(issues)
