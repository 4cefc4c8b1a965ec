"""Automatic demotion of a condition to testing mode: the pure part (counting and thresholds). No I/O.

The worker feeds per-condition counts (evaluations, escalations, guardrail failures) into a :class:`RateWindow`;
``wismo deliver`` feeds delivery attempts and errors. :func:`demotions` says which conditions crossed a limit of
the policy's ``rollout.demotion``. Demotion is sticky: it is written to the shared control hash in Redis and
holds until a person promotes the condition again, so a condition does not flap back to live by itself.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from wismo.policy import Demotion

FIELDS = ("evaluations", "escalations", "guardrail_failures", "deliveries", "delivery_errors")


@dataclass(slots=True)
class RateWindow:
    """Per-condition counts over the last ``window_seconds``, kept in buckets of ``bucket_seconds``."""

    window_seconds: float
    bucket_seconds: float = 60.0
    _buckets: deque[tuple[float, dict[str, Counter[str]]]] = field(default_factory=deque)

    def add(self, now: float, condition: str, **counts: int) -> None:
        start = now - now % self.bucket_seconds
        if not self._buckets or self._buckets[-1][0] != start:
            self._buckets.append((start, {}))
        bucket = self._buckets[-1][1]
        c = bucket.setdefault(condition, Counter())
        for name, n in counts.items():
            if name not in FIELDS:
                raise ValueError(f"unknown count {name!r}")
            c[name] += n

    def totals(self, now: float) -> dict[str, Counter[str]]:
        while self._buckets and self._buckets[0][0] + self.bucket_seconds <= now - self.window_seconds:
            self._buckets.popleft()
        out: dict[str, Counter[str]] = {}
        for _, bucket in self._buckets:
            for cond, c in bucket.items():
                out.setdefault(cond, Counter()).update(c)
        return out


def demotions(totals: Mapping[str, Counter[str]], limits: Demotion, live: Iterable[str]) -> list[tuple[str, str]]:
    """``(condition, reason)`` for every condition in ``live`` (conditions still sent live somewhere) whose
    window crossed a limit. The reason names the rate, the limit and the counts, for the alert."""
    if not limits.enabled:
        return []
    out: list[tuple[str, str]] = []
    for cond in sorted(set(live)):
        c = totals.get(cond)
        if c is None:
            continue
        evals, deliveries = c["evaluations"], c["deliveries"]
        checks = []
        if evals >= limits.min_evaluations:
            checks += [
                ("guardrail failure rate", c["guardrail_failures"], evals, limits.max_guardrail_failure_rate),
                ("escalation rate", c["escalations"], evals, limits.max_escalation_rate),
            ]
        if deliveries >= limits.min_deliveries:
            checks.append(("delivery error rate", c["delivery_errors"], deliveries, limits.max_delivery_error_rate))
        for name, n, of, limit in checks:
            if n / of > limit:
                out.append((cond, f"{name} {n / of:.1%} ({n} of {of}) above {limit:.1%}"))
                break
    return out


def condition_counts(
    conditions: Mapping[str, int], escalations: Mapping[str, int], guardrail_failures: Mapping[str, int]
) -> dict[str, Counter[str]]:
    """Cumulative per-condition counts from the pipeline's stats (the worker diffs two of these)."""
    out: dict[str, Counter[str]] = {}
    for name, src in (
        ("evaluations", conditions),
        ("escalations", escalations),
        ("guardrail_failures", guardrail_failures),
    ):
        for cond, n in src.items():
            if n:
                out.setdefault(cond, Counter())[name] = n
    return out
