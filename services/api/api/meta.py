"""Who am I, and what is this installation: `/api/v1/users`, `/api/v1/installation`."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter
from sqlalchemy import select

from services.api.api.schemas import Installation, User
from services.api.db.tables import Installation as InstallationRow
from services.api.deps import CurrentUser, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["meta"])


def ganglion_version() -> str:
    try:
        return version("ganglion")
    except PackageNotFoundError:
        return "0.0.0"


@router.get("/users", response_model=User)
async def who_am_i(user: CurrentUser) -> User:
    return User(username=user.username, email=user.email)


@router.get("/installation", response_model=Installation)
async def installation(_: CurrentUser, session: SessionDep, settings: SettingsDep) -> Installation:
    row = (await session.execute(select(InstallationRow))).scalars().first()
    return Installation(
        key=row.key.hex if row else "",
        version=ganglion_version(),
        host=settings.public_url,
        mode=settings.mode,
        default_streams_url=settings.public_url,
    )
