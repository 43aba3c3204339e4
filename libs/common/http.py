"""HTTP conventions every service follows: errors as `{"detail": [{"loc", "msg", "type"}]}`
with a 4xx that names the field, never a bare 500 with a traceback."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(
        self, status: int, msg: str, *, loc: Sequence[str | int] = (), type: str = "invalid"
    ) -> None:
        super().__init__(msg)
        self.status = status
        self.details: list[dict[str, object]] = [{"loc": list(loc), "msg": msg, "type": type}]

    @classmethod
    def many(cls, status: int, details: Sequence[tuple[Sequence[str | int], str, str]]) -> ApiError:
        error = cls(status, "; ".join(msg for _, msg, _ in details))
        error.details = [{"loc": list(loc), "msg": msg, "type": kind} for loc, msg, kind in details]
        return error

    def body(self) -> dict[str, list[dict[str, object]]]:
        return {"detail": self.details}


def not_found(what: str, loc: Sequence[str | int] = ()) -> ApiError:
    return ApiError(404, f"{what} not found", loc=loc, type="not_found")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [
            {
                "loc": list(e.get("loc", ())),
                "msg": e.get("msg", ""),
                "type": e.get("type", "invalid"),
            }
            for e in exc.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": [{"loc": [], "msg": str(exc.detail), "type": "http"}]},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {
                "detail": [
                    {"loc": [], "msg": "internal error; see the server log", "type": "internal"}
                ]
            },
            status_code=500,
        )
