"""Enrichment: fold one backend event into the order's canonical context.

:func:`fold_event` mutates ``ctx`` and returns the *signals* the event produced (what changed that a
proactive trigger may care about). Pure apart from mutating the context it is given; never raises for a
validated event. Out-of-order carrier scans are kept in history but do not overwrite a newer status.

A carrier's delivery estimate is kept twice: on its :class:`Scan` as the carrier gave it (a timed estimate
as its date in the carrier's offset, the dedupe key of that scan), and on the :class:`Shipment` as the
customer's calendar date, the date in the policy time zone (``tz``, ``communications.timezone``), which is
the date customer text states. A date-only estimate is a calendar date and is the same in both.
"""

from __future__ import annotations

from datetime import date, datetime

from wismo.context import (
    MAX_SCANS_KEPT,
    PHYSICAL_SCAN_EXCLUDED,
    InventoryIssue,
    Item,
    OrderContext,
    PickIssue,
    Scan,
    Shipment,
    SupplierEta,
)
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
from wismo.timefmt import hours, local_date

DELIVERY_ATTEMPT_DETAILS = frozenset({"address_issue", "access_issue", "business_closed", "recipient_unavailable"})
"""Carrier ``exception`` details that mean a delivery attempt failed (SPEC §3 row 6)."""

BACKEND_SOURCES = frozenset({"oms", "wms", "supplier", "carrier"})

# Signals a fold can return. Proactive triggers (SPEC §6) are built from these plus the routed condition.
SIG_MOVEMENT_RESUMED = "movement_resumed"
SIG_DELIVERY_FAILED = "delivery_failed"
SIG_RETURN_TO_SENDER = "return_to_sender"
SIG_DELIVERED = "delivered"
SIG_ETA_SLIPPED = "supplier_eta_slipped"
SIG_ETA_KNOWN = "supplier_eta_known"
SIG_HOLD_PLACED = "hold_placed"
SIG_HOLD_RELEASED = "hold_released"
SIG_SUPERSEDED = "superseded"
"""A late event (older than the fact the order already holds: a supplier ETA, a hold placement before its
release, a release before a newer placement) changed nothing; the evaluation still records that it came."""
SIG_CANCELLED = "cancelled"
SIG_SHIPPED = "first_physical_scan"


def est_delivery_date(value: datetime | date | None, tz: str | None = None) -> date | None:
    """The carrier's estimated delivery as a calendar date: a timed estimate in zone ``tz``, or in the
    offset the carrier gave when ``tz`` is None; a date-only estimate as given (it never shifts)."""
    if isinstance(value, datetime):
        return value.date() if tz is None else local_date(value, tz)
    return value


def _shipment(ctx: OrderContext, shipment_id: str) -> Shipment:
    s = ctx.shipments.get(shipment_id)
    if s is None:
        s = ctx.shipments[shipment_id] = Shipment(shipment_id=shipment_id)
    return s


def fold_event(event: Event, ctx: OrderContext, thresholds: Thresholds, tz: str = "UTC") -> set[str]:
    """Apply ``event`` to ``ctx``; return the change signals. Ticket/review/clock events are no-ops here
    (contacts and reviewer decisions belong to the case, not the order). ``tz``: the customer time zone
    (policy ``communications.timezone``), in which a carrier's timed estimate becomes a calendar date."""
    signals: set[str] = set()
    at = event.occurred_at
    if event.source in BACKEND_SOURCES and event.type != "clock.tick":
        if event.source not in ctx.sources_seen:
            ctx.sources_seen.append(event.source)
        if ctx.last_backend_change_at is None or at > ctx.last_backend_change_at:
            ctx.last_backend_change_at = at
    if ctx.last_event_at is None or at > ctx.last_event_at:
        ctx.last_event_at = at

    if isinstance(event, TrackingUpdated):
        _fold_tracking(event, ctx, thresholds, signals, tz)
    elif isinstance(event, OrderPlaced):
        p = event.payload
        ctx.known = True
        ctx.order_number = p.order_number.lstrip("#")
        ctx.customer_id = p.customer.id
        ctx.customer_email = p.customer.email.strip().lower() if p.customer.email else None
        ctx.customer_name = p.customer.name
        ctx.items = [Item(sku=i.sku, title=i.title or i.sku, qty=i.qty, unit_price=i.unit_price) for i in p.items]
        ctx.order_value = p.order_value
        ctx.currency = p.currency
        ctx.placed_at = at
        ctx.ship_by = p.ship_by
    elif isinstance(event, HoldPlaced):
        ht = event.payload.hold_type
        released = ctx.hold_released_at.get(ht)
        if released is not None and released >= at:
            signals.add(SIG_SUPERSEDED)  # released before this placement arrived: over already
        elif ht not in ctx.holds:  # placed again while active: the status already applied (dedupe drops it)
            ctx.holds[ht] = at
            signals.add(SIG_HOLD_PLACED)
    elif isinstance(event, HoldReleased):
        ht = event.payload.hold_type
        prev = ctx.hold_released_at.get(ht)
        if prev is None or at > prev:
            ctx.hold_released_at[ht] = at
        placed = ctx.holds.get(ht)
        if placed is not None and placed <= at:
            del ctx.holds[ht]
            signals.add(SIG_HOLD_RELEASED)
        elif placed is not None:
            signals.add(SIG_SUPERSEDED)  # an older release arriving after a newer placement
    elif isinstance(event, OrderCancelled):
        ctx.cancelled_at = at
        ctx.cancel_reason = event.payload.reason
        signals.add(SIG_CANCELLED)
    elif isinstance(event, FulfillmentCreated):
        s = _shipment(ctx, event.payload.shipment_id)
        s.created_at = at
        s.items = {}
        for it in event.payload.items:
            s.items[it.sku] = s.items.get(it.sku, 0) + it.qty
    elif isinstance(event, PickCompleted):
        s = _shipment(ctx, event.payload.shipment_id)
        s.picked_at = at
    elif isinstance(event, PickException):
        s = _shipment(ctx, event.payload.shipment_id)
        s.pick_issue = PickIssue(reason=event.payload.reason, skus=list(event.payload.skus), at=at)
    elif isinstance(event, LabelCreated):
        p2 = event.payload
        s = _shipment(ctx, p2.shipment_id)
        s.carrier = p2.carrier
        s.tracking_number = p2.tracking_number
        s.tracking_url = p2.tracking_url
        s.label_at = at
        if s.picked_at is None:
            s.picked_at = at  # a label is only printed for a picked and packed parcel
    elif isinstance(event, SupplierEtaChanged):
        _fold_eta(event, ctx, thresholds, signals)
    elif isinstance(event, AllocationFailed):
        ctx.inventory_issues[event.payload.sku] = InventoryIssue(
            sku=event.payload.sku, reason=event.payload.reason, at=at
        )
    return signals


def _fold_tracking(event: TrackingUpdated, ctx: OrderContext, t: Thresholds, signals: set[str], tz: str) -> None:
    p = event.payload
    at = event.occurred_at
    s = _shipment(ctx, p.shipment_id)
    est = est_delivery_date(p.est_delivery_at)
    scan = Scan(
        event_id=event.event_id,
        at=at,
        status=p.status,
        detail=p.detail,
        location=p.location,
        est_delivery=est,
    )
    s.scans.append(scan)
    if len(s.scans) > 1 and s.scans[-2].at > at:
        s.scans.sort(key=lambda x: x.at)
    if len(s.scans) > MAX_SCANS_KEPT:
        del s.scans[: len(s.scans) - MAX_SCANS_KEPT]

    physical = p.status not in PHYSICAL_SCAN_EXCLUDED
    if physical:
        if s.first_physical_scan_at is None:
            signals.add(SIG_SHIPPED)
        prev_last = s.last_physical_scan_at
        if prev_last is not None and at - prev_last >= hours(t.no_movement_hours) and s.status not in ("delivered",):
            signals.add(SIG_MOVEMENT_RESUMED)
        if s.first_physical_scan_at is None or at < s.first_physical_scan_at:
            s.first_physical_scan_at = at
        if prev_last is None or at > prev_last:
            s.last_physical_scan_at = at

    if s.status_at is not None and at < s.status_at:
        return  # an older scan arriving late: history only
    status = p.status
    if status == "exception" and p.detail in DELIVERY_ATTEMPT_DETAILS:
        status = "delivery_failed"
    previous = s.status
    s.status = status
    s.detail = p.detail
    s.status_at = at
    if est is not None:
        s.est_delivery = est_delivery_date(p.est_delivery_at, tz)
    if status == "delivery_failed":
        s.failed_attempts += 1
        signals.add(SIG_DELIVERY_FAILED)
    elif status == "return_to_sender" and previous != "return_to_sender":
        signals.add(SIG_RETURN_TO_SENDER)
    elif status == "delivered":
        s.delivered_at = at
        s.delivered_location = p.location
        if previous != "delivered":
            signals.add(SIG_DELIVERED)
    if status != "delivered" and previous == "delivered":
        s.delivered_at = None
        s.delivered_location = None


def _fold_eta(event: SupplierEtaChanged, ctx: OrderContext, t: Thresholds, signals: set[str]) -> None:
    p = event.payload
    prev = ctx.supplier_etas.get(p.sku)
    if prev is not None and event.occurred_at < prev.changed_at:
        signals.add(SIG_SUPERSEDED)  # an older ETA arriving after a newer one
        return
    # An allocation failure for the SKU stays: SPEC §3 puts allocation_conflict (row 10) before
    # supplier_backorder (row 11), first match wins, until a fulfilment allocates the units (routing).
    if prev is None:
        ctx.supplier_etas[p.sku] = SupplierEta(sku=p.sku, eta=p.eta, changed_at=event.occurred_at, po_id=p.po_id)
        return
    if prev.eta is None and p.eta is not None:
        signals.add(SIG_ETA_KNOWN)
    elif prev.eta is not None and p.eta is not None and (p.eta - prev.eta).days >= t.supplier_slip_days:
        signals.add(SIG_ETA_SLIPPED)
    ctx.supplier_etas[p.sku] = SupplierEta(
        sku=p.sku,
        eta=p.eta,
        previous_eta=prev.eta,
        was_unknown=prev.eta is None,
        changed_at=event.occurred_at,
        po_id=p.po_id or prev.po_id,
        updates=prev.updates + 1,
    )
