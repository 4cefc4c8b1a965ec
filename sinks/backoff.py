"""Retry schedule of the delivery sinks: exponential backoff with full jitter, honouring what a server asks.

Pure functions (no clock, no randomness of their own: both are arguments), so every bound is testable.

* Without a server hint, the delay before retry ``n`` (after attempt ``n`` failed) is uniform in
  ``[0, min(cap, initial * 2 ** (n - 1))]`` ("full jitter": many sinks retrying the same outage spread out).
* A ``Retry-After`` header (delay seconds or an HTTP date) or a rate-limit reset header wins over the jitter:
  the retry waits exactly that long (a server that says when it is ready again is believed), capped at ``cap``.
  Reset headers: ``ratelimit-reset`` (IETF draft: seconds until the window resets) and ``X-Rate-Limit-Reset``
  / ``X-RateLimit-Reset``, which services spell either as seconds or as an epoch time; a value above
  :data:`EPOCH_THRESHOLD` is read as an epoch time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

EPOCH_THRESHOLD = 1_000_000_000.0
"""A reset value larger than this (September 2001 as an epoch time, 31 years as a delay) is an epoch time."""

_RESET_HEADERS = ("ratelimit-reset", "x-rate-limit-reset", "x-ratelimit-reset")


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """``initial``: bound of the first retry's delay; ``cap``: bound of every delay (server hints included)."""

    initial: float
    cap: float

    def jitter_bound(self, attempt: int) -> float:
        """The upper bound of the jittered delay after attempt ``attempt`` (1-based) failed."""
        exponent = min(max(attempt - 1, 0), 62)  # 2**62 * initial is past any cap; avoids float overflow
        return min(self.cap, self.initial * float(2**exponent))

    def delay(self, attempt: int, *, server_wait: float | None, rand: float) -> float:
        """Seconds to wait before the next attempt. ``rand`` is uniform in ``[0, 1)``; ``server_wait`` is what
        :func:`server_wait` read from the failed response, or None."""
        if server_wait is not None:
            return min(self.cap, max(server_wait, 0.0))
        return rand * self.jitter_bound(attempt)


def server_wait(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds the server asked to wait, from ``Retry-After`` or a rate-limit reset header; None when it did not
    say (or said something unreadable). ``now`` is the current epoch time (for HTTP dates and epoch resets).
    Header names are matched case-insensitively; a past date means "now" (0)."""
    lower = {k.lower(): v for k, v in headers.items()}
    retry_after = lower.get("retry-after")
    if retry_after is not None:
        parsed = _retry_after(retry_after.strip(), now)
        if parsed is not None:
            return parsed
    for name in _RESET_HEADERS:
        value = lower.get(name)
        if value is None:
            continue
        number = _number(value.strip())
        if number is None:
            continue
        return max(number - now, 0.0) if number > EPOCH_THRESHOLD else max(number, 0.0)
    return None


def _retry_after(value: str, now: float) -> float | None:
    number = _number(value)
    if number is not None:
        return max(number, 0.0)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": UTC with no local offset (RFC 5322); HTTP dates are GMT anyway
        when = when.replace(tzinfo=UTC)
    return max(when.timestamp() - now, 0.0)


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number == number and number not in (float("inf"), float("-inf")) else None
