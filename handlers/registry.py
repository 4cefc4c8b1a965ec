"""Which specialist function answers each condition, and the one entry point :func:`assess`."""

from __future__ import annotations

from collections.abc import Callable

from wismo.handlers import (
    carrier,
    delivered_not_received,
    guarded_hold,
    missing_data,
    split_shipment,
    standard_status,
    supplier,
    warehouse,
)
from wismo.handlers.base import Assessment, HandlerInput
from wismo.handlers.repeated_contact import repeated_contact

from wismo.conditions import HANDLER_FOR, PRECEDENCE, ConditionType

ABOVE_REPEATED_CONTACT: frozenset[ConditionType] = frozenset(PRECEDENCE[: PRECEDENCE.index("repeated_contact")])
"""The case-level rows that outrank repeated contact (SPEC §3 rows 1-3)."""

HANDLERS: dict[ConditionType, Callable[[HandlerInput], Assessment]] = {
    "missing_order_data": missing_data.missing_order_data,
    "restricted_hold": guarded_hold.restricted_hold,
    "delivered_not_received": delivered_not_received.delivered_not_received,
    "return_to_sender": carrier.return_to_sender,
    "delivery_failed": carrier.delivery_failed,
    "no_tracking_movement": carrier.no_movement,
    "label_created_no_pickup": carrier.label_no_pickup,
    "partial_shipment": split_shipment.partial_shipment,
    "allocation_conflict": supplier.allocation_conflict,
    "supplier_backorder": supplier.supplier_backorder,
    "warehouse_pick_delay": warehouse.warehouse_pick_delay,
    "processing_within_sla": standard_status.processing,
    "standard_in_transit": standard_status.in_transit,
    "delivered": standard_status.delivered,
}


def assess(inp: HandlerInput) -> Assessment:
    """Run the specialist for the routed condition. Repeated contact wraps the underlying condition's
    specialist so the customer still gets the factual status; that specialist reads the underlying route
    (its shipments, reason and inputs), exactly as when the condition is routed on its own. A row above
    repeated contact keeps its own handler and adds the ``repeated_contact`` escalation reason."""
    cond = inp.route.condition
    if cond == "repeated_contact":
        under = inp._replace(route=inp.route.order_route)
        assert under.route.condition == inp.route.underlying
        return repeated_contact(inp, HANDLERS[under.route.condition](under))
    a = HANDLERS[cond](inp)
    assert a.handler == HANDLER_FOR[cond]
    if (
        cond in ABOVE_REPEATED_CONTACT
        and len(inp.case.contacts) >= inp.policy.thresholds.repeated_contact_count
        and "repeated_contact" not in a.escalation_reasons
    ):
        # A higher row wins the condition, but the customer has still had to write again on an unresolved case:
        # that stays a priority escalation (SPEC §3 row 4, §7), e.g. a second not-received claim.
        a.escalation_reasons.append("repeated_contact")
        a.priority = "urgent" if a.priority == "urgent" else "high"
    return a
