"""Provider timestamps to the canonical forms of EVENTS.md.

``occurred_at`` must be RFC 3339 with an offset: :func:`instant` keeps the provider's own offset (a carrier's
local time stays local) and refuses a time without one unless the caller names how to read it. Delivery
estimates (``est_delivery_at``) may be a date or a datetime: :func:`estimate` keeps a date a date, because a
carrier's "delivered by the 5th" is a local calendar day that shifting through UTC would move.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

from wismo.processors.adapters._fields import MissingField

Naive = Literal["reject", "utc"]
"""How to read a timestamp without an offset: refuse it, or take it as UTC (the adapter documents why)."""


def instant(value: Any, path: str, *, naive: Naive = "reject") -> datetime:
    """An aware datetime from an ISO 8601 / RFC 3339 string (``Z``, ``+09:00``, fractions of any length)."""
    if not isinstance(value, str) or not value.strip():
        raise MissingField(f"{path} is missing or not a timestamp string")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise MissingField(f"{path} is not an ISO 8601 timestamp: {value!r}") from exc
    if parsed.tzinfo is None:
        if naive == "utc":
            return parsed.replace(tzinfo=UTC)
        raise MissingField(f"{path} has no UTC offset: {value!r}")
    return parsed


def is_naive(value: str) -> bool:
    """True when ``value`` parses as a datetime without an offset (callers flag times they had to assume)."""
    try:
        return datetime.fromisoformat(value.strip()).tzinfo is None
    except ValueError:
        return False


def epoch_seconds(value: Any, path: str) -> datetime:
    """A UTC datetime from Unix seconds given as a number or a string (Slack's ``"1548426417.840180"``)."""
    try:
        seconds = float(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None
    except ValueError:
        seconds = None
    if seconds is None:
        raise MissingField(f"{path} is missing or not Unix seconds")
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise MissingField(f"{path} is not a usable Unix time: {value!r}") from exc


def rfc3339(moment: datetime) -> str:
    """The canonical string of an aware datetime, in its own offset (UTC written as ``Z``)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    out = moment.isoformat()
    return out[:-6] + "Z" if out.endswith("+00:00") else out


def estimate(value: Any, path: str, *, midnight_utc_is_date: bool = False) -> str | None:
    """A delivery estimate as the canonical ``est_delivery_at`` string, or None when absent.

    ``YYYY-MM-DD`` stays a date. A datetime with an offset stays a datetime in that offset. A datetime without an
    offset becomes its date (it is a local wall-clock time; its day is what the carrier promised). With
    ``midnight_utc_is_date``, ``...T00:00:00Z`` is read as a date too: EasyPost writes date-only estimates that
    way, and converting that midnight to an American time zone would move it to the day before.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MissingField(f"{path} is not a date or timestamp string")
    raw = value.strip()
    if len(raw) == 10:
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError as exc:
            raise MissingField(f"{path} is not an ISO 8601 date: {value!r}") from exc
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise MissingField(f"{path} is not an ISO 8601 date or timestamp: {value!r}") from exc
    if parsed.tzinfo is None:
        return parsed.date().isoformat()
    if midnight_utc_is_date and parsed.utcoffset() == UTC.utcoffset(None) and parsed.time() == datetime.min.time():
        return parsed.date().isoformat()
    return rfc3339(parsed)
