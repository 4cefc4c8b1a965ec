"""Condition routing: exactly one ``condition_type`` per evaluation, in the precedence of SPEC §3.

Pure and deterministic: depends only on the order context, the case, the evaluation time (event time,
never the wall clock) and the policy thresholds. Decisions taken where the spec is silent:

* A carrier ``exception`` whose detail is a delivery-attempt reason counts as a failed attempt (row 6);
  one whose detail is ``lost`` or ``damaged`` routes to ``no_tracking_movement`` (row 7): it needs the
  same carrier investigation and replacement/refund review.
* "Not shipped" means no shipment has a physical carrier scan; a printed label is not shipping.
* A cancelled order that never shipped has no fulfilment SLA left to miss, so it routes to
  ``processing_within_sla`` (row 13) and the standard status handler answers with the cancellation.
* An allocation failure for a SKU is resolved once that SKU is in a fulfilment, or superseded by a
  later supplier ETA for it (then it is a backorder).
* ``underlying`` is the condition the order would have without the case-level rows (delivered-not-
  received and repeated contact); handlers use it to state the current order status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from wismo.case import CaseState
from wismo.conditions import ConditionType
from wismo.context import OrderContext
from wismo.policy import Thresholds

RESTRICTED_HOLDS = frozenset({"fraud_review", "payment_review", "address_verification"})
CARRIER_INVESTIGATION_DETAILS = frozenset({"lost", "damaged"})


@dataclass(frozen=True, slots=True)
class Route:
    """The routing outcome and the facts that decided it (written to the audit record)."""

    condition: ConditionType
    underlying: ConditionType
    reason: str
    shipment_ids: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    inputs: dict[str, Any] = field(default_factory=dict)


def route(
    ctx: OrderContext | None,
    case: CaseState,
    now: datetime,
    t: Thresholds,
    *,
    missing: tuple[str, ...] = (),
) -> Route:
    """Assign the condition. ``missing`` names data the intake could not find (e.g. ``order_number``)."""
    if missing or ctx is None or not ctx.known:
        what = missing or ("order data from the order management system",)
        return Route(
            "missing_order_data",
            "missing_order_data",
            "order cannot be identified or has no data",
            missing=what,
        )
    underlying = route_order(ctx, now, t)
    holds = sorted(h for h in ctx.holds if h in RESTRICTED_HOLDS)
    if holds:
        return Route(
            "restricted_hold",
            underlying.condition,
            f"OMS hold: {', '.join(holds)}",
            underlying.shipment_ids,
            inputs={"holds": holds},
        )
    if case.dnr_claimed_at is not None:
        delivered = tuple(sid for sid, s in ctx.shipments.items() if s.delivered)
        if delivered:
            return Route(
                "delivered_not_received",
                underlying.condition,
                "carrier reports delivered; customer reports not received",
                delivered,
            )
    if len(case.contacts) >= t.repeated_contact_count:
        return Route(
            "repeated_contact",
            underlying.condition,
            f"{len(case.contacts)} customer contacts on the unresolved case",
            underlying.shipment_ids,
            inputs={"contacts": len(case.contacts)},
        )
    return underlying


def route_order(ctx: OrderContext, now: datetime, t: Thresholds) -> Route:
    """Rows 5-15: the order's own physical state. One pass over the shipments collects every row's
    candidates; the rows are then checked in precedence order (this runs once per evaluation)."""
    ships = list(ctx.shipments.values())
    rts: list[str] = []
    failed: list[str] = []
    stalled: list[str] = []
    no_pickup: list[str] = []
    active: list[str] = []
    any_scanned = False
    if ships:
        no_move = timedelta(hours=t.no_movement_hours)
        first_scan = timedelta(hours=t.first_scan_hours)
        for s in ships:
            scanned = s.first_physical_scan_at is not None
            any_scanned = any_scanned or scanned
            if s.status == "delivered":
                continue
            sid = s.shipment_id
            active.append(sid)
            if s.status == "return_to_sender" or s.failed_attempts >= t.max_delivery_attempts:
                rts.append(sid)
            elif s.status == "delivery_failed":
                failed.append(sid)
            if scanned:
                if (s.status == "exception" and s.detail in CARRIER_INVESTIGATION_DETAILS) or (
                    s.last_physical_scan_at is not None and now - s.last_physical_scan_at >= no_move
                ):
                    stalled.append(sid)
            elif s.label_at is not None and now - s.label_at >= first_scan:
                no_pickup.append(sid)
        if rts:
            return Route(
                "return_to_sender", "return_to_sender", "shipment returning to sender or attempts exhausted", tuple(rts)
            )
        if failed:
            return Route("delivery_failed", "delivery_failed", "failed delivery attempt", tuple(failed))
        if stalled:
            return Route(
                "no_tracking_movement",
                "no_tracking_movement",
                f"no carrier scan for {t.no_movement_hours:g}h or carrier reports lost/damaged",
                tuple(stalled),
            )
        if no_pickup:
            return Route(
                "label_created_no_pickup",
                "label_created_no_pickup",
                f"label created, no physical carrier scan after {t.first_scan_hours:g}h",
                tuple(no_pickup),
            )
        if any_scanned and not ctx.cancelled:
            unshipped = ctx.unshipped_units()
            if unshipped:
                return Route(
                    "partial_shipment",
                    "partial_shipment",
                    "some items shipped while others are pending",
                    tuple(s.shipment_id for s in ships),
                    inputs={"pending": unshipped},
                )

    if not ctx.cancelled and (ctx.inventory_issues or ctx.supplier_etas):
        allocated = ctx.units_in_shipments()
        ordered = {i.sku: i.qty for i in ctx.items}
        conflicts = sorted(sku for sku in ctx.inventory_issues if allocated.get(sku, 0) < ordered.get(sku, 1))
        if conflicts:
            return Route(
                "allocation_conflict",
                "allocation_conflict",
                "allocation failed for " + ", ".join(conflicts),
                inputs={"skus": conflicts},
            )
        backorder = sorted(sku for sku in ctx.supplier_etas if allocated.get(sku, 0) < ordered.get(sku, 1))
        if backorder:
            return Route(
                "supplier_backorder",
                "supplier_backorder",
                "supplier ETA instead of stock for " + ", ".join(backorder),
                inputs={"skus": backorder},
            )

    if not any_scanned:
        if ctx.cancelled:
            return Route("processing_within_sla", "processing_within_sla", "order cancelled before shipping")
        ids = tuple(s.shipment_id for s in ships)
        pick_issue = tuple(
            s.shipment_id
            for s in ships
            if s.pick_issue is not None and (s.picked_at is None or s.picked_at < s.pick_issue.at)
        )
        if pick_issue:
            return Route("warehouse_pick_delay", "warehouse_pick_delay", "open pick exception", pick_issue)
        deadline = ctx.fulfilment_deadline(t.fulfilment_sla_hours)
        if deadline is not None and now >= deadline:
            return Route(
                "warehouse_pick_delay",
                "warehouse_pick_delay",
                "not shipped and past the fulfilment SLA",
                ids,
                inputs={"deadline": deadline},
            )
        pick_sla = timedelta(hours=t.pick_sla_hours)
        pick_late = tuple(
            s.shipment_id
            for s in ships
            if s.created_at is not None and s.picked_at is None and now - s.created_at >= pick_sla
        )
        if pick_late:
            return Route(
                "warehouse_pick_delay",
                "warehouse_pick_delay",
                f"not picked {t.pick_sla_hours:g}h after fulfilment was created",
                pick_late,
            )
        return Route("processing_within_sla", "processing_within_sla", "not shipped, inside the fulfilment SLA", ids)
    if active:
        return Route("standard_in_transit", "standard_in_transit", "moving with current scans", tuple(active))
    return Route("delivered", "delivered", "all shipments delivered", tuple(s.shipment_id for s in ships))
