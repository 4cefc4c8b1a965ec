"""Supplier / backorder handler: supplier backorder and allocation conflict (SPEC §3 rows 10-11).

Avoids: blaming or naming suppliers (customer text says "out of stock", never who supplies it), offering
an alternate item without an approved compatible alternate in policy, and stating a supplier ETA without
the caveat that it is an estimate.
"""

from __future__ import annotations

from wismo.handlers.base import Assessment, HandlerInput, lazy_texts
from wismo.handlers.common import due_at_or_later, finish, options, start_of_day
from wismo.handlers.phrasing import join_text, order_ref
from wismo.processors.fold import SIG_ETA_KNOWN, SIG_ETA_SLIPPED

from wismo.timefmt import customer_date

HANDLER = "supplier_backorder"


def supplier_backorder(inp: HandlerInput) -> Assessment:
    ctx = inp.ctx
    assert ctx is not None
    tz = inp.policy.communications.timezone
    skus: list[str] = list(inp.route.inputs.get("skus", []))
    etas = [ctx.supplier_etas[sku] for sku in skus]
    key = [f"{e.sku}={e.eta.isoformat() if e.eta else 'unknown'}" for e in etas]
    future = [d for d in (start_of_day(e.eta, tz) for e in etas if e.eta is not None) if d > inp.now]
    due = due_at_or_later(inp, min(future) if future else None, "supplier_backorder")

    def texts() -> tuple[str, str]:
        sentences = []
        for e in etas:
            title = ctx.item_title(e.sku)
            if e.eta is None:
                sentences.append(
                    f"The {title} in {order_ref(ctx)} is temporarily out of stock, and we do not have a "
                    "confirmed date for it yet."
                )
            elif e.was_unknown and SIG_ETA_KNOWN in inp.signals:
                sentences.append(
                    f"We now have an estimate for the {title} in {order_ref(ctx)}: it should be ready "
                    f"to send by {customer_date(e.eta, tz)}. This is an estimate and can still change."
                )
            elif e.previous_eta is not None and e.eta > e.previous_eta:
                sentences.append(
                    f"The estimate for the {title} in {order_ref(ctx)} has moved to "
                    f"{customer_date(e.eta, tz)}. This is an estimate and can still change."
                )
            else:
                sentences.append(
                    f"The {title} in {order_ref(ctx)} is temporarily out of stock. Our current estimate "
                    f"for it to be ready to send is {customer_date(e.eta, tz)}; this is an estimate and "
                    "can change."
                )
        internal = "; ".join(
            f"{e.sku}: ETA {e.eta or 'unknown'} (previous {e.previous_eta or 'unknown'}, "
            f"PO {e.po_id or '-'}, {e.updates} update(s))"
            for e in etas
        )
        return (
            join_text([*sentences, "You can wait for it, or ask us to cancel it."]),
            internal + ("." if SIG_ETA_SLIPPED not in inp.signals else ". ETA slipped."),
        )

    summary, internal = lazy_texts(texts)
    return finish(
        inp,
        condition="supplier_backorder",
        handler=HANDLER,
        summary=summary,
        internal=internal,
        action="answer" if inp.contact else "monitor",
        opts=options(inp, "wait", "cancel", "alternate_item", alternates_for=tuple(skus)),
        follow_up_reason="next supplier ETA check",
        due=due,
        confidence="medium" if not future else "high",
        reasons=[],
        status_key="backorder:" + ",".join(key),
        team="supply_chain",
    )


def allocation_conflict(inp: HandlerInput) -> Assessment:
    ctx = inp.ctx
    assert ctx is not None
    skus: list[str] = list(inp.route.inputs.get("skus", []))
    titles = [ctx.item_title(s) for s in skus]
    summary = (
        f"The stock for {', '.join(titles)} in {order_ref(ctx)} became unavailable just before your order "
        "could be prepared. We are checking availability and will update you."
    )
    internal = "; ".join(
        f"{s}: allocation failed ({ctx.inventory_issues[s].reason}) at {ctx.inventory_issues[s].at.isoformat()}"
        for s in skus
    )
    a = finish(
        inp,
        condition="allocation_conflict",
        handler=HANDLER,
        summary=summary,
        internal=internal + ". Decide: release reserved stock, wait for restock, or offer cancellation.",
        action="investigate",
        opts=options(inp, "wait", "cancel", "alternate_item", alternates_for=tuple(skus)),
        follow_up_reason="allocation decision",
        due=due_at_or_later(inp, None, "allocation_conflict"),
        confidence="medium",
        reasons=["inventory_exception"],
        status_key="allocation:" + ",".join(skus),
        team="supply_chain",
    )
    a.requested_decision = "Resolve the allocation: release reserved stock, wait for restock, or cancel the item."
    a.customer_impact = "The order cannot be prepared until stock is allocated."
    return a
