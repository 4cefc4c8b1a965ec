"""Warehouse investigation handler (SPEC §3 row 12): past the fulfilment SLA, not picked within the pick
SLA, or an open pick exception.

Avoids: promising warehouse actions the WMS does not support (no "we will expedite/prioritise"), and
exposing pick-exception codes. Pick exceptions escalate to the fulfilment owners.
"""

from __future__ import annotations

from wismo.handlers.base import Assessment, HandlerInput, lazy_texts
from wismo.handlers.common import due_in, finish, options
from wismo.handlers.order_map import units_label
from wismo.handlers.phrasing import order_ref, sentence_case

from wismo.context import OrderContext
from wismo.timefmt import customer_date

HANDLER = "warehouse_investigation"


MAX_ITEMS_NAMED = 3
"""A late order names at most this many of its waiting items ("and 2 more items" after them)."""


def _waiting_items(ctx: OrderContext) -> str:
    """``, with Trail Runner GTX and Wool Socks (x2),``: the items that have not left, so the customer knows
    what is late; empty when none is known."""
    ordered = ctx.ordered_units()
    names = [units_label(ctx, sku, qty, ordered.get(sku, qty)) for sku, qty in ctx.unshipped_units().items()]
    if not names:
        return ""
    shown = names[:MAX_ITEMS_NAMED]
    more = len(names) - len(shown)
    if more:
        shown.append(f"{more} more item{'s' if more > 1 else ''}")
    listed = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"
    return f", with {listed},"


def warehouse_pick_delay(inp: HandlerInput) -> Assessment:
    ctx = inp.ctx
    assert ctx is not None
    tz = inp.policy.communications.timezone
    reason = inp.route.reason
    issues = [
        s.pick_issue
        for s in ctx.shipments.values()
        if s.pick_issue is not None and (s.picked_at is None or s.picked_at < s.pick_issue.at)
    ]
    reasons = ["warehouse_exception"] if issues else ["sla_breach"]

    def texts() -> tuple[str, str]:
        deadline = ctx.fulfilment_deadline(inp.policy.thresholds.fulfilment_sla_hours)
        parts = [f"{sentence_case(order_ref(ctx))}{_waiting_items(ctx)} has not left our fulfilment centre yet."]
        if ctx.ship_by is not None and inp.now >= ctx.ship_by:
            parts.append(f"It was due to ship by {customer_date(ctx.ship_by, tz)}, and I am sorry it is running late.")
        else:
            parts.append("It is taking longer than it should to prepare, and I am sorry for the wait.")
        parts.append("We are looking into it")
        exceptions = "; ".join(
            f"pick exception {i.reason} (SKUs {', '.join(i.skus) or '-'}) at {i.at.isoformat()}" for i in issues
        )
        internal = (
            f"{reason}; fulfilment deadline {deadline.isoformat() if deadline else 'unknown'}; "
            + (exceptions or "no pick exception recorded")
            + ". Investigate with the fulfilment site; confirm a pick date from the WMS."
        )
        return " ".join(parts) + ".", internal

    summary, internal = lazy_texts(texts)
    key_reason = ",".join(sorted(i.reason for i in issues)) if issues else "sla"
    a = finish(
        inp,
        condition="warehouse_pick_delay",
        handler=HANDLER,
        summary=summary,
        internal=internal,
        action="investigate",
        opts=options(inp, "wait", "cancel"),
        follow_up_reason="warehouse investigation result",
        due=due_in(inp, "warehouse_pick_delay"),
        confidence="high",
        reasons=reasons,
        status_key=f"pick_delay:{key_reason}",
        team="supply_chain",
    )
    a.requested_decision = "Confirm when the order will be picked and packed, or whether stock is affected."
    a.customer_impact = "The order is late leaving the fulfilment centre."
    return a
