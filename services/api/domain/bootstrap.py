"""First start: the installation key, the admin user and a token to reach the API with."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.auth import generate_token, hash_token
from libs.common.db.database import Database
from libs.common.events.contracts import TokenCreated
from libs.common.ids import new_id, utcnow
from libs.common.outbox import Outbox
from services.api.db.tables import Installation, Token, User
from services.api.settings import ApiSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Bootstrapped:
    installation_key: str
    first_token: str | None
    """A token generated at this start, to be shown once; None if one existed or was configured."""


async def bootstrap(session: AsyncSession, outbox: Outbox, settings: ApiSettings) -> Bootstrapped:
    installation = (await session.execute(select(Installation))).scalars().first()
    if installation is None:
        installation = Installation(key=new_id(), created_at=utcnow())
        session.add(installation)
    admin = (
        await session.execute(select(User).where(User.username == settings.admin_username))
    ).scalar_one_or_none()
    if admin is None:
        admin = User(
            id=new_id(),
            username=settings.admin_username,
            email=settings.admin_email,
            created_at=utcnow(),
        )
        session.add(admin)
        await session.flush()
    first_token = None
    if settings.token is not None:
        await _ensure_token(session, outbox, admin, settings.token.get_secret_value(), "configured")
    elif (await session.execute(select(func.count()).select_from(Token))).scalar_one() == 0:
        first_token = generate_token()
        await _ensure_token(session, outbox, admin, first_token, "first")
    return Bootstrapped(str(installation.key), first_token)


async def _ensure_token(
    session: AsyncSession, outbox: Outbox, user: User, token: str, name: str
) -> None:
    digest = hash_token(token)
    if (
        await session.execute(select(Token).where(Token.token_hash == digest))
    ).scalar_one_or_none():
        return
    row = Token(id=new_id(), user_id=user.id, token_hash=digest, name=name, created_at=utcnow())
    session.add(row)
    await session.flush()
    await outbox.emit(
        session,
        TokenCreated(token_id=row.id, username=user.username, token_hash=digest),
        subject=f"token:{row.id}",
    )


async def bootstrap_with_retry(db: Database, outbox: Outbox, settings: ApiSettings) -> Bootstrapped:
    """Replicas starting together race on the unique rows; the loser reads what the winner wrote."""
    for attempt in range(3):
        try:
            async with db.session() as session, session.begin():
                return await bootstrap(session, outbox, settings)
        except IntegrityError:
            if attempt == 2:
                raise
            log.info("another replica is bootstrapping; reading its result")
    raise AssertionError("unreachable")
