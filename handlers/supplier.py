"""Supplier / backorder handler: supplier backorder and allocation conflict (SPEC §3 rows 10-11).

Avoids: blaming or naming suppliers (customer text says "out of stock", never who supplies it), offering
an alternate item without an approved compatible alternate in policy, and stating a supplier ETA without
the caveat that it is an estimate. On a split order (several packages, or part of it with the carrier) the
text ends with the order's itemised map, so the parts that are not out of stock are accounted for too.
"""

from __future__ import annotations

from wismo.handlers.base import Assessment, HandlerInput, lazy_texts
from wismo.handlers.common import due_at_or_later, finish, hidden_terms, options, start_of_day
from wismo.handlers.order_map import split_order, with_map
from wismo.handlers.phrasing import join_text, order_ref
from wismo.processors.fold import SIG_ETA_KNOWN, SIG_ETA_SLIPPED
from wismo.processors.triggers import eta_key

from wismo.context import OrderContext, SupplierEta
from wismo.timefmt import customer_date

HANDLER = "supplier_backorder"


def supplier_backorder(inp: HandlerInput) -> Assessment:
    ctx = inp.ctx
    assert ctx is not None
    tz = inp.policy.communications.timezone
    skus: list[str] = list(inp.route.inputs.get("skus", []))
    etas = [ctx.supplier_etas[sku] for sku in skus]
    key = [eta_key(e) for e in etas]
    future = [d for d in (start_of_day(e.eta, tz) for e in etas if e.eta is not None) if d > inp.now]
    due = due_at_or_later(inp, min(future) if future else None, "supplier_backorder")
    split = split_order(ctx)

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
            with_map(
                join_text([*sentences, "You can wait for it, or ask us to cancel it."]),
                ctx,
                inp.now,
                tz,
                split=split,
                hidden=hidden_terms(inp),
            ),
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
        split=split,
    )


def allocation_conflict(inp: HandlerInput) -> Assessment:
    ctx = inp.ctx
    assert ctx is not None
    skus: list[str] = list(inp.route.inputs.get("skus", []))
    titles = [ctx.item_title(s) for s in skus]
    split = split_order(ctx)
    tz = inp.policy.communications.timezone
    etas = [ctx.supplier_etas[s] for s in skus if s in ctx.supplier_etas]
    summary = with_map(
        join_text(
            [
                f"The stock for {', '.join(titles)} in {order_ref(ctx)} became unavailable just before your order "
                "could be prepared. We are checking availability and will update you.",
                *(_estimate_sentence(inp, ctx.item_title(e.sku), e, tz) for e in etas),
            ]
        ),
        ctx,
        inp.now,
        tz,
        split=split,
        hidden=hidden_terms(inp),
    )
    internal = "; ".join(
        f"{s}: allocation failed ({ctx.inventory_issues[s].reason}) at {ctx.inventory_issues[s].at.isoformat()}"
        + (f", supplier ETA {ctx.supplier_etas[s].eta or 'unknown'}" if s in ctx.supplier_etas else "")
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
        status_key="allocation:" + ",".join(_eta_key(ctx, s) for s in skus),
        team="supply_chain",
        split=split,
    )
    a.requested_decision = "Resolve the allocation: release reserved stock, wait for restock, or cancel the item."
    a.customer_impact = "The order cannot be prepared until stock is allocated."
    return a


def _eta_key(ctx: OrderContext, sku: str) -> str:
    """``sku=<ETA or unknown>`` when a supplier ETA is known for ``sku``, else ``sku`` (status keys)."""
    e = ctx.supplier_etas.get(sku)
    return sku if e is None else eta_key(e)


def _estimate_sentence(inp: HandlerInput, title: str, e: SupplierEta, tz: str) -> str:
    """The supplier ETA of an item whose allocation failed, always with its caveat (never who supplies it)."""
    if e.eta is None:
        return f"We do not have a confirmed date for the {title} yet."
    if e.was_unknown and SIG_ETA_KNOWN in inp.signals:
        return (
            f"We now have an estimate for the {title}: it should be ready to send by {customer_date(e.eta, tz)}. "
            "This is an estimate and can still change."
        )
    if e.previous_eta is not None and e.eta > e.previous_eta:
        return (
            f"The estimate for the {title} has moved to {customer_date(e.eta, tz)}. This is an estimate and can "
            "still change."
        )
    return (
        f"Our current estimate for the {title} to be ready to send is {customer_date(e.eta, tz)}; this is an "
        "estimate and can change."
    )
