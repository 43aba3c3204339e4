"""Patching one polyaxonfile with another, as Polyaxon does for presets (`-f main.yaml -f
preset.yaml`), for an operation over its component, and for `runPatch` over the run.

Strategies (`patchStrategy`): `replace` overwrites what the patch sets; `isnull` fills only
what is empty; `post_merge` deep-merges with the patch winning; `pre_merge` deep-merges with
the existing value winning. Lists merge as a union (the winner's items first for pre_merge).
Sections that are spec models (termination, container, environment, ...) are patched field by
field with the same strategy even under `replace`; sections with a `kind` (run, matrix,
schedule) merge only when the kinds agree, otherwise the winner replaces the other whole."""

from __future__ import annotations

import copy
from typing import Any, get_origin

from pydantic import BaseModel

from libs.common.spec.errors import _members, _tag
from libs.common.spec.io import PARAM_KEYS

REPLACE, ISNULL, POST_MERGE, PRE_MERGE = "replace", "isnull", "post_merge", "pre_merge"
STRATEGIES = (REPLACE, ISNULL, POST_MERGE, PRE_MERGE)
# What a preset file says about itself rather than about the operation it patches.
_PRESET_ONLY = frozenset({"kind", "version", "isPreset"})
PRESET_REFERENCES = ("component", "hubRef", "dagRef", "urlRef", "pathRef")


def deep_update(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_update(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _merge(current: Any, value: Any, strategy: str) -> Any:
    post = strategy == POST_MERGE
    if isinstance(current, dict) and isinstance(value, dict):
        return deep_update(current, value) if post else deep_update(value, current)
    if isinstance(current, list) and isinstance(value, list):
        first, second = (current, value) if post else (value, current)
        return [*first, *(i for i in second if i not in first)]
    return copy.deepcopy(value) if post else current


def _field_type(model: Any, key: str) -> Any:
    if isinstance(model, type) and issubclass(model, BaseModel):
        for name, field in model.model_fields.items():
            if key in (name, field.alias):
                return field.annotation
    return None


def patch(
    current: dict[str, Any], values: dict[str, Any], strategy: str | None, model: Any = None
) -> dict[str, Any]:
    """`current` patched with `values` (camelCase data); `model` is the spec model the data
    is shaped as, so nested sections patch field by field. Returns a new mapping."""
    strategy = strategy or POST_MERGE
    out = dict(current)
    for key, value in values.items():
        if value is None:
            continue
        existing = out.get(key)
        if existing is None:
            out[key] = copy.deepcopy(value)
            continue
        tp, members = _members(_field_type(model, key))
        kinds = {m: t for m in members if (t := _tag(m))}
        if kinds and isinstance(existing, dict) and isinstance(value, dict):
            if strategy == ISNULL:
                continue
            if strategy == REPLACE or existing.get("kind") != value.get("kind"):
                if strategy != PRE_MERGE:
                    out[key] = copy.deepcopy(value)
                continue
            member = next((m for m, t in kinds.items() if value.get("kind") in t), None)
            out[key] = patch(existing, value, strategy, member)
            continue
        is_model = isinstance(tp, type) and issubclass(tp, BaseModel) and get_origin(tp) is None
        if is_model and isinstance(existing, dict) and isinstance(value, dict):
            out[key] = patch(existing, value, strategy, tp)
        elif strategy == REPLACE:
            out[key] = copy.deepcopy(value)
        elif strategy != ISNULL:
            out[key] = _merge(existing, value, strategy)
    return out


def check_preset(preset: dict[str, Any], file: str | None = None) -> None:
    """A preset is an operation that names no component; its fields must be valid ones (raises
    SpecError naming the path)."""
    from libs.common.spec.compiler import load_operation
    from libs.common.spec.errors import SpecError

    if preset.get("kind", "operation") != "operation":
        raise SpecError.one("kind", "a preset is an operation (kind: operation)", file)
    if named := [r for r in PRESET_REFERENCES if r in preset]:
        raise SpecError.one(named[0], "a preset patches the operation; it names no component", file)
    load_operation({**preset, "kind": "operation"}, file=file)


def apply_preset(operation: dict[str, Any], preset: dict[str, Any]) -> dict[str, Any]:
    """One preset file over the operation so far, with the preset's own `patchStrategy`."""
    from libs.common.spec.models import Operation

    values = {k: v for k, v in preset.items() if k not in _PRESET_ONLY}
    return patch(operation, values, preset.get("patchStrategy") or REPLACE, Operation)


def apply_params(operation: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """`-P name=value` over the operation's params (the values stay strings: the compiler casts
    them to the input's type)."""
    current = operation.get("params") or {}
    merged = dict(current)
    for name, value in params.items():
        old = current.get(name)
        # A full-form param keeps its other keys (toEnv, contextOnly); a ref gives way.
        base: dict[str, Any] = {}
        if isinstance(old, dict) and PARAM_KEYS & old.keys():
            base = {k: v for k, v in old.items() if k != "ref"}
        merged[name] = {**base, "value": value}
    return {**operation, "params": merged}
