"""Organization presets: checking one, and applying the ones an operation names."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.http import ApiError
from libs.common.spec import SpecError, apply_preset, parse_content
from libs.common.spec.errors import SpecIssue
from libs.common.spec.presets import check_preset
from services.api.db.tables import Preset


def checked_preset(content: str, loc: tuple[str, ...]) -> dict[str, Any]:
    """The preset's fields, or a 422 naming each issue's path under `loc`."""
    try:
        preset = parse_content(content)
        check_preset(preset)
    except SpecError as exc:
        raise ApiError.many(422, [((*loc, i.loc), i.msg, "spec") for i in exc.issues]) from None
    return preset


async def get_preset(session: AsyncSession, owner: str, name: str) -> Preset | None:
    query = select(Preset).where(Preset.owner == owner, Preset.name == name)
    return (await session.execute(query)).scalar_one_or_none()


async def apply_named_presets(
    session: AsyncSession, owner: str, operation: dict[str, Any]
) -> dict[str, Any]:
    """The operation patched, in order, by each saved preset its `presets` names (as files
    after it on the command line would be); an unknown name raises SpecError."""
    names = operation.get("presets") or []
    if not isinstance(names, list):
        return operation  # the compiler reports the wrong type with its path
    issues: list[SpecIssue] = []
    for index, name in enumerate(names):
        preset = await get_preset(session, owner, str(name))
        if preset is None:
            issues.append(SpecIssue(f"presets[{index}]", f"no preset named {name!r}"))
            continue
        operation = apply_preset(operation, parse_content(preset.content))
    if issues:
        raise SpecError(issues)
    return operation
