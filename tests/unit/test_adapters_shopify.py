"""Shopify webhooks through ``adapt``: saved samples and documented shapes land as the right canonical events.

Samples: ../shared/payloads/shopify/ (see its SOURCES.md), taken from Shopify/shopify_python_api @ 307fa92c
(MIT, Copyright (c) 2011 "JadedPixel inc.") and Shopify/shopify-api-ruby @ 269f5234 / b933c00b (MIT,
Copyright (c) 2009 "JadedPixel inc."), used in place.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from shared_payloads import PAYLOADS
from wismo.processors.adapters import adapt
from wismo.processors.adapters._outcomes import Hold, NoEvent, Reason, Track
from wismo.processors.adapters.base import Adapted, StaticLookups
from wismo.processors.adapters.shopify import (
    CANCEL_REASON,
    FINANCIAL_STATUS,
    FULFILLMENT_STATUS,
    HOLD_REASON,
    ORDER_FULFILLMENT_STATUS,
    SHIPMENT_STATUS,
)

from wismo.events import OrderCancelled, OrderPlaced, TrackingUpdated, parse_event_obj

SAMPLES = PAYLOADS / "shopify"
NO_LOOKUPS = StaticLookups()
TRIGGERED = "2026-11-02T14:05:00.877041743Z"


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def run(topic: str, body: Any, lookups: StaticLookups = NO_LOOKUPS, **headers: str) -> Adapted:
    hdrs = {
        "x-shopify-topic": topic,
        "x-shopify-webhook-id": "wh-1",
        **{k.replace("_", "-"): v for k, v in headers.items()},
    }
    return adapt("shopify", hdrs, body, lookups)


def parsed(result: Adapted) -> list[Any]:
    """Every produced event must be a valid canonical event."""
    return [parse_event_obj(e) for e in result.events]


def order_sample() -> dict[str, Any]:
    order: dict[str, Any] = sample("order_1001_authorized_with_failed_fulfillment.json")["order"]
    return order


# ---- orders -------------------------------------------------------------------------------------------------


def test_orders_create_sample_becomes_order_placed_with_items_value_and_customer() -> None:
    result = run("orders/create", order_sample())
    (event,) = parsed(result)
    assert isinstance(event, OrderPlaced)
    assert event.event_id == "shopify-order-450789469-placed"
    assert event.order_id == "450789469"
    assert event.occurred_at == datetime(2008, 1, 10, 16, 0, tzinfo=UTC)
    assert result.events[0]["occurred_at"] == "2008-01-10T11:00:00-05:00"  # the shop's offset is kept
    p = event.payload
    assert p.order_number == "#1001"
    assert (p.customer.id, p.customer.email, p.customer.name) == ("207119551", "bob.norman@hostmail.com", "Bob Norman")
    assert [(i.sku, i.qty, i.unit_price) for i in p.items] == [
        ("IPOD2008GREEN", 1, Decimal("199.00")),
        ("IPOD2008RED", 1, Decimal("199.00")),
        ("IPOD2008BLACK", 1, Decimal("199.00")),
    ]
    assert (p.order_value, p.currency) == (Decimal("409.94"), "USD")


def test_bare_webhook_body_and_rest_wrapper_give_the_same_event() -> None:
    assert run("orders/create", order_sample()).events == run("orders/create", {"order": order_sample()}).events


def test_line_item_without_sku_uses_variant_and_removed_lines_are_skipped() -> None:
    order = order_sample()
    order["line_items"][0]["sku"] = ""
    order["line_items"][1]["quantity"] = 0
    (event,) = parsed(run("orders/create", order))
    assert [i.sku for i in event.payload.items] == ["variant-39072856", "IPOD2008BLACK"]


def test_orders_updated_sample_is_explicitly_ignored_not_rejected() -> None:
    result = run("orders/updated", order_sample())  # financial_status authorized, fulfillment_status null
    assert result.events == [] and result.rejected == []
    assert result.ignored is not None and "authorized" in result.ignored and "fulfillment_status null" in result.ignored


def test_cancellation_via_updated_and_cancelled_topics_is_one_event() -> None:
    order = order_sample()
    order["cancelled_at"] = "2008-01-11T09:30:00-05:00"
    order["cancel_reason"] = "customer"
    via_updated = parsed(run("orders/updated", order))
    via_cancelled = parsed(run("orders/cancelled", order))
    assert via_updated == via_cancelled
    (event,) = via_cancelled
    assert isinstance(event, OrderCancelled)
    assert event.event_id == "shopify-order-450789469-cancelled"
    assert event.payload.reason == "customer"
    assert event.occurred_at == datetime(2008, 1, 11, 14, 30, tzinfo=UTC)


def test_unmapped_cancel_reason_still_cancels_and_flags_the_reason() -> None:
    order = order_sample()
    order["cancelled_at"] = "2008-01-11T09:30:00-05:00"
    order["cancel_reason"] = "changed_mind"
    result = run("orders/cancelled", order)
    (event,) = parsed(result)
    assert isinstance(event, OrderCancelled) and event.payload.reason is None
    assert [r.code for r in result.rejected] == ["unmapped_value"] and "changed_mind" in result.rejected[0].reason


@pytest.mark.parametrize("value", sorted(FINANCIAL_STATUS))
def test_every_financial_status_is_a_documented_no_event(value: str) -> None:
    order = order_sample()
    order["financial_status"] = value
    result = run("orders/updated", order)
    assert result.events == [] and result.rejected == [] and value in (result.ignored or "")


@pytest.mark.parametrize("value", sorted(ORDER_FULFILLMENT_STATUS))
def test_every_order_fulfillment_status_is_a_documented_no_event(value: str) -> None:
    order = order_sample()
    order["fulfillment_status"] = None if value == "null" else value
    result = run("orders/updated", order)
    assert result.events == [] and result.rejected == []


def test_unknown_order_statuses_are_rejected_not_guessed() -> None:
    order = order_sample()
    order["financial_status"] = "chargeback_pending"
    order["fulfillment_status"] = "teleported"
    result = run("orders/updated", order)
    assert result.events == [] and result.ignored is None
    assert [r.code for r in result.rejected] == ["unmapped_value", "unmapped_value"]
    assert "chargeback_pending" in result.rejected[0].reason and "teleported" in result.rejected[1].reason


@pytest.mark.parametrize("value", sorted(CANCEL_REASON))
def test_every_cancel_reason_is_carried(value: str) -> None:
    order = order_sample()
    order.update(cancelled_at="2008-01-11T09:30:00Z", cancel_reason=value)
    (event,) = parsed(run("orders/cancelled", order))
    row = CANCEL_REASON[value]
    assert isinstance(row, Reason) and event.payload.reason == row.reason


# ---- fulfillments -------------------------------------------------------------------------------------------


def test_fulfillment_sample_becomes_fulfillment_created_and_label_created() -> None:
    result = run("fulfillments/create", sample("fulfillment_pending_with_tracking.json"))
    created, label = parsed(result)
    assert created.type == "fulfillment.created" and label.type == "label.created"
    assert created.order_id == label.order_id == "450789469"
    assert created.payload.shipment_id == label.payload.shipment_id == "255858046"
    assert [(i.sku, i.qty) for i in created.payload.items] == [("IPOD2008GREEN", 1)]
    assert (label.payload.carrier, label.payload.tracking_number) == ("null-company", "1Z2345")
    assert label.payload.tracking_url == "http://www.google.com/search?q=1Z2345"
    assert created.occurred_at == datetime(2013, 11, 1, 20, 6, 8, tzinfo=UTC)


def test_failed_fulfillment_sample_is_a_pick_exception_and_no_label() -> None:
    (ful,) = sample("fulfillments_list_status_failure.json")
    created, pick = parsed(run("fulfillments/update", ful))
    assert created.type == "fulfillment.created"
    assert pick.type == "pick.exception" and pick.payload.reason == "other"
    assert pick.payload.skus == ["IPOD2008GREEN"] and pick.payload.shipment_id == "255858046"


def test_fulfillment_embedded_in_the_order_sample_maps_like_the_webhook() -> None:
    ful = order_sample()["fulfillments"][0]  # status failure, tracking_company null
    types = [e.type for e in parsed(run("fulfillments/update", ful))]
    assert types == ["fulfillment.created", "pick.exception"]


def test_missing_tracking_company_labels_carrier_unknown_and_every_number_gets_a_label() -> None:
    ful = sample("fulfillment_pending_with_tracking.json")["fulfillment"]
    ful.update(status="success", tracking_company=None, tracking_numbers=["1Z1", "1Z2"], tracking_urls=["u1"])
    labels = [e for e in parsed(run("fulfillments/update", ful)) if e.type == "label.created"]
    assert [(x.payload.carrier, x.payload.tracking_number, x.payload.tracking_url) for x in labels] == [
        ("unknown", "1Z1", "u1"),
        ("unknown", "1Z2", None),
    ]


@pytest.mark.parametrize("value", sorted(FULFILLMENT_STATUS))
def test_every_fulfillment_status(value: str) -> None:
    ful = sample("fulfillment_pending_with_tracking.json")["fulfillment"]
    ful["status"] = value
    result = run("fulfillments/update", ful)
    types = [e.type for e in parsed(result)]
    row = FULFILLMENT_STATUS[value]
    if isinstance(row, NoEvent):
        assert types == [] and result.ignored and row.why in result.ignored
    elif value in ("error", "failure"):
        assert types == ["fulfillment.created", "pick.exception"]
    else:
        assert types == ["fulfillment.created", "label.created"]


def test_shipment_status_on_a_fulfillment_adds_a_tracking_update() -> None:
    ful = sample("fulfillment_pending_with_tracking.json")["fulfillment"]
    ful.update(status="success", shipment_status="out_for_delivery", updated_at="2013-11-02T09:00:00-04:00")
    events = parsed(run("fulfillments/update", ful))
    track = events[-1]
    assert isinstance(track, TrackingUpdated)
    assert (track.payload.status, track.payload.shipment_id) == ("out_for_delivery", "255858046")
    assert track.occurred_at == datetime(2013, 11, 2, 13, 0, tzinfo=UTC)


def test_unknown_fulfillment_status_is_rejected() -> None:
    ful = sample("fulfillment_pending_with_tracking.json")["fulfillment"]
    ful["status"] = "exploded"
    result = run("fulfillments/create", ful)
    assert result.events == [] and [r.code for r in result.rejected] == ["unmapped_value"]


# ---- fulfillment events -------------------------------------------------------------------------------------


def test_fulfillment_event_label_printed_sample_is_pre_transit() -> None:
    (event,) = parsed(run("fulfillment_events/create", sample("fulfillment_event_label_printed.json")))
    assert isinstance(event, TrackingUpdated)
    assert event.event_id == "shopify-fulfillment-event-12584341209251"
    assert (event.order_id, event.payload.shipment_id) == ("2776493818019", "2608403447971")
    assert event.payload.status == "pre_transit" and event.payload.detail is None
    assert event.payload.location is None and event.payload.est_delivery_at is None
    assert event.occurred_at == datetime(2021, 1, 25, 21, 32, 23, tzinfo=UTC)


def test_older_fulfillment_event_sample_with_estimated_delivery_keeps_its_offset() -> None:
    body = sample("fulfillment_event_in_transit_with_estimated_delivery.json")["event"]  # pre-REST wrapper "event"
    result = run("fulfillment_events/create", body)
    (event,) = parsed(result)
    assert event.payload.status == "in_transit"
    assert result.events[0]["payload"]["est_delivery_at"] == "2013-11-15T18:00:00-04:00"
    assert event.occurred_at == datetime(2013, 11, 1, 20, 6, 8, tzinfo=UTC)


def test_fulfillment_event_location_from_city_province_country() -> None:
    ev = sample("fulfillment_event_label_printed.json")["fulfillment_event"]
    ev.update(status="IN_TRANSIT", city="Ottawa", province="Ontario", country="Canada")
    (event,) = parsed(run("fulfillment_events/create", ev))
    assert event.payload.status == "in_transit" and event.payload.location == "Ottawa, Ontario, Canada"


@pytest.mark.parametrize("value", sorted(SHIPMENT_STATUS))
def test_every_fulfillment_event_status(value: str) -> None:
    ev = sample("fulfillment_event_label_printed.json")["fulfillment_event"]
    ev["status"] = value
    result = run("fulfillment_events/create", ev)
    row = SHIPMENT_STATUS[value]
    if isinstance(row, NoEvent):
        assert result.events == [] and result.rejected == [] and row.why in (result.ignored or "")
    else:
        assert isinstance(row, Track)
        (event,) = parsed(result)
        assert (event.payload.status, event.payload.detail) == (row.status, row.detail)


def test_unknown_fulfillment_event_status_is_rejected() -> None:
    ev = sample("fulfillment_event_label_printed.json")["fulfillment_event"]
    ev["status"] = "abducted"
    result = run("fulfillment_events/create", ev)
    assert result.events == [] and [r.code for r in result.rejected] == ["unmapped_value"]


# ---- holds (documented webhook shapes: no saved sample exists) ----------------------------------------------


def placed_on_hold(
    reason: str, *, order_id: int | None = 450789469, hold_id: str | None = "gid://shopify/FulfillmentHold/77"
) -> dict[str, Any]:
    hold: dict[str, Any] = {
        "reason": reason,
        "reason_notes": "checked by the risk team",
        "handle": "",
        "held_by_requesting_app": False,
    }
    if hold_id is not None:
        hold["id"] = hold_id
    fo: dict[str, Any] = {
        "id": "gid://shopify/FulfillmentOrder/1046000787",
        "status": "on_hold",
        "fulfillment_holds": [hold],
    }
    if order_id is not None:
        fo["order_id"] = order_id
    return {
        "fulfillment_order": fo,
        "remaining_fulfillment_order": None,
        "held_fulfillment_order_line_items": [{"id": "gid://shopify/FulfillmentOrderLineItem/1", "quantity": 1}],
        "created_fulfillment_hold": hold,
    }


@pytest.mark.parametrize("value", sorted(HOLD_REASON))
def test_every_hold_reason_on_placed_on_hold(value: str) -> None:
    result = run("fulfillment_orders/placed_on_hold", placed_on_hold(value), x_shopify_triggered_at=TRIGGERED)
    row = HOLD_REASON[value]
    if isinstance(row, NoEvent):
        assert result.events == [] and result.rejected == [] and row.why in (result.ignored or "")
        return
    assert isinstance(row, Hold)
    (event,) = parsed(result)
    assert event.type == "order.hold_placed" and event.order_id == "450789469"
    assert event.payload.hold_type == row.hold_type
    assert event.event_id == "shopify-hold-77-placed"
    assert event.occurred_at == datetime(2026, 11, 2, 14, 5, 0, 877041, tzinfo=UTC)
    assert result.events[0]["payload"]["provider_reason"] == value


def test_fraud_address_and_inventory_holds_in_graphql_case() -> None:
    kinds = {}
    for reason in ("HIGH_RISK_OF_FRAUD", "INCORRECT_ADDRESS", "INVENTORY_OUT_OF_STOCK", "AWAITING_PAYMENT"):
        (event,) = parsed(
            run("fulfillment_orders/placed_on_hold", placed_on_hold(reason), x_shopify_triggered_at=TRIGGERED)
        )
        kinds[reason] = event.payload.hold_type
    assert kinds == {
        "HIGH_RISK_OF_FRAUD": "fraud_review",
        "INCORRECT_ADDRESS": "address_verification",
        "INVENTORY_OUT_OF_STOCK": "other",
        "AWAITING_PAYMENT": "payment_review",
    }


def test_unknown_hold_reason_is_rejected() -> None:
    result = run("fulfillment_orders/placed_on_hold", placed_on_hold("gremlins"), x_shopify_triggered_at=TRIGGERED)
    assert result.events == [] and [r.code for r in result.rejected] == ["unmapped_value"]


def test_hold_without_order_id_uses_the_fulfillment_order_lookup_or_is_rejected() -> None:
    body = placed_on_hold("high_risk_of_fraud", order_id=None)
    result = run("fulfillment_orders/placed_on_hold", body, x_shopify_triggered_at=TRIGGERED)
    assert result.events == [] and [r.code for r in result.rejected] == ["missing_field"]
    assert "1046000787" in result.rejected[0].reason
    lookups = StaticLookups(fulfillment_orders={"1046000787": "450789469"})
    (event,) = parsed(run("fulfillment_orders/placed_on_hold", body, lookups, x_shopify_triggered_at=TRIGGERED))
    assert event.order_id == "450789469" and event.payload.hold_type == "fraud_review"


def test_hold_needs_the_triggered_at_header_for_its_time() -> None:
    result = run("fulfillment_orders/placed_on_hold", placed_on_hold("other"))
    assert [r.code for r in result.rejected] == ["missing_field"] and "x-shopify-triggered-at" in result.rejected[
        0
    ].reason


def test_hold_without_hold_id_is_keyed_by_the_delivery_so_retries_dedupe() -> None:
    body = placed_on_hold("incorrect_address", hold_id=None)
    first = run("fulfillment_orders/placed_on_hold", body, x_shopify_triggered_at=TRIGGERED, x_shopify_event_id="ev-9")
    retry = run("fulfillment_orders/placed_on_hold", body, x_shopify_triggered_at=TRIGGERED, x_shopify_event_id="ev-9")
    assert first.events == retry.events
    assert first.events[0]["event_id"] == "shopify-fo-1046000787-placed-address_verification-ev-9"
    assert first.delivery_id == "ev-9"


def test_fulfillment_holds_released_names_its_hold() -> None:
    body = {
        "fulfillment_hold": {"id": "gid://shopify/FulfillmentHold/77", "reason": "high_risk_of_fraud"},
        "fulfillment_order": {
            "id": "gid://shopify/FulfillmentOrder/1046000787",
            "order_id": 450789469,
            "status": "open",
        },
    }
    (event,) = parsed(run("fulfillment_holds/released", body, x_shopify_triggered_at=TRIGGERED))
    assert (event.type, event.payload.hold_type, event.event_id) == (
        "order.hold_released",
        "fraud_review",
        "shopify-hold-77-released",
    )


def test_hold_released_without_a_hold_releases_every_type_no_remaining_hold_claims() -> None:
    body = {
        "fulfillment_order": {
            "id": "gid://shopify/FulfillmentOrder/1046000787",
            "order_id": 450789469,
            "status": "on_hold",
            "fulfillment_holds": [{"reason": "incorrect_address"}],
        }
    }
    result = run("fulfillment_orders/hold_released", body, x_shopify_triggered_at=TRIGGERED, x_shopify_event_id="ev-3")
    released = sorted(e.payload.hold_type for e in parsed(result))
    assert released == ["fraud_review", "other", "payment_review"]  # the address hold is still on


def test_topic_header_is_required_and_unknown_topics_are_rejected() -> None:
    assert adapt("shopify", {}, order_sample(), NO_LOOKUPS).rejected[0].code == "missing_field"
    result = run("products/update", {"id": 1})
    assert [r.code for r in result.rejected] == ["unknown_topic"] and "products/update" in result.rejected[0].reason


def test_delivery_id_prefers_the_event_id_header() -> None:
    assert run("orders/create", order_sample()).delivery_id == "wh-1"
    assert run("orders/create", order_sample(), x_shopify_event_id="ev-1").delivery_id == "ev-1"


def test_retried_delivery_gives_identical_events() -> None:
    body = sample("fulfillment_pending_with_tracking.json")
    assert (
        run("fulfillments/create", body).events
        == run("fulfillments/create", copy.deepcopy(body), x_shopify_webhook_id="wh-2").events
    )


def test_missing_fields_are_named() -> None:
    order = order_sample()
    del order["currency"]
    result = run("orders/create", order)
    assert [r.code for r in result.rejected] == ["missing_field"] and "order.currency" in result.rejected[0].reason
    order = order_sample()
    order["created_at"] = "2008-01-10 11:00"  # no offset: never guessed
    assert "created_at" in run("orders/create", order).rejected[0].reason


def test_estimate_from_a_date_only_field_stays_a_date() -> None:
    ev = sample("fulfillment_event_label_printed.json")["fulfillment_event"]
    ev.update(status="in_transit", estimated_delivery_at="2021-01-29")
    (event,) = parsed(run("fulfillment_events/create", ev))
    assert event.payload.est_delivery_at == date(2021, 1, 29)
