"""Proactive triggers (SPEC §6): when a backend change or a due follow-up is worth a customer update.

Pure. A trigger fires only on a real change versus ``last_status_sent`` (the status key of the last
message), except a due follow-up, which sends the promised checkpoint even when nothing changed.
``material`` triggers (delivered, failed attempt, return to sender, movement resumed) bypass the
one-update-per-12-hours limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from wismo.processors.fold import (
    SIG_CANCELLED,
    SIG_DELIVERED,
    SIG_DELIVERY_FAILED,
    SIG_ETA_KNOWN,
    SIG_ETA_SLIPPED,
    SIG_MOVEMENT_RESUMED,
    SIG_RETURN_TO_SENDER,
)

from wismo.case import CaseState
from wismo.conditions import ConditionType
from wismo.context import SupplierEta

CONDITION_TRIGGERS: dict[ConditionType, str] = {
    "partial_shipment": "partial_shipment_created",
    "label_created_no_pickup": "label_created_no_first_scan",
    "warehouse_pick_delay": "warehouse_pick_over_sla",
    "delivery_failed": "delivery_attempt_failed",
    "return_to_sender": "return_to_sender",
}
"""Conditions whose (changed) appearance is itself a proactive trigger."""

MATERIAL_TRIGGERS = frozenset(
    {
        "delivered_on_open_case",
        "delivery_attempt_failed",
        "return_to_sender",
        "movement_resumed",
        "cancelled_on_open_case",
    }
)
ETA_CONDITIONS: frozenset[ConditionType] = frozenset({"supplier_backorder", "allocation_conflict", "partial_shipment"})
"""Conditions whose update tells a supplier ETA, so a known-after-unknown or slipped ETA is a trigger (SPEC §6)."""
NO_PROACTIVE: frozenset[ConditionType] = frozenset({"restricted_hold", "missing_order_data", "delivered_not_received"})
"""Conditions never announced proactively: restricted states are internal-only, missing data has nothing
to say, and a delivery dispute is answered in its own conversation."""


ETA_STATUS_PREFIXES = ("backorder:", "allocation:")
"""Status keys that carry per-SKU supplier ETAs (``<prefix><sku>=<date>,...``)."""
PARTIAL_ETA_MARK = "|eta:"
"""A partial-shipment status key is ``partial:<map>`` plus, when pending items have supplier ETAs,
``|eta:<sku>=<date>,...``."""


def eta_key(e: SupplierEta) -> str:
    """``<sku>=<ISO date or unknown>``: one SKU's supplier ETA as status keys carry it (read by :func:`_etas`)."""
    return f"{e.sku}={e.eta.isoformat() if e.eta else 'unknown'}"


def _etas(status_key: str) -> dict[str, str] | None:
    """sku -> ETA (ISO date or ``unknown``) of a backorder, allocation or partial-shipment status key; None
    for other keys."""
    if status_key.startswith("partial:"):
        _, sep, rest = status_key.partition(PARTIAL_ETA_MARK)
    else:
        prefix, sep, rest = status_key.partition(":")
        if sep and prefix + ":" not in ETA_STATUS_PREFIXES:
            return None
    if not sep:
        return None
    return dict(p.split("=", 1) for p in rest.split(",") if "=" in p)


def _shipment_map(status_key: str | None) -> str | None:
    """The shipment-map part of a partial-shipment status key (without the pending items' ETAs)."""
    return status_key.partition(PARTIAL_ETA_MARK)[0] if status_key is not None else None


def eta_slipped_since_told(status_key: str, last_sent: str | None, slip_days: int) -> bool:
    """A supplier ETA for some SKU is now at least ``slip_days`` later than the ETA in the last message the
    customer got (backorder or allocation status keys). Catches a slip made of several smaller moves, none
    of which alone reached the threshold."""
    told = _etas(last_sent) if last_sent is not None else None
    now_etas = _etas(status_key)
    if not told or not now_etas:
        return False
    for sku, now in now_etas.items():
        before = told.get(sku)
        if before is None or before == "unknown" or now == "unknown":
            continue
        try:
            if (date.fromisoformat(now) - date.fromisoformat(before)).days >= slip_days:
                return True
        except ValueError:
            continue
    return False


@dataclass(frozen=True, slots=True)
class Trigger:
    name: str
    material: bool


def detect_trigger(
    condition: ConditionType,
    status_key: str,
    signals: frozenset[str],
    case: CaseState,
    *,
    follow_up_due: bool,
) -> Trigger | None:
    """The proactive trigger for this evaluation, or None. ``condition`` is the order's own condition
    (the underlying one when the case is a repeated contact)."""
    if condition in NO_PROACTIVE:
        return None
    changed = status_key != case.last_status_sent
    waiting = bool(case.contacts) or case.checkpoint_promised
    if SIG_CANCELLED in signals and status_key == "cancelled" and changed and waiting:
        # Not in SPEC §6's list, but a customer who wrote in, or was promised an update, must not find out
        # from silence that the order was cancelled (the case closes with this evaluation).
        return Trigger("cancelled_on_open_case", True)
    if SIG_MOVEMENT_RESUMED in signals and changed:
        return Trigger("movement_resumed", True)
    if SIG_DELIVERED in signals and condition == "delivered" and changed and (case.contacts or case.sent):
        return Trigger("delivered_on_open_case", True)
    partial_told = condition == "partial_shipment" and (case.last_status_sent or "").startswith("partial:")
    map_changed = changed and not (partial_told and _shipment_map(status_key) == _shipment_map(case.last_status_sent))
    if condition in CONDITION_TRIGGERS and map_changed:
        name = CONDITION_TRIGGERS[condition]
        if partial_told:
            name = "partial_shipment_changed"
        material = name in MATERIAL_TRIGGERS or bool(
            signals & {SIG_DELIVERED, SIG_DELIVERY_FAILED, SIG_RETURN_TO_SENDER}
        )
        return Trigger(name, material)
    if condition in ETA_CONDITIONS and changed:
        if SIG_ETA_SLIPPED in signals:
            return Trigger("supplier_eta_slipped", False)
        if SIG_ETA_KNOWN in signals:
            return Trigger("supplier_eta_known", False)
    if follow_up_due and case.checkpoint_promised:
        return Trigger("follow_up_due", False)
    if case.pending_status_key is not None and changed:
        return Trigger("deferred_change", False)
    return None
