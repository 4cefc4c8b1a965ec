"""Shopify webhooks (REST-shaped JSON bodies) to canonical events. Mapping tables: docs/adapters.md, "Shopify".

The topic comes from header ``x-shopify-topic``. ``order_id`` is ``str(order.id)``, ``shipment_id`` is
``str(fulfillment.id)``. Event ids are built from Shopify's own ids (and, for holds, the hold id), never from
the delivery, so a retried or duplicated webhook yields the same ``event_id``; orders/updated and
orders/cancelled for the same cancellation yield the same ``order.cancelled`` id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from wismo.processors.adapters._fields import (
    MissingField,
    arr,
    ident,
    obj,
    opt_ident,
    opt_text,
    sub,
    text,
)
from wismo.processors.adapters._outcomes import (
    Emits,
    Hold,
    NoEvent,
    Reason,
    Table,
    Track,
    canonical,
)
from wismo.processors.adapters._time import estimate, instant
from wismo.processors.adapters.base import (
    Adapted,
    AdapterOptions,
    FulfillmentOrderLookups,
    Lookups,
    Rejected,
)

TOPICS: Table = {
    "orders/create": Emits("order.placed"),
    "orders/updated": Emits("order.cancelled when cancelled_at is set, otherwise no event"),
    "orders/cancelled": Emits("order.cancelled"),
    "fulfillments/create": Emits("fulfillment.created, label.created, pick.exception, tracking.updated"),
    "fulfillments/update": Emits("fulfillment.created, label.created, pick.exception, tracking.updated"),
    "fulfillment_events/create": Emits("tracking.updated"),
    "fulfillment_orders/placed_on_hold": Emits("order.hold_placed"),
    "fulfillment_orders/hold_released": Emits("order.hold_released"),
    "fulfillment_holds/added": Emits("order.hold_placed"),
    "fulfillment_holds/released": Emits("order.hold_released"),
}

_PAYMENT = "payment state; wismo has no payment event (payment holds arrive as fulfillment holds)"
FINANCIAL_STATUS: Table = {
    "pending": NoEvent(_PAYMENT),
    "authorized": NoEvent(_PAYMENT),
    "partially_paid": NoEvent(_PAYMENT),
    "paid": NoEvent(_PAYMENT),
    "partially_refunded": NoEvent(_PAYMENT),
    "refunded": NoEvent(_PAYMENT),
    "voided": NoEvent(_PAYMENT + "; a voided order's cancellation arrives as cancelled_at"),
    "expired": NoEvent(_PAYMENT),
}

_BY_FULFILLMENT = "fulfilment progress; each shipment arrives through the fulfillments/* webhooks"
ORDER_FULFILLMENT_STATUS: Table = {
    "null": NoEvent(_BY_FULFILLMENT),
    "unfulfilled": NoEvent(_BY_FULFILLMENT),
    "partial": NoEvent(_BY_FULFILLMENT),
    "fulfilled": NoEvent(_BY_FULFILLMENT),
    "restocked": NoEvent(_BY_FULFILLMENT + "; restocking follows a cancellation or a return"),
}

CANCEL_REASON: Table = {r: Reason(r) for r in ("customer", "fraud", "inventory", "declined", "other", "staff")}

_CREATED = "fulfillment.created + label.created per tracking number"
FULFILLMENT_STATUS: Table = {
    "pending": Emits(_CREATED),
    "open": Emits(_CREATED),
    "success": Emits(_CREATED),
    "cancelled": NoEvent(
        "the shipment was cancelled; wismo has no shipment-cancelled event (an order cancellation arrives "
        "as orders/cancelled, a new shipment as a new fulfillment)"
    ),
    "error": Emits("fulfillment.created + pick.exception other"),
    "failure": Emits("fulfillment.created + pick.exception other"),
}

SHIPMENT_STATUS: Table = {
    "label_purchased": Track("pre_transit"),
    "label_printed": Track("pre_transit"),
    "confirmed": NoEvent("Shopify's default status when it has no carrier information"),
    "carrier_picked_up": Track("in_transit"),
    "in_transit": Track("in_transit"),
    "out_for_delivery": Track("out_for_delivery"),
    "attempted_delivery": Track("delivery_failed"),
    "ready_for_pickup": Track("available_for_pickup"),
    "picked_up": Track("delivered"),
    "delivered": Track("delivered"),
    "delayed": Track("exception"),
    "failure": Track("exception"),
    "buyer_action_required": Track("exception", "other"),
    "returning_to_sender": Track("return_to_sender"),
}
"""Fulfillment ``shipment_status`` and FulfillmentEvent ``status`` (one vocabulary; matched case-insensitively)."""

HOLD_REASON: Table = {
    "awaiting_payment": Hold("payment_review"),
    "high_risk_of_fraud": Hold("fraud_review"),
    "incorrect_address": Hold("address_verification"),
    "inventory_out_of_stock": Hold("other"),
    "unknown_delivery_date": Hold("other"),
    "awaiting_return_items": Hold("other"),
    "other": Hold("other"),
    "online_store_post_purchase_cross_sell": NoEvent(
        "held for minutes while the buyer sees a post-purchase offer, then released automatically"
    ),
}
"""FulfillmentHold ``reason`` (REST lower case or GraphQL upper case; matched case-insensitively)."""

TABLES: dict[str, Table] = {
    "shopify.topic": TOPICS,
    "shopify.financial_status": FINANCIAL_STATUS,
    "shopify.order_fulfillment_status": ORDER_FULFILLMENT_STATUS,
    "shopify.cancel_reason": CANCEL_REASON,
    "shopify.fulfillment_status": FULFILLMENT_STATUS,
    "shopify.shipment_status": SHIPMENT_STATUS,
    "shopify.hold_reason": HOLD_REASON,
}

_WRAPPERS = {"orders/": "order", "fulfillments/": "fulfillment", "fulfillment_events/": "fulfillment_event"}


class _Out:
    """Collects what one delivery produced."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.rejected: list[Rejected] = []
        self.ignored: list[str] = []

    def unmapped(self, what: str, value: str) -> None:
        self.rejected.append(Rejected("unmapped_value", f"Shopify {what} {value!r} has no mapping"))

    def result(self, delivery_id: str | None) -> Adapted:
        ignored = None
        if not self.events and not self.rejected:
            ignored = "; ".join(dict.fromkeys(self.ignored)) or "nothing for wismo in this delivery"
        return Adapted(events=self.events, rejected=self.rejected, ignored=ignored, delivery_id=delivery_id)


def adapt_shopify(headers: Mapping[str, str], body: Any, lookups: Lookups, options: AdapterOptions) -> Adapted:
    """One Shopify webhook delivery. Unknown topics are ``unknown_topic``; see docs/adapters.md."""
    topic = headers.get("x-shopify-topic")
    if not topic:
        raise MissingField("header x-shopify-topic is missing")
    delivery_id = headers.get("x-shopify-event-id") or headers.get("x-shopify-webhook-id")
    handler = _HANDLERS.get(topic)
    if handler is None:
        return Adapted(
            rejected=[Rejected("unknown_topic", f"Shopify topic {topic!r} is not one wismo reads")],
            delivery_id=delivery_id,
        )
    out = _Out()
    handler(_unwrap(topic, body), headers, lookups, out)
    return out.result(delivery_id)


def _unwrap(topic: str, body: Any) -> Mapping[str, Any]:
    """Webhooks send the bare resource; REST responses wrap it (``{"order": {...}}``). Accept both."""
    root = obj(body, "body")
    for prefix, key in _WRAPPERS.items():
        if topic.startswith(prefix) and len(root) == 1 and isinstance(root.get(key), Mapping):
            return obj(root[key], key)
    return root


# ---- orders -----------------------------------------------------------------------------------------------


def _order_created(order: Mapping[str, Any], headers: Mapping[str, str], lookups: Lookups, out: _Out) -> None:
    order_id = ident(order, "id", "order")
    customer = order.get("customer")
    cust = obj(customer, "order.customer") if customer is not None else {}
    name = " ".join(p for p in (opt_text(cust, "first_name", "customer"), opt_text(cust, "last_name", "customer")) if p)
    payload = {
        "order_number": text(order, "name", "order"),
        "customer": {
            k: v
            for k, v in {
                "id": opt_ident(cust, "id", "order.customer"),
                "email": opt_text(order, "email", "order") or opt_text(cust, "email", "order.customer"),
                "name": name or None,
            }.items()
            if v is not None
        },
        "items": _order_items(order),
        "order_value": _money(order, "total_price", "order"),
        "currency": text(order, "currency", "order"),
    }
    at = instant(order.get("created_at"), "order.created_at")
    out.events.append(canonical(f"shopify-order-{order_id}-placed", "order.placed", at, payload, order_id))


def _order_updated(order: Mapping[str, Any], headers: Mapping[str, str], lookups: Lookups, out: _Out) -> None:
    financial = opt_text(order, "financial_status", "order")
    if financial is not None:
        row = FINANCIAL_STATUS.get(financial)
        if row is None:
            out.unmapped("financial_status", financial)
        elif isinstance(row, NoEvent):
            out.ignored.append(f"financial_status {financial}: {row.why}")
    fulfillment = opt_text(order, "fulfillment_status", "order") or "null"
    row = ORDER_FULFILLMENT_STATUS.get(fulfillment)
    if row is None:
        out.unmapped("order fulfillment_status", fulfillment)
    elif isinstance(row, NoEvent):
        out.ignored.append(f"fulfillment_status {fulfillment}: {row.why}")
    if order.get("cancelled_at") is not None:
        _order_cancelled(order, headers, lookups, out)


def _order_cancelled(order: Mapping[str, Any], headers: Mapping[str, str], lookups: Lookups, out: _Out) -> None:
    order_id = ident(order, "id", "order")
    at = instant(order.get("cancelled_at"), "order.cancelled_at")
    reason_value = opt_text(order, "cancel_reason", "order")
    reason = None
    if reason_value is not None:
        row = CANCEL_REASON.get(reason_value)
        if isinstance(row, Reason):
            reason = row.reason
        else:  # the cancellation is a fact; only its reason is unknown: emit it and flag the reason
            out.unmapped("cancel_reason", reason_value)
    out.events.append(
        canonical(f"shopify-order-{order_id}-cancelled", "order.cancelled", at, {"reason": reason}, order_id)
    )


def _order_items(order: Mapping[str, Any]) -> list[dict[str, Any]]:
    items = []
    for i, raw in enumerate(arr(order.get("line_items"), "order.line_items")):
        line = obj(raw, f"order.line_items[{i}]")
        qty = _quantity(line, f"order.line_items[{i}]")
        if qty < 1:
            continue  # removed by an order edit
        items.append(
            {
                "sku": _sku(line, f"order.line_items[{i}]"),
                "title": opt_text(line, "title", f"order.line_items[{i}]") or "",
                "qty": qty,
                "unit_price": _money(line, "price", f"order.line_items[{i}]"),
            }
        )
    if not items:
        raise MissingField("order.line_items has no item with a quantity")
    return items


# ---- fulfillments -----------------------------------------------------------------------------------------


def _fulfillment(ful: Mapping[str, Any], headers: Mapping[str, str], lookups: Lookups, out: _Out) -> None:
    order_id = ident(ful, "order_id", "fulfillment")
    shipment_id = _numeric(ident(ful, "id", "fulfillment"))
    status = text(ful, "status", "fulfillment")
    row = FULFILLMENT_STATUS.get(status)
    if row is None:
        out.unmapped("fulfillment status", status)
        return
    if isinstance(row, NoEvent):
        out.ignored.append(f"fulfillment status {status}: {row.why}")
        return
    created_at = instant(ful.get("created_at"), "fulfillment.created_at")
    updated_at = instant(ful.get("updated_at") or ful.get("created_at"), "fulfillment.updated_at")
    items = _shipment_items(ful)
    base = f"shopify-fulfillment-{shipment_id}"
    out.events.append(
        canonical(
            f"{base}-created", "fulfillment.created", created_at, {"shipment_id": shipment_id, "items": items}, order_id
        )
    )
    if status in ("error", "failure"):
        skus = [it["sku"] for it in items]
        payload: dict[str, Any] = {
            "shipment_id": shipment_id,
            "reason": "other",
            "skus": skus,
            "provider_status": status,
        }
        out.events.append(canonical(f"{base}-{status}", "pick.exception", updated_at, payload, order_id))
        return
    for number, url in _tracking(ful):
        carrier = opt_text(ful, "tracking_company", "fulfillment") or "unknown"
        label: dict[str, Any] = {
            "shipment_id": shipment_id,
            "carrier": carrier,
            "tracking_number": number,
            "tracking_url": url,
        }
        out.events.append(canonical(f"{base}-label-{number}", "label.created", updated_at, label, order_id))
    shipment_status = opt_text(ful, "shipment_status", "fulfillment")
    if shipment_status is not None:
        track = _track(shipment_status, "fulfillment shipment_status", out)
        if track is not None:
            track_payload: dict[str, Any] = {"shipment_id": shipment_id, "status": track.status, "detail": track.detail}
            event_id = f"{base}-shipment-{shipment_status.lower()}-{int(updated_at.timestamp())}"
            out.events.append(canonical(event_id, "tracking.updated", updated_at, track_payload, order_id))


def _fulfillment_event(ev: Mapping[str, Any], headers: Mapping[str, str], lookups: Lookups, out: _Out) -> None:
    order_id = ident(ev, "order_id", "fulfillment_event")
    shipment_id = _numeric(ident(ev, "fulfillment_id", "fulfillment_event"))
    event_id = _numeric(ident(ev, "id", "fulfillment_event"))
    track = _track(text(ev, "status", "fulfillment_event"), "fulfillment_event status", out)
    if track is None:
        return
    at = instant(ev.get("happened_at") or ev.get("created_at"), "fulfillment_event.happened_at")
    est_raw = ev.get("estimated_delivery_at") or ev.get("estimated_delivery_date")
    location = ", ".join(
        p for p in (opt_text(ev, k, "fulfillment_event") for k in ("city", "province", "country")) if p
    )
    payload = {
        "shipment_id": shipment_id,
        "status": track.status,
        "detail": track.detail,
        "est_delivery_at": estimate(est_raw, "fulfillment_event.estimated_delivery_at"),
        "location": location or None,
        "provider_status": ev.get("status"),
    }
    out.events.append(canonical(f"shopify-fulfillment-event-{event_id}", "tracking.updated", at, payload, order_id))


def _track(value: str, what: str, out: _Out) -> Track | None:
    row = SHIPMENT_STATUS.get(value.lower())
    if row is None:
        out.unmapped(what, value)
        return None
    if isinstance(row, NoEvent):
        out.ignored.append(f"{what} {value}: {row.why}")
        return None
    assert isinstance(row, Track)
    return row


def _shipment_items(ful: Mapping[str, Any]) -> list[dict[str, Any]]:
    items = []
    for i, raw in enumerate(arr(ful.get("line_items"), "fulfillment.line_items")):
        line = obj(raw, f"fulfillment.line_items[{i}]")
        qty = _quantity(line, f"fulfillment.line_items[{i}]")
        if qty >= 1:
            items.append({"sku": _sku(line, f"fulfillment.line_items[{i}]"), "qty": qty})
    if not items:
        raise MissingField("fulfillment.line_items has no item with a quantity")
    return items


def _tracking(ful: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """(tracking number, url) pairs: ``tracking_numbers``/``tracking_urls`` by position, else the singular."""
    numbers = ful.get("tracking_numbers")
    urls = ful.get("tracking_urls")
    if isinstance(numbers, list) and numbers:
        url_list = urls if isinstance(urls, list) else []
        pairs = []
        for i, n in enumerate(numbers):
            if isinstance(n, str) and n.strip():
                u = url_list[i] if i < len(url_list) and isinstance(url_list[i], str) else None
                pairs.append((n.strip(), u or None))
        return pairs
    number = opt_text(ful, "tracking_number", "fulfillment")
    return [(number.strip(), opt_text(ful, "tracking_url", "fulfillment"))] if number else []


# ---- holds ------------------------------------------------------------------------------------------------


def _hold_placed(body: Mapping[str, Any], headers: Mapping[str, str], lookups: Lookups, out: _Out) -> None:
    fo = sub(body, "fulfillment_order", "")
    order_id = _order_of_fulfillment_order(fo, lookups)
    at = instant(headers.get("x-shopify-triggered-at"), "header x-shopify-triggered-at")
    created = body.get("created_fulfillment_hold") or body.get("fulfillment_hold")
    if created is not None:
        holds = [obj(created, "created_fulfillment_hold")]
    else:
        holds = [
            obj(h, "fulfillment_order.fulfillment_holds[]")
            for h in arr(fo.get("fulfillment_holds"), "fulfillment_order.fulfillment_holds")
        ]
    if not holds:
        raise MissingField("created_fulfillment_hold (and fulfillment_order.fulfillment_holds is empty)")
    for hold in holds:
        hold_type = _hold_type(hold, out)
        if hold_type is None:
            continue
        event_id = _hold_event_id(hold, fo, hold_type, "placed", headers)
        payload = {
            "hold_type": hold_type,
            "provider_reason": str(hold.get("reason")).lower(),
            "reason_notes": opt_text(hold, "reason_notes", "fulfillment_hold"),
        }
        out.events.append(canonical(event_id, "order.hold_placed", at, payload, order_id))


def _hold_released(body: Mapping[str, Any], headers: Mapping[str, str], lookups: Lookups, out: _Out) -> None:
    fo = sub(body, "fulfillment_order", "")
    order_id = _order_of_fulfillment_order(fo, lookups)
    at = instant(headers.get("x-shopify-triggered-at"), "header x-shopify-triggered-at")
    released = body.get("released_fulfillment_hold") or body.get("fulfillment_hold")
    if released is not None:
        hold = obj(released, "fulfillment_hold")
        hold_type = _hold_type(hold, out)
        if hold_type is not None:
            event_id = _hold_event_id(hold, fo, hold_type, "released", headers)
            payload = {"hold_type": hold_type, "provider_reason": str(hold.get("reason")).lower()}
            out.events.append(canonical(event_id, "order.hold_released", at, payload, order_id))
        return
    # Shopify deletes a hold when it is released, so this body cannot say which reason was released: every
    # hold type that no remaining hold still claims is released (releasing a type that was never held is a
    # no-op in the engine).
    still_held: set[str] = set()
    for raw in fo.get("fulfillment_holds") or []:
        row = HOLD_REASON.get(str(obj(raw, "fulfillment_order.fulfillment_holds[]").get("reason")).lower())
        if row is None:
            out.unmapped("fulfillment hold reason", str(obj(raw, "fulfillment_hold").get("reason")))
            return  # cannot tell which types are still held
        if isinstance(row, Hold):
            still_held.add(row.hold_type)
    delivery = _delivery_key(headers)
    fo_id = _numeric(ident(fo, "id", "fulfillment_order"))
    for hold_type in ("fraud_review", "payment_review", "address_verification", "other"):
        if hold_type not in still_held:
            event_id = f"shopify-fo-{fo_id}-released-{hold_type}-{delivery}"
            out.events.append(canonical(event_id, "order.hold_released", at, {"hold_type": hold_type}, order_id))


def _hold_type(hold: Mapping[str, Any], out: _Out) -> str | None:
    reason = text(hold, "reason", "fulfillment_hold")
    row = HOLD_REASON.get(reason.lower())
    if row is None:
        out.unmapped("fulfillment hold reason", reason)
        return None
    if isinstance(row, NoEvent):
        out.ignored.append(f"fulfillment hold reason {reason}: {row.why}")
        return None
    assert isinstance(row, Hold)
    return row.hold_type


def _hold_event_id(
    hold: Mapping[str, Any], fo: Mapping[str, Any], hold_type: str, what: str, headers: Mapping[str, str]
) -> str:
    hold_id = opt_ident(hold, "id", "fulfillment_hold")
    if hold_id is not None:
        return f"shopify-hold-{_numeric(hold_id)}-{what}"
    fo_id = _numeric(ident(fo, "id", "fulfillment_order"))
    return f"shopify-fo-{fo_id}-{what}-{hold_type}-{_delivery_key(headers)}"


def _delivery_key(headers: Mapping[str, str]) -> str:
    key = headers.get("x-shopify-event-id") or headers.get("x-shopify-webhook-id")
    if not key:
        raise MissingField("header x-shopify-event-id / x-shopify-webhook-id (needed when the hold has no id)")
    return key


def _order_of_fulfillment_order(fo: Mapping[str, Any], lookups: Lookups) -> str:
    order_id = opt_ident(fo, "order_id", "fulfillment_order")
    if order_id is not None:
        return _numeric(order_id)
    fo_id = _numeric(ident(fo, "id", "fulfillment_order"))
    if isinstance(lookups, FulfillmentOrderLookups):
        found = lookups.order_for_fulfillment_order(fo_id)
        if found:
            return found
    raise MissingField(
        f"fulfillment_order.order_id (the webhook names only fulfillment order {fo_id}, and lookups know no order "
        "for it)"
    )


# ---- shared -----------------------------------------------------------------------------------------------


def _numeric(value: str) -> str:
    """``gid://shopify/Fulfillment/123`` -> ``123``; a plain id unchanged."""
    return value.rsplit("/", 1)[-1] if value.startswith("gid://") else value


def _sku(line: Mapping[str, Any], path: str) -> str:
    """The line's SKU; Shopify allows products without one: then ``variant-<variant_id>`` (or ``line-<id>``)."""
    sku = opt_text(line, "sku", path)
    if sku and sku.strip():
        return sku.strip()
    variant = opt_ident(line, "variant_id", path)
    return f"variant-{variant}" if variant else f"line-{ident(line, 'id', path)}"


def _quantity(line: Mapping[str, Any], path: str) -> int:
    qty = line.get("quantity")
    if isinstance(qty, bool) or not isinstance(qty, int):
        raise MissingField(f"{path}.quantity is missing or not an integer")
    return qty


def _money(parent: Mapping[str, Any], key: str, path: str) -> str:
    """A decimal amount as its string (Shopify sends ``"409.94"``)."""
    value = parent.get(key)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise MissingField(f"{path}.{key} is missing or not an amount")
    raw = str(value).strip()
    try:
        ok = Decimal(raw).is_finite()
    except InvalidOperation:
        ok = False
    if not ok:
        raise MissingField(f"{path}.{key} is not a decimal amount: {value!r}")
    return raw


_Handler = Callable[[Mapping[str, Any], Mapping[str, str], Lookups, _Out], None]
_HANDLERS: dict[str, _Handler] = {
    "orders/create": _order_created,
    "orders/updated": _order_updated,
    "orders/cancelled": _order_cancelled,
    "fulfillments/create": _fulfillment,
    "fulfillments/update": _fulfillment,
    "fulfillment_events/create": _fulfillment_event,
    "fulfillment_orders/placed_on_hold": _hold_placed,
    "fulfillment_orders/hold_released": _hold_released,
    "fulfillment_holds/added": _hold_placed,
    "fulfillment_holds/released": _hold_released,
}
