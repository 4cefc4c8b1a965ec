"""Match a ticket that names no known order to one order (SPEC §2).

Pure and deterministic; never raises. The caller looks orders up (by number, and by the customer's id
or e-mail); this module decides. It asks for the order number (``"ambiguous"``) only when several
orders are plausible, and never attributes an order number to a customer it does not belong to (the
result then carries no order id and the reason names no other customer). Naive datetimes are read as
UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

MatchOutcome = Literal["matched", "ambiguous", "none"]

_MAX_LOOKBACK_DAYS: Final = 36_500
_FUTURE_SLACK: Final = timedelta(days=1)
_MAX_SHOWN: Final = 32


@dataclass(frozen=True, slots=True)
class OrderSummary:
    order_id: str
    order_number: str
    customer_id: str | None
    customer_email: str | None
    placed_at: datetime
    delivered: bool  # every shipment delivered (case resolved)
    cancelled: bool


@dataclass(frozen=True, slots=True)
class MatchResult:
    outcome: MatchOutcome
    order_id: str | None
    candidates: tuple[str, ...]  # order_ids considered plausible (for ambiguous), sorted
    reason: str  # internal, human-readable
    unfound_number: str = ""
    """The order number the ticket named when no order has it and the customer's identity matched instead
    (as given, printable and bounded); the reply says so. Empty otherwise."""


def _norm_id(value: str | None) -> str:
    return value.strip() if value else ""


def _norm_email(value: str | None) -> str:
    return value.strip().casefold() if value else ""


def _shown(order_number: str) -> str:
    """The order number as it may appear in an internal reason: printable and bounded."""
    text = "".join(c for c in order_number if c.isprintable())
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "…"


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.utcoffset() is None else value


def _shift(value: datetime, delta: timedelta) -> datetime:
    try:
        return value + delta
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC) if delta > timedelta(0) else datetime.min.replace(tzinfo=UTC)


def _belongs(order: OrderSummary, customer_id: str, email: str) -> bool:
    return (customer_id != "" and _norm_id(order.customer_id) == customer_id) or (
        email != "" and _norm_email(order.customer_email) == email
    )


def _matched(order_id: str, reason: str, unfound_number: str = "") -> MatchResult:
    return MatchResult("matched", order_id, (order_id,), reason, unfound_number)


def _none(reason: str) -> MatchResult:
    return MatchResult("none", None, (), reason)


def match_named(
    named: Sequence[OrderSummary], *, customer_id: str | None, customer_email: str | None
) -> MatchResult | None:
    """A message that names several orders ("#8840 came quickly but #8871 still hasn't arrived"): it is about
    the only one of them still open (not delivered, not cancelled), the one a customer can still be waiting
    for; a not-received claim is then never pinned on a delivered order the text also names. Orders of
    another customer (when the ticket names one) do not count. None when that does not decide: fewer than
    two named orders of this customer, or not exactly one open among them (then the usual rules apply)."""
    cid = _norm_id(customer_id)
    email = _norm_email(customer_email)
    mine = [o for o in named if not (cid or email) or _belongs(o, cid, email)]
    if len({o.order_id for o in mine}) < 2:
        return None
    still_open = sorted({o.order_id for o in mine if not o.delivered and not o.cancelled})
    if len(still_open) != 1:
        return None
    return _matched(still_open[0], f"the only open one of the {len(mine)} orders the message names")


def match_ticket(
    *,
    order_number: str | None,
    customer_id: str | None,
    customer_email: str | None,
    intents: frozenset[str],
    by_number: OrderSummary | None,
    customer_orders: Sequence[OrderSummary],
    now: datetime,
    lookback_days: int,
) -> MatchResult:
    """Decide which order a ticket is about.

    1. A known order number wins, unless the ticket names a customer (id or e-mail) and neither matches
       that order's customer: then ``"none"`` ("does not belong to this customer").
    2. An unknown number with no identity is ``"none"``; with an identity, fall through to 3 (a mistyped
       number from a known customer; the match carries ``unfound_number`` so the reply names both).
    3. Identity: the customer's non-cancelled orders placed within ``lookback_days`` before ``now`` (and
       not more than a day after it). Plausible = the delivered ones if the customer says
       ``not_received`` (else the open ones), otherwise the open ones (else all). One → ``"matched"``,
       several → ``"ambiguous"`` (ask for the number), none → ``"none"``.
    """
    number = (order_number or "").strip().lstrip("#").strip()
    cid = _norm_id(customer_id)
    email = _norm_email(customer_email)
    has_identity = cid != "" or email != ""

    prefix = ""
    unfound = ""
    if number:
        shown = _shown(number)
        if by_number is not None:
            if has_identity and not _belongs(by_number, cid, email):
                return _none(f"order number {shown} does not belong to this customer")
            if has_identity:
                return _matched(by_number.order_id, f"order number {shown} belongs to this customer")
            return _matched(by_number.order_id, f"order number {shown} (no customer identity to cross-check)")
        if not has_identity:
            return _none(f"order number {shown} not found")
        prefix = f"order number {shown} not found; "
        unfound = shown

    if not has_identity:
        return _none("no customer identity on the ticket")

    now = _aware(now)
    days = min(max(lookback_days, 0), _MAX_LOOKBACK_DAYS)
    earliest = _shift(now, -timedelta(days=days))
    latest = _shift(now, _FUTURE_SLACK)
    recent: dict[str, OrderSummary] = {}
    for order in customer_orders:
        if order.order_id in recent or order.cancelled or not _belongs(order, cid, email):
            continue
        if earliest <= _aware(order.placed_at) <= latest:
            recent[order.order_id] = order
    if not recent:
        return _none(f"{prefix}no recent orders for this customer (last {days} days)")

    open_ids = sorted(oid for oid, o in recent.items() if not o.delivered)
    delivered_ids = sorted(oid for oid, o in recent.items() if o.delivered)
    if "not_received" in intents:
        plausible, kind = (delivered_ids, "delivered recent") if delivered_ids else (open_ids, "open recent")
    else:
        plausible, kind = (open_ids, "open recent") if open_ids else (sorted(recent), "recent")

    if len(plausible) == 1:
        return _matched(plausible[0], f"{prefix}the only {kind} order for this customer", unfound)
    return MatchResult(
        "ambiguous",
        None,
        tuple(plausible),
        f"{prefix}{len(plausible)} {kind} orders are plausible; ask the customer for the order number",
        unfound,
    )
