"""The contract between provider payloads and the canonical events of EVENTS.md.

An adapter is a pure function: a provider's webhook (headers and parsed JSON body) in, canonical event objects
out. It never guesses: a status value it has no mapping for, a missing field or a tracking number linked to
no order becomes a :class:`Rejected` entry (the ingest dead-letters it with the raw payload), never an event
with a made-up condition. Anything an adapter needs to know that the payload does not say (which order a
tracking number belongs to) comes through :class:`Lookups`, filled by the caller before the call.

Every canonical ``event_id`` an adapter builds is deterministic (derived from the provider's own ids), so a
provider's retry of the same delivery yields the same event and the engine's dedupe absorbs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Provider = Literal["shopify", "easypost", "aftership", "zendesk", "slack"]
PROVIDERS: tuple[Provider, ...] = ("shopify", "easypost", "aftership", "zendesk", "slack")

RejectCode = Literal[
    "unmapped_value",  # a status/tag/reason value with no entry in the mapping table
    "unknown_topic",  # a webhook topic or event type wismo does not handle
    "missing_field",  # a field the mapping needs is absent or of the wrong type
    "unlinked_tracking",  # a carrier webhook whose tracking number no label links to an order
    "bad_button",  # a Slack click whose action or value wismo did not write
]


@dataclass(frozen=True, slots=True)
class ShipmentRef:
    """The order and shipment a tracking number was labelled for (from ``label.created``)."""

    order_id: str
    shipment_id: str


class Lookups(Protocol):
    """What an adapter may ask that a payload does not say. Implementations are plain in-memory maps: the
    ingest reads the keys it needs from Redis before calling the adapter."""

    def shipment_for_tracking(self, tracking_number: str) -> ShipmentRef | None: ...


@runtime_checkable
class FulfillmentOrderLookups(Protocol):
    """Optional extra a :class:`Lookups` may implement: Shopify's ``fulfillment_orders/*`` and
    ``fulfillment_holds/*`` webhooks name only the fulfillment order, not its order. Keys are the numeric
    fulfillment order id (``"1046000787"``, also for a ``gid://shopify/FulfillmentOrder/1046000787``)."""

    def order_for_fulfillment_order(self, fulfillment_order_id: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class StaticLookups:
    """:class:`Lookups` (and :class:`FulfillmentOrderLookups`) over dicts (tests, and the ingest after its Redis
    read)."""

    shipments: Mapping[str, ShipmentRef] = field(default_factory=dict)
    fulfillment_orders: Mapping[str, str] = field(default_factory=dict)

    def shipment_for_tracking(self, tracking_number: str) -> ShipmentRef | None:
        return self.shipments.get(tracking_number)

    def order_for_fulfillment_order(self, fulfillment_order_id: str) -> str | None:
        return self.fulfillment_orders.get(fulfillment_order_id)


@dataclass(frozen=True, slots=True)
class AdapterOptions:
    """Per-installation settings an adapter may need (all optional; the defaults read only what payloads say).

    ``zendesk_order_number_fields``: ids of Zendesk ticket custom fields that hold the order number; when one
    has a value it becomes the ``ticket.message`` ``order_number`` (otherwise the engine finds numbers in text).
    """

    zendesk_order_number_fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rejected:
    """Part of a payload that could not become a canonical event. ``reason`` names the field and the value,
    for a person to act on (e.g. ``"EasyPost status 'cancelled' has no mapping"``)."""

    code: RejectCode
    reason: str


@dataclass(frozen=True, slots=True)
class Adapted:
    """The result of one adapter call.

    ``events``: canonical event objects (plain dicts), each accepted by :func:`wismo.events.parse_event_obj`.
    ``rejected``: what could not be mapped (dead-lettered with the raw payload). ``ignored``: why a valid
    payload produced nothing and is not an error (e.g. a Zendesk event about a ticket field wismo does not
    use); None otherwise. ``delivery_id``: the provider's id of this delivery when the body carries one (the
    ingest also takes it from headers), for de-duplication.
    """

    events: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    ignored: str | None = None
    delivery_id: str | None = None


# ---- Slack review buttons (written by the Slack sink, read back by the Slack adapter) ------------------

REVIEW_ACTION_PREFIX = "wismo_review:"
"""``action_id`` of a review button: this prefix plus the decision (``approved``, ``denied``,
``changes_requested``, ``manual_takeover``)."""

REVIEW_DECISIONS = ("approved", "denied", "changes_requested", "manual_takeover")
REVIEW_BUTTON_LABELS = {
    "approved": "Approve",
    "denied": "Deny",
    "changes_requested": "Request changes",
    "manual_takeover": "Take over",
}


def review_button_value(escalation_id: str, order_id: str) -> str:
    """The ``value`` of a review button: what the click must carry back to build a ``review.decision``."""
    return f"{escalation_id}|{order_id}"


def parse_review_button_value(value: str) -> tuple[str, str] | None:
    """``(escalation_id, order_id)`` from a button value, or None when it is not one wismo wrote."""
    escalation_id, sep, order_id = value.partition("|")
    if not sep or not escalation_id or not order_id:
        return None
    return escalation_id, order_id


# ---- wismo's own helpdesk comments (written by the Zendesk sink, recognised by the Zendesk adapter) ---------

COMMENT_MARKER_PREFIX = "[wismo ref "
"""Every comment the Zendesk sink writes ends with ``[wismo ref <action_id>]``: the sink finds it again after a
crash (reconciliation), and the Zendesk adapter ignores such a comment when the helpdesk's webhook sends it
back, so wismo's own reply is never mistaken for a teammate's update (which would silence automation)."""


def comment_marker(action_id: str) -> str:
    return f"{COMMENT_MARKER_PREFIX}{action_id}]"


def is_wismo_comment(text: str) -> bool:
    return COMMENT_MARKER_PREFIX in text
