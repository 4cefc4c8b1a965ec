"""Delivered-not-received handler (SPEC §3 row 3) with resolution eligibility.

Decisions: delivery proof is *weak* when the carrier's delivered scan has no delivery location. The case
escalates when proof is weak or the order value reaches ``high_value_threshold``; otherwise the customer
gets the delivery facts and the investigation path, and a replacement (or the refund they asked for) is
drafted for approval. Nothing is promised: the draft needs approval (writes are disabled by default).
"""

from __future__ import annotations

from wismo.handlers.base import Assessment, HandlerInput, lazy_texts
from wismo.handlers.common import due_in, finish, hidden_terms, is_high_value, options
from wismo.handlers.order_map import with_contents
from wismo.handlers.phrasing import carrier_subject, order_ref, shipment_labels, shown_place

from wismo.timefmt import customer_date

HANDLER = "delivered_not_received"


def delivered_not_received(inp: HandlerInput) -> Assessment:
    ctx = inp.ctx
    assert ctx is not None
    tz = inp.policy.communications.timezone
    sids = inp.route.shipment_ids
    weak = [sid for sid in sids if not ctx.shipments[sid].delivered_location]
    high = is_high_value(inp)
    reasons = ["weak_delivery_proof"] if weak else []

    def texts() -> tuple[str, str]:
        labels = shipment_labels(ctx)
        sentences = []
        for sid in sids:
            s = ctx.shipments[sid]
            when = customer_date(s.delivered_at, tz) if s.delivered_at else "recently"
            place = shown_place(s.delivered_location, hidden_terms(inp))
            where = f", with the delivery location noted as {place}" if place else ""
            what = with_contents(ctx, s)
            package = f"{labels[sid]},{what}," if what else labels[sid]
            sentences.append(f"{carrier_subject(s)} recorded {package} as delivered on {when}{where}.")
        summary = (
            f"I am sorry that {order_ref(ctx)} has not reached you. "
            + " ".join(sentences)
            + " Please check around the delivery spot, with neighbours and with any building reception or "
            "mail room. I have asked a teammate to open a delivery investigation with the carrier."
        )
        internal = (
            f"DNR claimed at {inp.case.dnr_claimed_at.isoformat() if inp.case.dnr_claimed_at else '?'}; "
            f"delivered shipments {list(sids)}; proof {'weak' if weak else 'carrier location'}"
            f"; order value {ctx.order_value} {ctx.currency} ({'high' if high else 'below threshold'})."
        )
        return summary, internal

    summary, internal = lazy_texts(texts)
    preferred = inp.contact.resolution if inp.contact and inp.contact.resolution else "replacement"
    a = finish(
        inp,
        condition="delivered_not_received",
        handler=HANDLER,
        summary=summary,
        internal=internal,
        action="refund_review" if preferred == "refund" else "replacement_review",
        opts=options(inp, "wait", "replacement", "refund"),
        follow_up_reason="delivery investigation result",
        due=due_in(inp, "delivered_not_received"),
        confidence="medium" if weak else "high",
        reasons=reasons,
        status_key="dnr:" + ",".join(sids),
        team="cx",
    )
    a.action_requests.append(preferred)
    a.requested_decision = f"Approve or deny a {preferred} for a package the customer reports not received."
    a.customer_impact = "The customer reports the delivered package never arrived."
    a.priority = "high" if high else "normal"
    return a
