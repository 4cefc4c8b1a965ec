"""The fifteen condition types of SPEC §3, in routing precedence order (first match wins)."""

from __future__ import annotations

from typing import Literal, get_args

ConditionType = Literal[
    "missing_order_data",
    "restricted_hold",
    "delivered_not_received",
    "repeated_contact",
    "return_to_sender",
    "delivery_failed",
    "no_tracking_movement",
    "label_created_no_pickup",
    "partial_shipment",
    "allocation_conflict",
    "supplier_backorder",
    "warehouse_pick_delay",
    "processing_within_sla",
    "standard_in_transit",
    "delivered",
]

PRECEDENCE: tuple[ConditionType, ...] = get_args(ConditionType)
"""Conditions in the exact precedence of SPEC §3."""

HANDLER_FOR: dict[ConditionType, str] = {
    "missing_order_data": "missing_data",
    "restricted_hold": "guarded_hold",
    "delivered_not_received": "delivered_not_received",
    "repeated_contact": "priority_escalation",
    "return_to_sender": "carrier_exception",
    "delivery_failed": "carrier_exception",
    "no_tracking_movement": "carrier_exception",
    "label_created_no_pickup": "carrier_exception",
    "partial_shipment": "split_shipment",
    "allocation_conflict": "supplier_backorder",
    "supplier_backorder": "supplier_backorder",
    "warehouse_pick_delay": "warehouse_investigation",
    "processing_within_sla": "standard_status",
    "standard_in_transit": "standard_status",
    "delivered": "standard_status",
}
"""Which specialist handler owns each condition (SPEC §3, last column)."""

EXCEPTION_CONDITIONS: frozenset[ConditionType] = frozenset(
    {
        "restricted_hold",
        "return_to_sender",
        "delivery_failed",
        "no_tracking_movement",
        "label_created_no_pickup",
        "allocation_conflict",
        "supplier_backorder",
        "warehouse_pick_delay",
    }
)
"""Conditions that are a backend exception (something went wrong in the OMS, warehouse, supplier or carrier):
the rollout plan's "time from backend exception to first customer update" starts when a case enters one."""
