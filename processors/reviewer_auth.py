"""Reviewer authorisation: may this reviewer give this decision on this escalation? Pure; no I/O.

Rules (policy ``reviewers``; when the policy has none, every decision is accepted):
- any decision needs a reviewer the policy names somewhere (a group member or a listed id);
- an approval needs, for every decision type it approves (each action draft's type, or ``escalation`` when
  there is none), a reviewer listed for that type (or under ``default``);
- an approval on an order worth at least ``high_value_threshold`` also needs a ``high_value`` reviewer.

A refusal is a sentence naming the reviewer and what they lack, written to the case as an internal note and
to the decision record; the escalation stays open for an entitled reviewer.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from wismo.policy import Reviewers


def refusal(
    reviewers: Reviewers | None,
    reviewer: str,
    decision: str,
    decision_types: Sequence[str],
    order_value: Decimal,
    high_value_threshold: float,
) -> str | None:
    """Why ``reviewer`` may not give ``decision``, or None when they may."""
    if reviewers is None:
        return None
    if reviewer not in reviewers.everyone():
        return f"{reviewer} is not a configured reviewer"
    if decision != "approved":
        return None
    for kind in decision_types or ["escalation"]:
        allowed = reviewers.approve.get(kind, reviewers.approve.get("default", []))
        if reviewer not in reviewers.members(allowed):
            return f"{reviewer} may not approve {kind.replace('_', ' ')}"
    if order_value >= Decimal(str(high_value_threshold)) and reviewer not in reviewers.members(reviewers.high_value):
        return (
            f"{reviewer} may not approve on a high-value order (value {order_value} is at or above "
            f"{high_value_threshold:g})"
        )
    return None
