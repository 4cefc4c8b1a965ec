"""Canonical input events (EVENTS.md "Input: canonical event").

One model per event type, discriminated by ``type``. Unknown fields are ignored (EVENTS.md lets
producers add optional fields); missing or mistyped required fields raise ``pydantic.ValidationError``,
which ``wismo.processors.intake`` turns into a dead-letter record. Timestamps must carry an offset.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

Source = Literal["ticket", "oms", "wms", "supplier", "carrier", "review", "clock"]
HoldType = Literal["fraud_review", "payment_review", "address_verification", "other"]
CarrierStatus = Literal[
    "pre_transit",
    "in_transit",
    "out_for_delivery",
    "available_for_pickup",
    "delivered",
    "delivery_failed",
    "return_to_sender",
    "exception",
]
CarrierDetail = Literal[
    "address_issue",
    "access_issue",
    "business_closed",
    "recipient_unavailable",
    "damaged",
    "lost",
    "weather",
    "other",
]
PickExceptionReason = Literal["short_pick", "sku_quarantine", "cycle_count_mismatch", "other"]
Channel = Literal["chat", "email", "ticket"]
Decision = Literal["approved", "denied", "changes_requested", "manual_takeover"]

NonEmpty = Annotated[str, Field(min_length=1)]


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


Timestamp = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""An RFC 3339 timestamp with an offset, normalised to UTC (stdlib tz: comparisons stay fast)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Customer(_Model):
    id: str | None = None
    email: str | None = None
    name: str | None = None


class OrderItem(_Model):
    sku: NonEmpty
    title: str = ""
    qty: int = Field(ge=1)
    unit_price: Decimal = Decimal(0)


class ShipmentItem(_Model):
    sku: NonEmpty
    qty: int = Field(ge=1)


# ---- payloads ---------------------------------------------------------------------------------


class OrderPlacedPayload(_Model):
    order_number: NonEmpty
    customer: Customer
    items: list[OrderItem] = Field(min_length=1)
    order_value: Decimal
    currency: NonEmpty
    ship_by: Timestamp | None = None


class HoldPayload(_Model):
    hold_type: HoldType


class CancelledPayload(_Model):
    reason: str | None = None


class FulfillmentCreatedPayload(_Model):
    shipment_id: NonEmpty
    items: list[ShipmentItem] = Field(min_length=1)


class ShipmentRefPayload(_Model):
    shipment_id: NonEmpty


class PickExceptionPayload(_Model):
    shipment_id: NonEmpty
    reason: PickExceptionReason
    skus: list[str] = Field(default_factory=list)


class LabelCreatedPayload(_Model):
    shipment_id: NonEmpty
    carrier: NonEmpty
    tracking_number: NonEmpty
    tracking_url: str | None = None


class TrackingUpdatedPayload(_Model):
    shipment_id: NonEmpty
    status: CarrierStatus
    detail: CarrierDetail | None = None
    est_delivery_at: AwareDatetime | date | None = None  # kept in the carrier's offset: its date is local
    location: str | None = None


class SupplierEtaPayload(_Model):
    sku: NonEmpty
    eta: date | None
    po_id: str | None = None


class AllocationFailedPayload(_Model):
    sku: NonEmpty
    reason: Literal["reserved", "shortage"]


class TicketCustomer(_Model):
    id: str | None = None
    email: str | None = None


class TicketMessagePayload(_Model):
    ticket_id: NonEmpty
    channel: Channel
    author: Literal["customer", "agent"]
    public: bool
    text: str
    customer: TicketCustomer | None = None
    order_number: str | None = None


class ReviewDecisionPayload(_Model):
    escalation_id: NonEmpty
    decision: Decision
    reviewer: NonEmpty
    rationale: str | None = None


class EmptyPayload(_Model):
    pass


# ---- envelopes --------------------------------------------------------------------------------


class _Event(_Model):
    event_id: NonEmpty
    source: Source
    occurred_at: Timestamp
    order_id: NonEmpty


class _EventNoOrder(_Model):
    event_id: NonEmpty
    source: Source
    occurred_at: Timestamp
    order_id: NonEmpty | None = None


class OrderPlaced(_Event):
    source: Literal["oms"]
    type: Literal["order.placed"]
    payload: OrderPlacedPayload


class HoldPlaced(_Event):
    source: Literal["oms"]
    type: Literal["order.hold_placed"]
    payload: HoldPayload


class HoldReleased(_Event):
    source: Literal["oms"]
    type: Literal["order.hold_released"]
    payload: HoldPayload


class OrderCancelled(_Event):
    source: Literal["oms"]
    type: Literal["order.cancelled"]
    payload: CancelledPayload


class FulfillmentCreated(_Event):
    source: Literal["wms"]
    type: Literal["fulfillment.created"]
    payload: FulfillmentCreatedPayload


class PickCompleted(_Event):
    source: Literal["wms"]
    type: Literal["pick.completed"]
    payload: ShipmentRefPayload


class PickException(_Event):
    source: Literal["wms"]
    type: Literal["pick.exception"]
    payload: PickExceptionPayload


class LabelCreated(_Event):
    source: Literal["wms"]
    type: Literal["label.created"]
    payload: LabelCreatedPayload


class TrackingUpdated(_Event):
    source: Literal["carrier"]
    type: Literal["tracking.updated"]
    payload: TrackingUpdatedPayload


class SupplierEtaChanged(_Event):
    source: Literal["supplier"]
    type: Literal["supplier.eta_changed"]
    payload: SupplierEtaPayload


class AllocationFailed(_Event):
    source: Literal["supplier"]
    type: Literal["inventory.allocation_failed"]
    payload: AllocationFailedPayload


class TicketMessage(_EventNoOrder):
    source: Literal["ticket"]
    type: Literal["ticket.message"]
    payload: TicketMessagePayload


class ReviewDecision(_Event):
    source: Literal["review"]
    type: Literal["review.decision"]
    payload: ReviewDecisionPayload


class ClockTick(_EventNoOrder):
    source: Literal["clock"]
    type: Literal["clock.tick"]
    payload: EmptyPayload = EmptyPayload()


Event = Annotated[
    OrderPlaced
    | HoldPlaced
    | HoldReleased
    | OrderCancelled
    | FulfillmentCreated
    | PickCompleted
    | PickException
    | LabelCreated
    | TrackingUpdated
    | SupplierEtaChanged
    | AllocationFailed
    | TicketMessage
    | ReviewDecision
    | ClockTick,
    Field(discriminator="type"),
]

EVENT_TYPES: dict[str, Source] = {
    "order.placed": "oms",
    "order.hold_placed": "oms",
    "order.hold_released": "oms",
    "order.cancelled": "oms",
    "fulfillment.created": "wms",
    "pick.completed": "wms",
    "pick.exception": "wms",
    "label.created": "wms",
    "tracking.updated": "carrier",
    "supplier.eta_changed": "supplier",
    "inventory.allocation_failed": "supplier",
    "ticket.message": "ticket",
    "review.decision": "review",
    "clock.tick": "clock",
}
"""Every accepted ``type`` and the one source that emits it (EVENTS.md); an event naming another source is
dead-lettered (each event class pins its ``source``). Also used for topic routing."""

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event_json(raw: str | bytes) -> Event:
    """Parse one canonical event from JSON, strictly (no coercion of strings to numbers or booleans, no
    epoch timestamps). Raises ``pydantic.ValidationError`` on any defect."""
    return EVENT_ADAPTER.validate_json(raw, strict=True)


def parse_event_obj(obj: Any) -> Event:
    """Parse one canonical event from an already-decoded object."""
    return EVENT_ADAPTER.validate_python(obj)
