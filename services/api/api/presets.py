"""Organization presets: `/api/v1/orgs/{owner}/presets[/{name}]`. A preset is an operation
without a component; an operation that lists it in `presets` is patched with it on submit."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from libs.common.http import ApiError, not_found
from libs.common.ids import new_id, utcnow
from services.api.api.pagination import Limit, Offset, Page, page_links
from services.api.db.tables import Preset
from services.api.deps import CurrentUser, Owner, SessionDep
from services.api.domain.presets import checked_preset, get_preset

router = APIRouter(prefix="/api/v1/orgs", tags=["presets"])
PRESET_NAME = r"^[-a-zA-Z0-9_]+$"


class PresetIn(BaseModel):
    name: str = Field(pattern=PRESET_NAME, max_length=150)
    description: str | None = None
    content: str = Field(description="The preset as YAML or JSON: an operation without component.")


class PresetPatch(BaseModel):
    description: str | None = None
    content: str | None = None


class PresetRead(BaseModel):
    """Polyaxon's V1Preset, as far as it applies."""

    uuid: str
    name: str
    description: str | None
    content: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, preset: Preset) -> PresetRead:
        return cls(
            uuid=preset.uuid.hex, name=preset.name, description=preset.description,
            content=preset.content, created_at=preset.created_at, updated_at=preset.updated_at,
        )  # fmt: skip


@router.post("/{owner}/presets", response_model=PresetRead)
async def create_preset(
    owner: Owner, body: PresetIn, _: CurrentUser, session: SessionDep
) -> PresetRead:
    checked_preset(body.content, ("body", "content"))
    async with session.begin():
        if await get_preset(session, owner, body.name) is not None:
            raise ApiError(
                409, f"preset {body.name!r} already exists", loc=("body", "name"), type="conflict"
            )
        now = utcnow()
        preset = Preset(
            uuid=new_id(), owner=owner, created_at=now, updated_at=now, **body.model_dump()
        )
        session.add(preset)
    return PresetRead.of(preset)


@router.get("/{owner}/presets", response_model=Page[PresetRead])
async def list_presets(
    request: Request,
    owner: Owner,
    _: CurrentUser,
    session: SessionDep,
    offset: Offset = 0,
    limit: Limit = 100,
) -> Page[PresetRead]:
    where = Preset.owner == owner
    count = (
        await session.execute(select(func.count()).select_from(Preset).where(where))
    ).scalar_one()
    rows = await session.execute(
        select(Preset).where(where).order_by(Preset.name).offset(offset).limit(limit)
    )
    following, previous = page_links(request, offset, limit, count)
    results = [PresetRead.of(p) for p in rows.scalars()]
    return Page(count=count, results=results, next=following, previous=previous)


async def _preset_or_404(session: SessionDep, owner: str, name: str) -> Preset:
    preset = await get_preset(session, owner, name)
    if preset is None:
        raise not_found(f"preset {name!r}", ("path", "name"))
    return preset


@router.get("/{owner}/presets/{name}", response_model=PresetRead)
async def read_preset(owner: Owner, name: str, _: CurrentUser, session: SessionDep) -> PresetRead:
    return PresetRead.of(await _preset_or_404(session, owner, name))


@router.patch("/{owner}/presets/{name}", response_model=PresetRead)
async def update_preset(
    owner: Owner, name: str, body: PresetPatch, _: CurrentUser, session: SessionDep
) -> PresetRead:
    if body.content is not None:
        checked_preset(body.content, ("body", "content"))
    async with session.begin():
        preset = await _preset_or_404(session, owner, name)
        for key, value in body.model_dump(exclude_unset=True).items():
            if key == "content" and value is None:
                raise ApiError(422, "content cannot be emptied", loc=("body", "content"))
            setattr(preset, key, value)
        preset.updated_at = utcnow()
    return PresetRead.of(preset)


@router.delete("/{owner}/presets/{name}", status_code=204)
async def delete_preset(owner: Owner, name: str, _: CurrentUser, session: SessionDep) -> Response:
    async with session.begin():
        await session.delete(await _preset_or_404(session, owner, name))
    return Response(status_code=204)
