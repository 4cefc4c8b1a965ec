"""Customer communications: turn a specialist's facts into the message a customer reads, and write the
internal texts (notes, escalation packets) a teammate reads.

Customer text = greeting + acknowledgement of any request (never a promise) + the specialist's factual
summary (status and its source) + the promised checkpoint, if any + sign-off. It never quotes the
customer's own words back. Every customer text still goes through the guardrail before it can be sent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from wismo.handlers.base import Assessment
from wismo.handlers.phrasing import first_name, join_text, order_ref

from wismo.context import OrderContext
from wismo.records import ActionType
from wismo.timefmt import customer_date

ACTION_PHRASE: dict[str, str] = {
    "cancellation": "cancel the order",
    "address_change": "change the delivery address",
    "refund": "refund the order",
    "replacement": "send a replacement",
}
APPROVED_PHRASE: dict[str, str] = {
    "cancellation": "your cancellation has been approved",
    "address_change": "your address change has been approved",
    "refund": "your refund has been approved",
    "replacement": "a replacement has been approved",
}


def approved_sentence(approved: Sequence[str], *, executed: bool) -> str:
    """What the customer is told about actions a reviewer approved (approved, so no longer a promise)."""
    what = " and ".join(APPROVED_PHRASE[x] for x in approved)
    nxt = "It has been processed." if executed else "A teammate will complete it and confirm the details with you."
    return f"Good news: {what}. {nxt}"


def greeting(ctx: OrderContext | None) -> str:
    name = first_name(ctx)
    return f"Hi {name}," if name else "Hello,"


HANDED_OVER = "I have asked a teammate to look into this personally, and they will contact you with the next update."


_SHOWABLE_NUMBER = re.compile(r"(?=[^\d]*\d)[A-Za-z0-9][A-Za-z0-9-]{0,23}")
"""An order number the customer typed that may be repeated back to them: short, ASCII letters, digits and
dashes, with at least one digit (so no word of theirs is ever echoed)."""


def unfound_number_sentence(number: str, ctx: OrderContext | None) -> str:
    """Say that the order number the customer gave matches no order, and which order the message is about.
    A number that is not plainly an order number is not repeated (customer text is data, never copy)."""
    given = f"an order numbered #{number}" if _SHOWABLE_NUMBER.fullmatch(number) else "the order number you gave"
    if ctx is not None and ctx.order_number:
        return f"I could not find {given}, so this is about your order #{ctx.order_number}."
    return f"I could not find {given}."


def cancelled_in_transit_sentence(ctx: OrderContext, tz: str) -> str:
    """A cancelled order whose parcel a carrier already has: said before its parcels' status, so the customer
    never reads a tracking update as if the order were still going ahead. Promises nothing (no refund)."""
    assert ctx.cancelled_at is not None
    return (
        f"Our records show that {order_ref(ctx)} was cancelled on {customer_date(ctx.cancelled_at, tz)}, but "
        "its package was already with the carrier."
    )


def customer_text(
    ctx: OrderContext | None,
    a: Assessment,
    *,
    tz: str,
    sign_off: str,
    requests: Sequence[ActionType] = (),
    approved: Sequence[ActionType] = (),
    executed: bool = False,
    checkpoint: datetime | None = None,
    unchanged: bool = False,
    handed_over: bool = False,
    unfound_number: str = "",
) -> str:
    """The full customer message for a reply or proactive update. ``unchanged``: a promised checkpoint
    with nothing new to report, which the message says plainly before restating the status. ``approved``:
    actions the customer asks about again that a reviewer already approved (``executed`` when policy let
    them run). ``handed_over``: the case went to a teammate after checkpoints with no change; the message says
    so instead of promising another checkpoint. ``unfound_number``: the order number the customer gave, which
    no order has; the message says so first, and which order it answers about."""
    parts = [greeting(ctx)]
    if ctx is not None and ctx.cancelled_at is not None and any(sh.physically_scanned for sh in ctx.shipments.values()):
        parts.append(cancelled_in_transit_sentence(ctx, tz))
    if unfound_number:
        parts.append(unfound_number_sentence(unfound_number, ctx))
    if unchanged:
        parts.append("As promised, here is your update: there has been no change in its status since my last message.")
    if approved:
        parts.append(approved_sentence(approved, executed=executed))
    if requests and a.result.condition_type != "restricted_hold":
        phrases = " and to ".join(ACTION_PHRASE[r] for r in requests)
        parts.append(
            f"I have passed your request to {phrases} to a teammate for review. Nothing has been "
            "changed on your order yet."
        )
    if a.result.customer_safe_summary:
        parts.append(a.result.customer_safe_summary)
    if handed_over:
        parts.append(HANDED_OVER)
    elif checkpoint is not None and a.checkpoint_customer_facing:
        parts.append(f"I will check again and update you by {customer_date(checkpoint, tz)}.")
    parts.append(sign_off)
    return join_text(parts, "\n\n")


def approval_text(ctx: OrderContext | None, approved: list[str], *, executed: bool, sign_off: str) -> str:
    """The message after a reviewer approved customer-requested actions."""
    return "\n\n".join([greeting(ctx), approved_sentence(approved, executed=executed), sign_off])


DEFAULT_IMPACT = "The customer is waiting for an accurate answer."
"""Customer impact of an escalation whose handler names none."""


def order_facts_line(ctx: OrderContext | None) -> str | None:
    """One line of order facts for a reviewer (SPEC §7): number, value, items, and each shipment's carrier,
    tracking number, status and contents. None when the OMS has not told us about the order."""
    if ctx is None or not ctx.known:
        return None
    items = ", ".join(f"{i.title or i.sku} ({i.sku}) x{i.qty}" for i in ctx.items) or "none listed"
    parts = [f"#{ctx.order_number}, {ctx.order_value} {ctx.currency}", f"items: {items}"]
    for sid, sh in ctx.shipments.items():
        status = (sh.status or "no carrier status") + (f"/{sh.detail}" if sh.detail else "")
        where = f" at {sh.delivered_location}" if sh.delivered and sh.delivered_location else ""
        holds = ", ".join(f"{ctx.item_title(sku)} x{qty}" for sku, qty in sh.items.items()) or "contents unknown"
        carrier = " ".join(x for x in (sh.carrier, sh.tracking_number) if x) or "no label"
        parts.append(f"shipment {sid} ({carrier}; {holds}): {status}{where}")
    return "; ".join(parts) + "."


def escalation_text(
    case_id: str,
    order_label: str,
    a: Assessment,
    reasons: list[str],
    deadline: datetime,
    escalation_id: str,
    requested_decision: str,
    order_line: str | None = None,
) -> str:
    r = a.result
    return (
        f"Escalation for {order_label} (case {case_id}): {r.condition_type.replace('_', ' ')}.\n"
        f"Reasons: {', '.join(reasons)}.\n"
        + (f"Order: {order_line}\n" if order_line else "")
        + f"Facts: {r.internal_summary}\n"
        f"Customer impact: {a.customer_impact or DEFAULT_IMPACT}\n"
        f"Requested decision: {requested_decision}\n"
        f"Options: approved, denied, changes_requested, manual_takeover. Customer options: "
        f"{', '.join(r.customer_options) or 'none'}.\n"
        f"Deadline: {deadline.isoformat()}.\n"
        f"Answer with a review.decision event (escalation_id {escalation_id}) on wismo.in.review."
    )
