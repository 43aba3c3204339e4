"""Who am I, what is this installation, and which clients it serves: `/api/v1/users`,
`/api/v1/installation`, `/api/v1/compatibility/{uuid}/{version}/{service}`."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from sqlalchemy import select

from services.api.api.schemas import Compatibility, Installation, User, VersionRange
from services.api.db.tables import Installation as InstallationRow
from services.api.deps import CurrentUser, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["meta"])

PolyaxonService = Literal[
    "platform",
    "auth",
    "ui",
    "api",
    "gateway",
    "streams",
    "sandbox",
    "viewer",
    "cli",
    "initializer",
    "init",
    "sidecar",
    "runner",
    "agent",
    "operator",
]

# The Polyaxon CLI releases whose calls Ganglion serves: 2.x speaks the v1 REST shapes we follow,
# and 2.18.0 is the release the compatibility suite drives (tests/e2e/test_polyaxon_cli.py).
POLYAXON_CLI = VersionRange(min="2.0.0", latest="2.18.0")


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


@router.get("/compatibility/{uuid}/{version}/{service}", response_model=Compatibility)
async def compatibility(
    uuid: Annotated[str, Path(max_length=64, pattern=r"^[-a-zA-Z0-9]+$")],
    version: Annotated[
        str,
        Path(
            pattern=r"^\d+(-\d+){0,2}[a-z0-9.]*$",
            max_length=40,
            description="The client's version with `-` for `.`, as Polyaxon's clients send it.",
        ),
    ],
    service: PolyaxonService,
) -> Compatibility:
    """Polyaxon's version check. The CLI calls it without credentials (it is meant for a
    public version service), so it needs none here either."""
    return Compatibility(cli=POLYAXON_CLI)
