"""Reading a multipart/form-data request as it arrives (python-multipart's push parser), so an
upload streams into the artifact store instead of being spooled whole first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from libs.common.http import ApiError


@dataclass
class Part:
    """The start of a form part; its bytes follow as `bytes` items, then `End`."""

    name: str
    filename: str | None


class End:
    pass


Item = Part | bytes | End


def _bad(message: str) -> ApiError:
    return ApiError(422, message, loc=("body",), type="multipart_invalid")


async def parts(request: Request) -> AsyncIterator[Item]:
    """Yield `Part`, its data as `bytes` (several), `End`, for each part, in order."""
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data" or b"boundary" not in options:
        raise ApiError(
            415,
            "send the file as multipart/form-data (field `upload_file`)",
            loc=("header", "content-type"),
            type="unsupported_media_type",
        )
    pending: list[Item] = []
    header_field = bytearray()
    header_value = bytearray()
    headers: dict[bytes, bytes] = {}

    def on_part_begin() -> None:
        headers.clear()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        headers[bytes(header_field).lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        _, disposition = parse_options_header(headers.get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", errors="replace")
        filename = disposition.get(b"filename")
        pending.append(
            Part(name, None if filename is None else filename.decode("utf-8", errors="replace"))
        )

    def on_part_data(data: bytes, start: int, end: int) -> None:
        pending.append(bytes(data[start:end]))

    def on_part_end() -> None:
        pending.append(End())

    parser = MultipartParser(
        options[b"boundary"],
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    async for chunk in request.stream():
        try:
            parser.write(chunk)
        except Exception as exc:
            raise _bad(f"malformed multipart body: {exc}") from None
        for item in pending:
            yield item
        pending.clear()
    try:
        parser.finalize()
    except Exception as exc:
        raise _bad(f"malformed multipart body: {exc}") from None
    for item in pending:
        yield item
