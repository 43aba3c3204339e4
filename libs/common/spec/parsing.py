"""Turn submitted text into data: JSON (what Polyaxon's CLI posts) or YAML (what people write)."""

from __future__ import annotations

import json
from typing import Any

import yaml

from libs.common.spec.errors import SpecError


def parse_content(text: str, *, file: str | None = None) -> dict[str, Any]:
    if not text or not text.strip():
        raise SpecError.one("", "the polyaxonfile is empty", file)
    try:
        data = json.loads(text)
    except ValueError:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise SpecError.one("", f"not valid YAML or JSON{where}: {problem}", file) from None
    if not isinstance(data, dict):
        raise SpecError.one(
            "", f"expected a mapping at the top level, got {type(data).__name__}", file
        )
    return data
