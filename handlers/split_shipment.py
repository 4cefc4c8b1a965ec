"""Split shipment handler (SPEC §3 row 9): an itemised map of every shipment and every pending item.

Avoids: hiding that only part of the order shipped. Each shipment is named ("Package N") with its items
and its own status; a shipment with only a label is "waiting for the carrier", never "shipped"; each
pending item is listed, with a supplier ETA only when the data holds one (and a caveat).
"""

from __future__ import annotations

from datetime import datetime

from wismo.handlers.base import Assessment, HandlerInput
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

from wismo.timefmt import customer_date

HANDLER = "split_shipment"


def partial_shipment(inp: HandlerInput) -> Assessment:
    ctx = inp.ctx
    assert ctx is not None
    tz = inp.policy.communications.timezone
    labels = shipment_labels(ctx)
    lines = [f"{sentence_case(order_ref(ctx))} is coming in more than one part. Here is where each part is:"]
    key_parts = []
    for s in ordered_shipments(ctx):
        name = labels[s.shipment_id]
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
        lines.append(f"- {sentence_case(name)}{tracking_text(s)} with {what}: {status}")
        phase = "delivered" if s.delivered else "scanned" if s.physically_scanned else "label" if s.label_at else "prep"
        key_parts.append(f"{s.shipment_id}={phase}")
    pending = ctx.unshipped_units()
    in_shipments = ctx.units_in_shipments()
    eta_dues: list[datetime] = []
    for sku, qty in pending.items():
        title = ctx.item_title(sku)
        label = f"{title} (x{qty})" if qty > 1 else title
        eta = ctx.supplier_etas.get(sku)
        if in_shipments.get(sku, 0) > 0:
            continue  # already listed inside a package that has not left yet
        if eta is not None and eta.eta is not None:
            lines.append(
                f"- Not yet sent: {label}. Our current estimate for it to be ready is "
                f"{customer_date(eta.eta, tz)}; this is an estimate and can change."
            )
            eta_dues.append(start_of_day(eta.eta, tz))
        elif eta is not None:
            lines.append(
                f"- Not yet sent: {label}. It is temporarily out of stock and we do not have a confirmed "
                "date for it yet."
            )
        else:
            lines.append(f"- Not yet sent: {label}. It is still being prepared.")
        key_parts.append(f"{sku}=pending")
    deadline = ctx.fulfilment_deadline(inp.policy.thresholds.fulfilment_sla_hours)
    candidates = [d for d in [*eta_dues, deadline] if d is not None and d > inp.now]
    due = due_at_or_later(inp, min(candidates) if candidates else None, "partial_shipment")
    internal = f"Split order: {len(ctx.shipments)} shipment(s) [{', '.join(key_parts)}]; pending units {pending}."
    return finish(
        inp,
        condition="partial_shipment",
        handler=HANDLER,
        summary="\n".join(lines),
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
