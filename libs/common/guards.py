"""Token authentication for services other than the api: they accept the configured shared
token and every token the api announced (`known_tokens`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import APIKeyHeader
from sqlalchemy import Table

from libs.common.auth import token_from_header, username_for
from libs.common.health import runtime_of
from libs.common.http import ApiError

_authorization = APIKeyHeader(
    name="Authorization", auto_error=False, description="`Token <token>` (or `Bearer <token>`)"
)


def token_guard(table: Table) -> Callable[..., Awaitable[str]]:
    """A dependency that returns the caller's username or answers 401."""

    async def guard(
        request: Request, authorization: Annotated[str | None, Security(_authorization)]
    ) -> str:
        token = token_from_header(authorization)
        if token is None:
            raise ApiError(
                401,
                "missing or malformed Authorization header; send `Authorization: Token <token>`",
                loc=("header", "Authorization"),
                type="unauthenticated",
            )
        runtime = runtime_of(request)
        async with runtime.db.read_session() as session:
            username = await username_for(session, table, runtime.settings.token, token)
        if username is None:
            raise ApiError(
                401, "invalid token", loc=("header", "Authorization"), type="unauthenticated"
            )
        return username

    return guard
