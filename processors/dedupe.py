"""Dedupe: drop an ``event_id`` already applied, and a backend status already applied to the order.

Pure: the caller owns the seen-set and the order context. A backend event "already applied" is one
whose fact the context already holds (same shipment and same status/detail/location/ETA at the same or
an earlier time, or as the latest scan within ``carrier_resend_hours`` of it; a hold already active; an ETA
already known; ...). It triggers nothing new. The same carrier status well after the latest scan is a new
scan, not a duplicate: a second delivery attempt, or proof the carrier still has the parcel (the
no-movement clock). ``delivered`` and ``return_to_sender`` happen once per shipment: a repeat of the latest
one is a re-send whenever it comes.

A late arrival that is not a repeat (an older supplier ETA, a hold placed before a release already seen) is
not dropped here: the fold leaves it out (``superseded``) and the evaluation records that it came.
"""

from __future__ import annotations

from datetime import timedelta

from wismo.processors.fold import est_delivery_date

from wismo.context import OrderContext
from wismo.events import (
    AllocationFailed,
    Event,
    FulfillmentCreated,
    HoldPlaced,
    HoldReleased,
    LabelCreated,
    OrderCancelled,
    OrderPlaced,
    PickCompleted,
    PickException,
    SupplierEtaChanged,
    TrackingUpdated,
)
from wismo.policy import Thresholds

ONCE_PER_SHIPMENT = frozenset({"delivered", "return_to_sender"})
"""Carrier statuses that happen once: the same one again as the latest scan is the carrier re-sending it,
whenever it comes."""


def already_applied(event: Event, ctx: OrderContext | None, t: Thresholds) -> str | None:
    """Why ``event`` repeats a backend fact the order context already holds, or None if it is new."""
    if ctx is None:
        return None
    if isinstance(event, TrackingUpdated):
        p = event.payload
        s = ctx.shipments.get(p.shipment_id)
        if s is None or not s.scans:
            return None
        est = est_delivery_date(p.est_delivery_at)
        for scan in s.scans:
            same = (
                scan.status == p.status
                and scan.detail == p.detail
                and scan.location == p.location
                and scan.est_delivery == est
            )
            if not same:
                continue
            if scan.at == event.occurred_at or (
                scan is s.scans[-1]
                and (
                    event.occurred_at <= scan.at
                    or p.status in ONCE_PER_SHIPMENT
                    or event.occurred_at - scan.at <= timedelta(hours=t.carrier_resend_hours)
                )
            ):
                return f"shipment {p.shipment_id} already has carrier status {p.status}"
        return None
    if isinstance(event, OrderPlaced):
        return "order already placed" if ctx.known else None
    if isinstance(event, HoldPlaced):
        ht = event.payload.hold_type
        return f"hold {ht} already active" if ht in ctx.holds else None
    if isinstance(event, HoldReleased):
        ht = event.payload.hold_type
        if ht not in ctx.holds and ht in ctx.hold_released_at:
            return f"hold {ht} already released"
        return None  # a release before its placement arrived is remembered (the late placement is then over)
    if isinstance(event, OrderCancelled):
        return "order already cancelled" if ctx.cancelled else None
    if isinstance(event, FulfillmentCreated):
        s = ctx.shipments.get(event.payload.shipment_id)
        if s is not None and s.created_at is not None:
            return f"fulfillment {s.shipment_id} already created"
        return None
    if isinstance(event, PickCompleted):
        s = ctx.shipments.get(event.payload.shipment_id)
        if s is not None and s.picked_at is not None and (s.pick_issue is None or s.pick_issue.at <= s.picked_at):
            return f"shipment {s.shipment_id} already picked"
        return None
    if isinstance(event, PickException):
        s = ctx.shipments.get(event.payload.shipment_id)
        issue = s.pick_issue if s is not None else None
        if (
            s is not None
            and issue is not None
            and issue.reason == event.payload.reason
            and not (s.picked_at is not None and s.picked_at >= issue.at)
        ):
            return f"pick exception {issue.reason} already open on {event.payload.shipment_id}"
        return None
    if isinstance(event, LabelCreated):
        s = ctx.shipments.get(event.payload.shipment_id)
        if s is not None and s.tracking_number == event.payload.tracking_number:
            return f"label {event.payload.tracking_number} already created"
        return None
    if isinstance(event, SupplierEtaChanged):
        cur = ctx.supplier_etas.get(event.payload.sku)
        if cur is not None and cur.eta == event.payload.eta:
            return f"supplier ETA for {event.payload.sku} unchanged"
        return None
    if isinstance(event, AllocationFailed):
        inv = ctx.inventory_issues.get(event.payload.sku)
        if inv is not None and inv.reason == event.payload.reason:
            return f"allocation failure ({inv.reason}) for {event.payload.sku} already recorded"
        return None
    return None
