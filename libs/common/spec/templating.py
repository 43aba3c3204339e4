"""Rendering `{{ ... }}` in a spec with Polyaxon's contexts, in a sandboxed Jinja environment."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from libs.common.spec.errors import SpecError, SpecIssue, join

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


class ParamView:
    """`{{ params.lr }}`, `{{ params.lr.value }}`, `{{ params.lr.as_arg }}`."""

    def __init__(self, name: str, value: Any, *, is_flag: bool = False) -> None:
        self.name = name
        self.value = value
        self.is_flag = is_flag

    @property
    def as_arg(self) -> str:
        if self.value is None or (self.is_flag and self.value is False):
            return ""
        if self.is_flag or self.value is True:
            return f"--{self.name}"
        return f"--{self.name}={self.value}"

    def __str__(self) -> str:
        return "" if self.value is None else str(self.value)


class ParamsView(Mapping[str, ParamView]):
    """`{{ params.as_args }}` renders every param as an argument."""

    def __init__(self, params: dict[str, ParamView]) -> None:
        self._params = params

    def __getitem__(self, key: str) -> ParamView:
        return self._params[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    @property
    def as_args(self) -> str:
        return " ".join(a for p in self._params.values() if (a := p.as_arg))


def render(value: Any, context: dict[str, Any], loc: str = "") -> Any:
    """Render every string in `value`; collect every failure with its path."""
    issues: list[SpecIssue] = []
    rendered = _render(value, context, loc, issues)
    if issues:
        raise SpecError(issues)
    return rendered


def _render(value: Any, context: dict[str, Any], loc: str, issues: list[SpecIssue]) -> Any:
    if isinstance(value, str):
        if "{{" not in value and "{%" not in value:
            return value
        try:
            return _ENV.from_string(value).render(context)
        except TemplateError as exc:
            issues.append(SpecIssue(loc, f"template error: {exc.message or exc}"))
            return value
    if isinstance(value, list):
        return [_render(v, context, f"{loc}[{i}]", issues) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _render(v, context, join(loc, str(k)), issues) for k, v in value.items()}
    return value


def template_context(
    everything: dict[str, Any],
    inputs: dict[str, Any],
    outputs: dict[str, Any],
    flags: set[str],
    globals_: dict[str, Any],
) -> dict[str, Any]:
    return {
        **everything,
        "inputs": inputs,
        "outputs": outputs,
        "params": ParamsView(
            {n: ParamView(n, v, is_flag=n in flags) for n, v in everything.items()}
        ),
        "globals": globals_,
    }
