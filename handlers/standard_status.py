"""Standard status handler: processing within SLA, moving normally, delivered (SPEC §3 rows 13-15).

Avoids: inventing ETAs or generic time windows. The only dates it states are the promised ship-by date,
the carrier's own estimate and scan dates, and the checkpoint it commits to.
"""

from __future__ import annotations

from wismo.handlers.base import Assessment, HandlerInput
from wismo.handlers.common import denied_delivery_claim, due_at_or_later, finish, hidden_terms, options
from wismo.handlers.order_map import with_contents
from wismo.handlers.phrasing import (
    carrier_name,
    estimate_sentence,
    order_ref,
    ordered_shipments,
    scan_status_sentence,
    sentence_case,
    shipment_labels,
    tracking_text,
)

from wismo.case import ReviewerDecision
from wismo.timefmt import customer_date, hours, local_date

HANDLER = "standard_status"


def processing(inp: HandlerInput) -> Assessment:
    ctx = inp.ctx
    assert ctx is not None
    tz = inp.policy.communications.timezone
    if ctx.cancelled:
        assert ctx.cancelled_at is not None
        return finish(
            inp,
            condition="processing_within_sla",
            handler=HANDLER,
            summary=f"Our records show that {order_ref(ctx)} was cancelled on {customer_date(ctx.cancelled_at, tz)}, "
            "so nothing will be sent out.",
            internal=f"Order cancelled at {ctx.cancelled_at.isoformat()} (reason: {ctx.cancel_reason or 'none given'})",
            action="answer",
            opts=[],
            follow_up_reason=None,
            due=None,
            confidence="high",
            reasons=[],
            status_key="cancelled",
            team="cx",
        )
    t = inp.policy.thresholds
    deadline = ctx.fulfilment_deadline(t.fulfilment_sla_hours)
    labelled = [s for s in ctx.shipments.values() if s.label_at is not None]

    def summary() -> str:
        parts = [f"{sentence_case(order_ref(ctx))} is being prepared and has not been handed to a carrier yet."]
        if ctx.ship_by is not None:
            parts.append(f"It is scheduled to ship by {customer_date(ctx.ship_by, tz)}.")
        if labelled:
            carriers = sorted({carrier_name(s) for s in labelled})
            parts.append(
                f"A shipping label has been created with {' and '.join(carriers)}; tracking starts once "
                "the carrier scans the parcel."
            )
        return " ".join(parts)

    # Check again when the next thing should have happened: first scan, pick, or the ship-by time.
    candidates = [deadline]
    for s in ctx.shipments.values():
        if s.label_at is not None:
            candidates.append(s.label_at + hours(t.first_scan_hours))
        elif s.created_at is not None and s.picked_at is None:
            candidates.append(s.created_at + hours(t.pick_sla_hours))
    future = [c for c in candidates if c is not None and c > inp.now]
    due = due_at_or_later(inp, min(future) if future else None, "processing_within_sla")
    opts = options(inp, "wait", "cancel", *(() if labelled else ("address_correction",)))

    def internal() -> str:
        return (
            f"Within fulfilment SLA (deadline {deadline.isoformat() if deadline else 'unknown'}); "
            f"{len(ctx.shipments)} fulfilment(s), {len(labelled)} labelled, none scanned by the carrier."
        )

    return finish(
        inp,
        condition="processing_within_sla",
        handler=HANDLER,
        summary=summary,
        internal=internal,
        action="answer" if inp.contact else "monitor",
        opts=opts,
        follow_up_reason="confirm the order leaves the fulfilment centre by the ship-by time",
        due=due,
        confidence="high",
        reasons=[],
        status_key="processing" + (":labelled" if labelled else ""),
        team="cx",
    )


def in_transit(inp: HandlerInput) -> Assessment:
    ctx = inp.ctx
    assert ctx is not None
    tz = inp.policy.communications.timezone
    t = inp.policy.thresholds
    ships = ordered_shipments(ctx)
    active = [s for s in ships if s.first_physical_scan_at is not None and s.status != "delivered"]
    today = local_date(inp.now, tz)
    stale_eta = unexplained = delayed = False
    for s in active:
        if s.est_delivery is not None and s.est_delivery < today:
            stale_eta = True
        if s.status == "exception":
            delayed = True
            # A carrier exception we cannot read (no detail, or "other") is not a status we can explain.
            if s.detail != "weather":
                unexplained = True

    def summary() -> str:
        labels = shipment_labels(ctx)
        sentences = [
            f"{sentence_case(labels[s.shipment_id])}{tracking_text(s)}{with_contents(ctx, s)}: "
            f"{scan_status_sentence(s, tz, hidden_terms(inp))}." + estimate_sentence(s, inp.now, tz)
            for s in ships
            if s.physically_scanned
        ]
        return f"Here is the latest on {order_ref(ctx)}. " + " ".join(sentences)

    def internal() -> str:
        return "; ".join(
            f"{s.shipment_id}: {s.status}/{s.detail or '-'} at {s.status_at.isoformat() if s.status_at else '?'}, "
            f"est {s.est_delivery or 'none'}"
            for s in active
        )

    # Internal monitor: re-check when the no-movement threshold would be crossed.
    last_scans = [s.last_physical_scan_at for s in active if s.last_physical_scan_at is not None]
    monitor_at = min(last_scans) + hours(t.no_movement_hours) if last_scans else None
    due = due_at_or_later(inp, monitor_at, "standard_in_transit")
    status_key = "in_transit:" + ",".join(f"{s.shipment_id}={s.status}" for s in active)
    return finish(
        inp,
        condition="standard_in_transit",
        handler=HANDLER,
        summary=summary,
        internal=internal,
        action="answer" if inp.contact else "monitor",
        opts=options(inp, "wait"),
        follow_up_reason="watch for a stall or a change to the carrier estimate",
        due=due,
        confidence="low" if unexplained else "medium" if stale_eta or delayed else "high",
        reasons=[],
        status_key=status_key,
        team="shipping",
        checkpoint_customer_facing=stale_eta or delayed,
    )


def delivered(inp: HandlerInput) -> Assessment:
    ctx = inp.ctx
    assert ctx is not None
    denied = denied_delivery_claim(inp.case)
    if denied is not None and inp.case.dnr_claimed_at is None:
        return _claim_denied(inp, denied)
    tz = inp.policy.communications.timezone
    ships = ordered_shipments(ctx)
    labels = shipment_labels(ctx)
    if inp.contact is not None and inp.contact.acknowledges_receipt:
        body = f"Thank you for confirming that {order_ref(ctx)} was delivered; we are glad it reached you."
    else:
        if len(ships) == 1:
            body = (
                f"{sentence_case(order_ref(ctx))} has been delivered: "
                f"{scan_status_sentence(ships[0], tz, hidden_terms(inp))}."
            )
        else:
            body = f"Every package of {order_ref(ctx)} has been delivered. " + " ".join(
                f"{sentence_case(labels[s.shipment_id])}{with_contents(ctx, s)}: "
                f"{scan_status_sentence(s, tz, hidden_terms(inp))}."
                for s in ships
            )
        if len(inp.case.contacts) < 2:
            # The way back in; not repeated to a customer who already came back (a teammate now has the case).
            body += (
                f" If you cannot find {'it' if len(ships) == 1 else 'any of them'}, just reply to this message and "
                "we will reopen your case and look into it."
            )
    return finish(
        inp,
        condition="delivered",
        handler=HANDLER,
        summary=body,
        internal="All shipments delivered: "
        + ", ".join(
            f"{s.shipment_id} at {s.delivered_at.isoformat() if s.delivered_at else '?'}"
            f" ({s.delivered_location or 'no location'})"
            for s in ships
        ),
        action="answer",
        opts=[],
        follow_up_reason=None,
        due=None,
        confidence="high",
        reasons=[],
        status_key="delivered",
        team="cx",
    )


def _claim_denied(inp: HandlerInput, denied: ReviewerDecision) -> Assessment:
    """Delivered, after a reviewer denied the customer's not-received claim on this case. The customer who
    said the parcel never came is not sent the automated "delivered; if you cannot find it" text: a person
    tells them the outcome. Until a teammate's public update newer than the denial shows they did, the case
    escalates (once per case) so the promised update is not silently missed."""
    ctx = inp.ctx
    assert ctx is not None
    human = ctx.last_human_public_update_at
    told = human is not None and human >= denied.at
    internal = (
        f"Not-received claim denied by {denied.reviewer} at {denied.at.isoformat()}; the carrier's delivery record "
        "stands. "
        + (
            "A teammate has updated the customer since."
            if told
            else "The customer has not been told the outcome: reply to them personally (automated messages do "
            "not announce a denied claim)."
        )
    )
    a = finish(
        inp,
        condition="delivered",
        handler=HANDLER,
        summary="",
        internal=internal,
        action="answer" if told else "escalate",
        opts=[],
        follow_up_reason=None,
        due=None,
        confidence="high",
        reasons=[] if told else ["delivery_claim_denied"],
        status_key="delivered",
        team="cx",
    )
    a.requested_decision = "Tell the customer the outcome of their not-received claim (denied) and close the case."
    a.customer_impact = "The customer reported the delivered package missing and has not heard the outcome."
    return a
