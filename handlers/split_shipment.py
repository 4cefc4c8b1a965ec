"""Split shipment handler (SPEC §3 row 9): an itemised map of every shipment and every pending item.

Avoids: hiding that only part of the order shipped. Each shipment is named ("Package N") with its items
and its own status; a shipment with only a label is "waiting for the carrier", never "shipped"; each
pending item is listed, with a supplier ETA only when the data holds one (and a caveat).
"""

from __future__ import annotations

from wismo.handlers.base import Assessment, HandlerInput, lazy_texts
from wismo.handlers.common import due_at_or_later, finish, options, start_of_day
from wismo.handlers.phrasing import (
    estimate_sentence,
    items_text,
    order_ref,
    ordered_shipments,
    scan_status_sentence,
    sentence_case,
    shipment_labels,
    tracking_text,
)

from wismo.context import Shipment
from wismo.timefmt import customer_date

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
    in_shipments = ctx.units_in_shipments()
    # Not yet in any package: these are listed on their own lines (the rest appear inside their package).
    loose = [sku for sku in pending if in_shipments.get(sku, 0) == 0]
    key_parts = [f"{s.shipment_id}={_phase(s)}" for s in ships] + [f"{sku}=pending" for sku in loose]
    etas = [e.eta for e in (ctx.supplier_etas.get(sku) for sku in loose) if e is not None and e.eta is not None]
    deadline = ctx.fulfilment_deadline(inp.policy.thresholds.fulfilment_sla_hours)
    candidates = [d for d in [*(start_of_day(e, tz) for e in etas), deadline] if d is not None and d > inp.now]
    due = due_at_or_later(inp, min(candidates) if candidates else None, "partial_shipment")

    def texts() -> tuple[str, str]:
        labels = shipment_labels(ctx)
        lines = [f"{sentence_case(order_ref(ctx))} is coming in more than one part. Here is where each part is:"]
        for s in ships:
            what = items_text(ctx, s.items) if s.items else "part of your order"
            if s.physically_scanned:
                status = scan_status_sentence(s, tz) + "." + estimate_sentence(s, inp.now, tz)
            elif s.label_at is not None:
                status = (
                    f"a shipping label was created on {customer_date(s.label_at, tz)}; it is waiting for the "
                    "carrier to collect it."
                )
            else:
                status = "being prepared at our fulfilment centre."
            lines.append(f"- {sentence_case(labels[s.shipment_id])}{tracking_text(s)} with {what}: {status}")
        for sku in loose:
            qty = pending[sku]
            title = ctx.item_title(sku)
            label = f"{title} (x{qty})" if qty > 1 else title
            eta = ctx.supplier_etas.get(sku)
            if eta is not None and eta.eta is not None:
                lines.append(
                    f"- Not yet sent: {label}. Our current estimate for it to be ready is "
                    f"{customer_date(eta.eta, tz)}; this is an estimate and can change."
                )
            elif eta is not None:
                lines.append(
                    f"- Not yet sent: {label}. It is temporarily out of stock and we do not have a confirmed "
                    "date for it yet."
                )
            else:
                lines.append(f"- Not yet sent: {label}. It is still being prepared.")
        internal = f"Split order: {len(ctx.shipments)} shipment(s) [{', '.join(key_parts)}]; pending units {pending}."
        return "\n".join(lines), internal

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
        status_key="partial:" + ",".join(key_parts),
        team="cx",
        split=True,
    )
