"""Carrier exception handler: label created with no pickup, no movement, failed delivery, return to
sender (SPEC §3 rows 5-8).

Avoids: treating label creation as carrier possession (a labelled parcel is "waiting for the carrier to
collect it", never "shipped"); exposing carrier scan codes (each reason has customer wording); hiding that
only part of a split order is in the parcel concerned (on a split order the text ends with the order's
itemised map and the guardrail checks it, SPEC §5). Texts are written only when a record needs them
(``lazy_texts``).
"""

from __future__ import annotations

from wismo.handlers.base import Assessment, HandlerInput, lazy_texts
from wismo.handlers.common import due_in, finish, hidden_terms, hours_since, options
from wismo.handlers.order_map import split_order, with_map
from wismo.handlers.phrasing import (
    DELIVERY_FAILURE_REASON,
    carrier_name,
    carrier_subject,
    join_text,
    order_ref,
    shipment_labels,
    tracking_text,
)

from wismo.context import OrderContext
from wismo.records import RecommendedAction
from wismo.timefmt import customer_date

HANDLER = "carrier_exception"
INVESTIGATION_DETAILS = ("lost", "damaged")


def _customer_text(inp: HandlerInput, ctx: OrderContext, sentences: list[str], closing: str, *, split: bool) -> str:
    """ "An update on <order>." + the shipment sentences + ``closing``; on a split order, then the order's
    itemised map (every shipment and every pending item)."""
    text = join_text([f"An update on {order_ref(ctx)}.", *sentences, closing])
    return with_map(text, ctx, inp.now, inp.policy.communications.timezone, split=split, hidden=hidden_terms(inp))


def label_no_pickup(inp: HandlerInput) -> Assessment:
    ctx = inp.ctx
    assert ctx is not None
    tz = inp.policy.communications.timezone
    sids = inp.route.shipment_ids
    split = split_order(ctx)

    def texts() -> tuple[str, str]:
        labels = shipment_labels(ctx)
        sentences = []
        internal = []
        for sid in sids:
            s = ctx.shipments[sid]
            assert s.label_at is not None
            sentences.append(
                f"A shipping label for {labels[sid]}{tracking_text(s)} was created on "
                f"{customer_date(s.label_at, tz)}, but "
                f"{carrier_name(s)} has not scanned the parcel yet, so it is not in the carrier's hands."
            )
            internal.append(
                f"{sid}: label {s.tracking_number} ({s.carrier}) at {s.label_at.isoformat()}, "
                f"no physical scan after {hours_since(inp, s.label_at):.0f}h"
            )
        return (
            _customer_text(inp, ctx, sentences, "We are checking the handoff to the carrier.", split=split),
            "; ".join(internal) + ". Trace the handoff with the carrier and the fulfilment site.",
        )

    summary, internal = lazy_texts(texts)
    return finish(
        inp,
        condition="label_created_no_pickup",
        handler=HANDLER,
        summary=summary,
        internal=internal,
        action="trace",
        opts=options(inp, "wait", "cancel"),
        follow_up_reason="confirm the carrier's first scan after the handoff trace",
        due=due_in(inp, "label_created_no_pickup"),
        confidence="high",
        reasons=[],
        status_key="no_pickup:" + ",".join(sids),
        team="shipping",
        split=split,
    )


def no_movement(inp: HandlerInput) -> Assessment:
    ctx = inp.ctx
    assert ctx is not None
    tz = inp.policy.communications.timezone
    sids = inp.route.shipment_ids
    split = split_order(ctx)
    lost = any(
        ctx.shipments[sid].status == "exception" and ctx.shipments[sid].detail in INVESTIGATION_DETAILS for sid in sids
    )

    def texts() -> tuple[str, str]:
        labels = shipment_labels(ctx)
        sentences = []
        internal = []
        for sid in sids:
            s = ctx.shipments[sid]
            name = labels[sid]
            last = customer_date(s.last_physical_scan_at, tz) if s.last_physical_scan_at else None
            if s.status == "exception" and s.detail in INVESTIGATION_DETAILS:
                sentences.append(
                    f"{carrier_subject(s)} has reported a problem with {name}{tracking_text(s)} while it was in their "
                    f"network (last update on {customer_date(s.status_at, tz) if s.status_at else last})."
                )
            else:
                sentences.append(
                    f"{carrier_subject(s)} last scanned {name}{tracking_text(s)} on {last} and has not reported any "
                    "movement since."
                )
            internal.append(
                f"{sid}: {s.status}/{s.detail or '-'}, last physical scan "
                f"{s.last_physical_scan_at.isoformat() if s.last_physical_scan_at else '?'} "
                f"({hours_since(inp, s.last_physical_scan_at):.0f}h ago)"
            )
        return (
            _customer_text(
                inp, ctx, sentences, "We are following up with the carrier to find out where it is.", split=split
            ),
            "; ".join(internal)
            + (
                ". Carrier reports lost/damaged: open a claim and review replacement or refund."
                if lost
                else ". Open a carrier trace."
            ),
        )

    summary, internal = lazy_texts(texts)
    return finish(
        inp,
        condition="no_tracking_movement",
        handler=HANDLER,
        summary=summary,
        internal=internal,
        action="replacement_review" if lost else "trace",
        opts=options(inp, "wait", *(("replacement", "refund") if lost else ())),
        follow_up_reason="carrier investigation result",
        due=due_in(inp, "no_tracking_movement"),
        confidence="high",
        reasons=["carrier_investigation"] if lost else [],
        status_key="stalled:" + ",".join(sids) + (":lost" if lost else ""),
        team="shipping",
        split=split,
    )


ORDINALS = {2: "second", 3: "third", 4: "fourth", 5: "fifth"}
"""How a repeated failed attempt is counted to the customer ("tried ... for the second time")."""


def delivery_failed(inp: HandlerInput) -> Assessment:
    ctx = inp.ctx
    assert ctx is not None
    tz = inp.policy.communications.timezone
    sids = inp.route.shipment_ids
    split = split_order(ctx)
    address = any(ctx.shipments[sid].detail == "address_issue" for sid in sids)
    if address:
        nxt = (
            " Please reply to confirm your full delivery address, including any flat or unit number, so we "
            "can check it with the carrier."
        )
        opts = options(inp, "address_correction", "hold_for_pickup", "reattempt")
        action: RecommendedAction = "investigate"
    else:
        nxt = (
            " The carrier usually tries again; you can also ask for the package to be held for collection "
            "at a pickup point."
        )
        opts = options(inp, "reattempt", "hold_for_pickup")
        action = "monitor" if not inp.contact else "answer"

    def texts() -> tuple[str, str]:
        labels = shipment_labels(ctx)
        sentences = []
        internal = []
        for sid in sids:
            s = ctx.shipments[sid]
            reason = DELIVERY_FAILURE_REASON.get(s.detail or "", "the carrier could not complete the delivery")
            when = customer_date(s.status_at, tz) if s.status_at else "the latest attempt"
            again = f" for the {ORDINALS.get(s.failed_attempts, 'latest')} time" if s.failed_attempts >= 2 else ""
            sentences.append(
                f"{carrier_subject(s)} tried to deliver {labels[sid]}{tracking_text(s)}{again} on {when}, but {reason}."
            )
            internal.append(
                f"{sid}: delivery_failed/{s.detail or '-'} attempt {s.failed_attempts} at "
                f"{s.status_at.isoformat() if s.status_at else '?'}"
            )
        return (
            _customer_text(inp, ctx, sentences, nxt, split=split),
            "; ".join(internal) + (". Verify the address with the customer." if address else "."),
        )

    summary, internal = lazy_texts(texts)
    return finish(
        inp,
        condition="delivery_failed",
        handler=HANDLER,
        summary=summary,
        internal=internal,
        action=action,
        opts=opts,
        follow_up_reason="confirm the reattempt or the address correction",
        due=due_in(inp, "delivery_failed"),
        confidence="high",
        reasons=[],
        status_key="delivery_failed:" + ",".join(f"{sid}#{ctx.shipments[sid].failed_attempts}" for sid in sids),
        team="shipping",
        split=split,
    )


def return_to_sender(inp: HandlerInput) -> Assessment:
    ctx = inp.ctx
    assert ctx is not None
    sids = inp.route.shipment_ids
    split = split_order(ctx)

    def texts() -> tuple[str, str]:
        labels = shipment_labels(ctx)
        sentences = []
        internal = []
        for sid in sids:
            s = ctx.shipments[sid]
            attempts = f" after {s.failed_attempts} delivery attempts" if s.failed_attempts >= 2 else ""
            sentences.append(
                f"{carrier_subject(s)} reports that {labels[sid]}{tracking_text(s)} is being returned to us{attempts}."
            )
            internal.append(f"{sid}: {s.status}, {s.failed_attempts} failed attempt(s)")
        return (
            _customer_text(
                inp,
                ctx,
                sentences,
                "A teammate will contact you about the options for getting your order to you.",
                split=split,
            ),
            "; ".join(internal) + ". Resolution needed: reship (replacement) or refund once returned.",
        )

    summary, internal = lazy_texts(texts)
    a = finish(
        inp,
        condition="return_to_sender",
        handler=HANDLER,
        summary=summary,
        internal=internal,
        action="replacement_review",
        opts=options(inp, "replacement", "refund", "address_correction"),
        follow_up_reason="resolution decision for the returning parcel",
        due=due_in(inp, "return_to_sender"),
        confidence="high",
        reasons=["resolution_required"],
        status_key="rts:" + ",".join(sids),
        team="cx",
        split=split,
    )
    a.requested_decision = "Choose the resolution for the returning parcel: reship or refund."
    a.customer_impact = "The customer's order is on its way back to us and will not arrive as ordered."
    return a
