"""The canonical order context: every event type folded into one view of an order (SPEC §1 "order context").

Plain mutable slotted dataclasses (attribute writes are on the hot path); the state layer serialises
them with a pydantic ``TypeAdapter`` and loads them back validated. Only :mod:`wismo.processors.fold` writes to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

PHYSICAL_SCAN_EXCLUDED = frozenset({"pre_transit"})
"""Carrier statuses that are not a physical carrier scan (EVENTS.md: only ``pre_transit``)."""

MAX_SCANS_KEPT = 25
"""Scans kept per shipment; older ones are dropped (only recent history matters for routing)."""


@dataclass(slots=True, kw_only=True)
class Item:
    sku: str
    title: str
    qty: int
    unit_price: Decimal = Decimal(0)


@dataclass(slots=True, kw_only=True)
class Scan:
    event_id: str
    at: datetime
    status: str
    detail: str | None = None
    location: str | None = None
    est_delivery: date | None = None


@dataclass(slots=True, kw_only=True)
class PickIssue:
    reason: str
    skus: list[str] = field(default_factory=list)
    at: datetime


@dataclass(slots=True, kw_only=True)
class Shipment:
    shipment_id: str
    items: dict[str, int] = field(default_factory=dict)
    created_at: datetime | None = None
    picked_at: datetime | None = None
    pick_issue: PickIssue | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    label_at: datetime | None = None
    scans: list[Scan] = field(default_factory=list)
    first_physical_scan_at: datetime | None = None
    last_physical_scan_at: datetime | None = None
    status: str | None = None
    detail: str | None = None
    status_at: datetime | None = None
    est_delivery: date | None = None
    delivered_at: datetime | None = None
    delivered_location: str | None = None
    failed_attempts: int = 0

    @property
    def physically_scanned(self) -> bool:
        return self.first_physical_scan_at is not None

    @property
    def delivered(self) -> bool:
        return self.status == "delivered"


@dataclass(slots=True, kw_only=True)
class SupplierEta:
    sku: str
    eta: date | None
    previous_eta: date | None = None
    was_unknown: bool = False
    """The ETA before the latest change was unknown (null)."""
    changed_at: datetime
    po_id: str | None = None
    updates: int = 1


@dataclass(slots=True, kw_only=True)
class InventoryIssue:
    sku: str
    reason: str
    at: datetime


@dataclass(slots=True, kw_only=True)
class OrderContext:
    """Everything wismo knows about one order. ``known`` is False until OMS ``order.placed`` arrives."""

    order_id: str
    known: bool = False
    order_number: str | None = None
    customer_id: str | None = None
    customer_email: str | None = None
    customer_name: str | None = None
    items: list[Item] = field(default_factory=list)
    order_value: Decimal = Decimal(0)
    currency: str = ""
    placed_at: datetime | None = None
    ship_by: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    holds: dict[str, datetime] = field(default_factory=dict)
    """Active OMS holds: hold_type -> placed at."""
    shipments: dict[str, Shipment] = field(default_factory=dict)
    supplier_etas: dict[str, SupplierEta] = field(default_factory=dict)
    inventory_issues: dict[str, InventoryIssue] = field(default_factory=dict)
    tickets: dict[str, str] = field(default_factory=dict)
    """ticket_id -> channel, every ticket that mentioned this order."""
    last_human_public_update_at: datetime | None = None
    last_backend_change_at: datetime | None = None
    last_event_at: datetime | None = None
    sources_seen: list[str] = field(default_factory=list)
    hold_released_at: dict[str, datetime] = field(default_factory=dict)
    """hold_type -> the latest release seen, so a placement that arrives after its own release (OMS webhooks
    are not ordered) is known to be over: event time decides, not arrival order."""

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None

    def item_title(self, sku: str) -> str:
        for item in self.items:
            if item.sku == sku:
                return item.title or sku
        return sku

    @property
    def all_delivered(self) -> bool:
        """Every shipment delivered and every ordered unit in a delivered shipment."""
        if not self.shipments or not all(s.delivered for s in self.shipments.values()):
            return False
        return not self.unshipped_units()

    def ordered_units(self) -> dict[str, int]:
        """sku -> units ordered, the order lines of one SKU added up, in order-line order."""
        out: dict[str, int] = {}
        for item in self.items:
            out[item.sku] = out.get(item.sku, 0) + item.qty
        return out

    def unshipped_units(self) -> dict[str, int]:
        """sku -> ordered units not in any physically scanned shipment (a SKU on two order lines counts
        both lines' units against what shipped)."""
        return self.units_beyond(self.units_in_shipments(scanned_only=True))

    def units_in_shipments(self, *, scanned_only: bool = False) -> dict[str, int]:
        """sku -> units already placed in any fulfilment (allocated to a shipment); with ``scanned_only``,
        only in shipments a carrier has physically scanned."""
        out: dict[str, int] = {}
        for s in self.shipments.values():
            if scanned_only and not s.physically_scanned:
                continue
            for sku, qty in s.items.items():
                out[sku] = out.get(sku, 0) + qty
        return out

    def units_beyond(self, counted: dict[str, int]) -> dict[str, int]:
        """sku -> ordered units beyond ``counted`` (sku -> units), in order-line order; only SKUs with some left."""
        out: dict[str, int] = {}
        for sku, qty in self.ordered_units().items():
            left = qty - counted.get(sku, 0)
            if left > 0:
                out[sku] = left
        return out

    def fulfilment_deadline(self, sla_hours: float) -> datetime | None:
        """The promised ship-by time, else ``placed_at + sla_hours`` (SPEC §3)."""
        if self.ship_by is not None:
            return self.ship_by
        if self.placed_at is None:
            return None
        return self.placed_at + timedelta(hours=sla_hours)
