"""Condition routing: exactly one ``condition_type`` per evaluation, in the precedence of SPEC §3.

Pure and deterministic: depends only on the order context, the case, the evaluation time (event time,
never the wall clock) and the policy thresholds. Decisions taken where the spec is silent:

* A carrier ``exception`` whose detail is a delivery-attempt reason counts as a failed attempt (row 6);
  one whose detail is ``lost`` or ``damaged`` routes to ``no_tracking_movement`` (row 7): it needs the
  same carrier investigation and replacement/refund review.
* "Not shipped" means no shipment has a physical carrier scan; a printed label is not shipping.
* A cancelled order that never shipped has no fulfilment SLA left to miss, and its printed label is not
  awaited by anyone (row 8 does not apply), so it routes to ``processing_within_sla`` (row 13) and the
  standard status handler answers with the cancellation. A cancelled order a carrier already has routes by
  its parcels as any other (a failed attempt, a return, a stall still matter); every customer text says
  first that the order was cancelled (:mod:`wismo.handlers.communications`).
* An allocation failure for a SKU is resolved once that SKU is in a fulfilment, or superseded by a
  later supplier ETA for it (then it is a backorder).
* ``underlying`` is the condition the order would have without the case-level rows (restricted hold,
  delivered-not-received and repeated contact); handlers use it to state the current order status. A
  case-level route carries the whole underlying route in ``base`` (its shipments, reason and inputs), so a
  handler run for the underlying condition reads the same facts as when that condition is routed directly.
* A shipment whose contents are unknown (a carrier event with no ``fulfillment.created`` for it) never
  makes an order partial: it may hold every unit, so no unit counts as pending while one is physically
  scanned (the order is in transit or delivered). Wording never guesses what such a package holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from wismo.case import CaseState
from wismo.conditions import ConditionType
from wismo.context import OrderContext, Shipment
from wismo.policy import Thresholds
from wismo.timefmt import hours

RESTRICTED_HOLDS = frozenset({"fraud_review", "payment_review", "address_verification"})
CARRIER_INVESTIGATION_DETAILS = frozenset({"lost", "damaged"})


_NO_INPUTS: Mapping[str, Any] = MappingProxyType({})


class Route(NamedTuple):
    """The routing outcome and the facts that decided it (written to the audit record). Immutable; a
    named tuple because one (or two) is built per evaluation."""

    condition: ConditionType
    underlying: ConditionType
    reason: str
    shipment_ids: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    inputs: Mapping[str, Any] = _NO_INPUTS
    base: Route | None = None
    """For a case-level row (restricted hold, delivered-not-received, repeated contact): the underlying route."""

    @property
    def order_route(self) -> Route:
        """The route of the order's own state: ``base`` for a case-level row, else this route."""
        return self.base if self.base is not None else self


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
    holds = sorted(h for h in ctx.holds if h in RESTRICTED_HOLDS) if ctx.holds else None
    if holds:
        return Route(
            "restricted_hold",
            underlying.condition,
            f"OMS hold: {', '.join(holds)}",
            underlying.shipment_ids,
            inputs={"holds": holds},
            base=underlying,
        )
    if case.dnr_claimed_at is not None:
        delivered = tuple(sid for sid, s in ctx.shipments.items() if s.delivered)
        if delivered:
            return Route(
                "delivered_not_received",
                underlying.condition,
                "carrier reports delivered; customer reports not received",
                delivered,
                base=underlying,
            )
    if len(case.contacts) >= t.repeated_contact_count:
        return Route(
            "repeated_contact",
            underlying.condition,
            f"{len(case.contacts)} customer contacts on the unresolved case",
            underlying.shipment_ids,
            inputs={"contacts": len(case.contacts)},
            base=underlying,
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
    scanned_ships: list[Shipment] = []
    if ships:
        no_move = hours(t.no_movement_hours)
        # A cancelled order's unscanned label is not awaited: nothing should be collected (row 8 is skipped).
        first_scan = hours(t.first_scan_hours) if not ctx.cancelled else None
        max_attempts = t.max_delivery_attempts
        for s in ships:
            scanned = s.first_physical_scan_at is not None
            if scanned:
                scanned_ships.append(s)
            status = s.status
            if status == "delivered":
                continue
            sid = s.shipment_id
            active.append(sid)
            if status == "return_to_sender" or (max_attempts is not None and s.failed_attempts >= max_attempts):
                rts.append(sid)
            elif status == "delivery_failed":
                failed.append(sid)
            if scanned:
                if (status == "exception" and s.detail in CARRIER_INVESTIGATION_DETAILS) or (
                    s.last_physical_scan_at is not None and now - s.last_physical_scan_at >= no_move
                ):
                    stalled.append(sid)
            elif s.label_at is not None and first_scan is not None and now - s.label_at >= first_scan:
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
        if scanned_ships and not ctx.cancelled and _any_unshipped(ctx, scanned_ships):
            return Route(
                "partial_shipment",
                "partial_shipment",
                "some items shipped while others are pending",
                tuple(s.shipment_id for s in ships),
                inputs={"pending": ctx.unshipped_units()},
            )

    if (ctx.inventory_issues or ctx.supplier_etas) and not ctx.cancelled:
        stock = _stock_route(ctx)
        if stock is not None:
            return stock

    if not scanned_ships:
        return _unshipped_route(ctx, ships, now, t)
    if active:
        return Route("standard_in_transit", "standard_in_transit", "moving with current scans", tuple(active))
    return Route("delivered", "delivered", "all shipments delivered", tuple(s.shipment_id for s in ships))


def _any_unshipped(ctx: OrderContext, scanned: list[Shipment]) -> bool:
    """``bool(ctx.unshipped_units())``, given the physically scanned shipments, without building the dict;
    False when a scanned shipment's contents are unknown (it may hold the units)."""
    if not all(s.items for s in scanned):
        return False
    if len(scanned) == 1:
        shipped = scanned[0].items
    else:
        shipped = {}
        for s in scanned:
            for sku, qty in s.items.items():
                shipped[sku] = shipped.get(sku, 0) + qty
    if len(ctx.items) == 1:
        item = ctx.items[0]
        return item.qty > shipped.get(item.sku, 0)
    return any(qty > shipped.get(sku, 0) for sku, qty in ctx.ordered_units().items())


def _stock_route(ctx: OrderContext) -> Route | None:
    """Rows 10-11 (allocation conflict, supplier backorder) for an order that is not cancelled."""
    allocated = ctx.units_in_shipments()
    ordered = ctx.ordered_units()
    # A SKU that is not on the order (an event that arrived before order.placed) is not the order's problem;
    # with no items known at all, every SKU counts.
    default = 0 if ordered else 1
    conflicts = sorted(sku for sku in ctx.inventory_issues if allocated.get(sku, 0) < ordered.get(sku, default))
    if conflicts:
        return Route(
            "allocation_conflict",
            "allocation_conflict",
            "allocation failed for " + ", ".join(conflicts),
            inputs={"skus": conflicts},
        )
    backorder = sorted(sku for sku in ctx.supplier_etas if allocated.get(sku, 0) < ordered.get(sku, default))
    if backorder:
        return Route(
            "supplier_backorder",
            "supplier_backorder",
            "supplier ETA instead of stock for " + ", ".join(backorder),
            inputs={"skus": backorder},
        )
    return None


def _unshipped_route(ctx: OrderContext, ships: list[Shipment], now: datetime, t: Thresholds) -> Route:
    """Rows 12-13 for an order no carrier has physically scanned: pick delay or processing."""
    if ctx.cancelled:
        return Route("processing_within_sla", "processing_within_sla", "order cancelled before shipping")
    ids: list[str] = []
    pick_issue: list[str] = []  # an open pick exception
    pick_late: list[str] = []  # not picked within the pick SLA
    pick_sla = hours(t.pick_sla_hours)
    for s in ships:
        sid = s.shipment_id
        ids.append(sid)
        picked = s.picked_at
        if s.pick_issue is not None and (picked is None or picked < s.pick_issue.at):
            pick_issue.append(sid)
        if picked is None and s.created_at is not None and now - s.created_at >= pick_sla:
            pick_late.append(sid)
    if pick_issue:
        return Route("warehouse_pick_delay", "warehouse_pick_delay", "open pick exception", tuple(pick_issue))
    deadline = ctx.fulfilment_deadline(t.fulfilment_sla_hours)
    if deadline is not None and now >= deadline:
        return Route(
            "warehouse_pick_delay",
            "warehouse_pick_delay",
            "not shipped and past the fulfilment SLA",
            tuple(ids),
            inputs={"deadline": deadline},
        )
    if pick_late:
        return Route(
            "warehouse_pick_delay",
            "warehouse_pick_delay",
            f"not picked {t.pick_sla_hours:g}h after fulfilment was created",
            tuple(pick_late),
        )
    return Route("processing_within_sla", "processing_within_sla", "not shipped, inside the fulfilment SLA", tuple(ids))
