"""Split shipment handler (SPEC §3 row 9): an itemised map of every shipment and every pending item.

Avoids: hiding that only part of the order shipped. The text is the order's itemised map
(:mod:`wismo.handlers.order_map`): each shipment named ("Package N") with its items, quantities where an
item is split, and its own status; a shipment with only a label is "waiting for the carrier", never
"shipped"; each pending unit is listed, with a supplier ETA only when the data holds one (and a caveat).
"""

from __future__ import annotations

from wismo.handlers.base import Assessment, HandlerInput, lazy_texts
from wismo.handlers.common import due_at_or_later, finish, hidden_terms, options, start_of_day
from wismo.handlers.order_map import map_lines, unpacked_units
from wismo.handlers.phrasing import order_ref, ordered_shipments, sentence_case
from wismo.processors.triggers import PARTIAL_ETA_MARK, eta_key

from wismo.context import Shipment

HANDLER = "split_shipment"


def _phase(s: Shipment) -> str:
    if s.delivered:
        return "delivered"
    if s.physically_scanned:
        return "scanned"
    return "label" if s.label_at is not None else "prep"


def partial_shipment(inp: HandlerInput) -> Assessment:
    ctx = inp.ctx
    assert ctx is not None
    tz = inp.policy.communications.timezone
    ships = ordered_shipments(ctx)
    pending = ctx.unshipped_units()
    # Not yet in any package: listed on their own lines (the rest appear inside their package).
    loose = unpacked_units(ctx)
    key_parts = [f"{s.shipment_id}={_phase(s)}" for s in ships] + [f"{sku}=pending" for sku in loose]
    known = [e for sku in loose if (e := ctx.supplier_etas.get(sku)) is not None]
    etas = [e.eta for e in known if e.eta is not None]
    # The pending items' supplier ETAs, which the map tells, follow the map in the status key: a slip or an ETA
    # becoming known is then a real change (SPEC §6), while the map part alone says whether the parts moved.
    told = PARTIAL_ETA_MARK + ",".join(eta_key(e) for e in known)
    deadline = ctx.fulfilment_deadline(inp.policy.thresholds.fulfilment_sla_hours)
    candidates = [d for d in [*(start_of_day(e, tz) for e in etas), deadline] if d is not None and d > inp.now]
    due = due_at_or_later(inp, min(candidates) if candidates else None, "partial_shipment")

    def texts() -> tuple[str, str]:
        head = f"{sentence_case(order_ref(ctx))} is coming in more than one part. Here is where each part is:"
        internal = f"Split order: {len(ctx.shipments)} shipment(s) [{', '.join(key_parts)}]; pending units {pending}."
        return "\n".join([head, *map_lines(ctx, inp.now, tz, hidden_terms(inp))]), internal

    summary, internal = lazy_texts(texts)
    return finish(
        inp,
        condition="partial_shipment",
        handler=HANDLER,
        summary=summary,
        internal=internal,
        action="answer" if inp.contact else "monitor",
        opts=options(inp, "wait", "cancel", "alternate_item", alternates_for=tuple(pending)),
        follow_up_reason="the next pending part ships or its estimate changes",
        due=due,
        confidence="high",
        reasons=[],
        status_key="partial:" + ",".join(key_parts) + (told if known else ""),
        team="cx",
        split=True,
    )
