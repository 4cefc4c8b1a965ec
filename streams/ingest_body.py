"""Reading and parsing a webhook request body for the ingest.

:func:`read_limited` enforces the size limit while reading: a declared ``Content-Length`` above the limit is
refused before anything is read, and a chunked body is cut off as soon as it passes the limit, so an
oversize request never sits in memory whole. :func:`parse_body` runs only after the signature check (which
needs the raw bytes) and never raises: it returns the parsed object or why it could not be parsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import orjson
from aiohttp import web

CHUNK_BYTES = 64 * 1024


class BodyTooLarge(Exception):
    """The request body is larger than the configured limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body larger than {limit} bytes")
        self.limit = limit


async def read_limited(request: web.Request, limit: int) -> bytes:
    """The whole body, or :class:`BodyTooLarge` as soon as more than ``limit`` bytes are declared or read."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.content.iter_chunked(CHUNK_BYTES):
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass(frozen=True, slots=True)
class Parsed:
    """``body``: the JSON object the adapter gets. ``original``: the payload as text, for dead letters (for
    Slack the JSON of the ``payload`` form field, not the URL-encoded form)."""

    body: dict[str, Any]
    original: str


def parse_body(provider: str, raw: bytes) -> Parsed | str:
    """The JSON object of a delivery, or a reason it is not one. Slack posts
    ``application/x-www-form-urlencoded`` with the JSON in one ``payload`` field; every other provider posts
    the JSON object itself."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"body is not UTF-8 ({exc})"
    if provider == "slack":
        try:
            form = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
        except (ValueError, UnicodeDecodeError) as exc:
            return f"Slack body is not a URL-encoded form ({exc})"
        values = form.get("payload", [])
        if len(values) != 1:
            return "Slack body must have exactly one 'payload' form field holding the interaction JSON"
        text = values[0]
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return f"body is not valid JSON ({exc})"
    if not isinstance(obj, dict):
        return f"expected a JSON object, got {type(obj).__name__}"
    return Parsed(obj, text)
