"""Offset pagination (`count/results/next/previous`) and `sort=` parsing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query, Request
from pydantic import BaseModel
from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute

from libs.common.http import ApiError

T = TypeVar("T")

Offset = Annotated[int, Query(ge=0, description="How many results to skip.")]
Limit = Annotated[int, Query(ge=1, le=1000, description="How many results to return.")]
Sort = Annotated[
    str | None, Query(description="Comma-separated fields; a leading `-` sorts descending.")
]


class Page(BaseModel, Generic[T]):
    count: int
    results: list[T]
    next: str | None
    previous: str | None


def page_links(
    request: Request, offset: int, limit: int, count: int
) -> tuple[str | None, str | None]:
    url = request.url
    following = (
        str(url.include_query_params(offset=offset + limit, limit=limit))
        if offset + limit < count
        else None
    )
    previous = (
        str(url.include_query_params(offset=max(offset - limit, 0), limit=limit))
        if offset > 0
        else None
    )
    return following, previous


def order_by(
    sort: str | None, fields: Mapping[str, InstrumentedAttribute[Any]], default: str
) -> list[ColumnElement[Any]]:
    order: list[ColumnElement[Any]] = []
    for raw in (sort or default).split(","):
        term = raw.strip()
        if not term:
            continue
        descending = term.startswith("-")
        name = term.lstrip("-+")
        column = fields.get(name)
        if column is None:
            raise ApiError(
                400,
                f"cannot sort by {name!r}; sortable fields: {', '.join(sorted(fields))}",
                loc=("query", "sort"),
                type="invalid_sort",
            )
        order.append(column.desc().nulls_last() if descending else column.asc().nulls_last())
    return order
