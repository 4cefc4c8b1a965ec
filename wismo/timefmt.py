"""How dates appear in customer text, and how the guardrail reads them back.

Customer text only ever renders a date with :func:`customer_date` ("Tuesday, 3 November"), never a time
of day or a relative window, so the guardrail can find every date in a text and check it against the
dates the order data holds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_ZONES: dict[str, ZoneInfo] = {}


def zone(name: str) -> ZoneInfo:
    """A cached ZoneInfo (construction is slow relative to the hot path)."""
    z = _ZONES.get(name)
    if z is None:
        z = _ZONES[name] = ZoneInfo(name)
    return z


@lru_cache(maxsize=64)
def hours(h: float) -> timedelta:
    """``timedelta(hours=h)``, built once per value (thresholds are read on every evaluation)."""
    return timedelta(hours=h)


def local_date(value: datetime | date, tz: str) -> date:
    """The calendar date of ``value`` in the customer-facing zone ``tz`` (a bare date is kept)."""
    if isinstance(value, datetime):
        if tz == "UTC" and value.tzinfo is UTC:
            return value.date()  # already in UTC (every event time is): same date, no conversion
        return value.astimezone(zone(tz)).date()
    return value


def customer_date(value: datetime | date, tz: str) -> str:
    """Render a date for customer text: ``Tuesday, 3 November``."""
    d = local_date(value, tz)
    return f"{WEEKDAYS[d.weekday()]}, {d.day} {MONTHS[d.month - 1]}"
