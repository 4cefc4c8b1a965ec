"""EasyPost tracker Events through ``adapt``: saved samples and documented shapes.

Samples: ../shared/payloads/easypost/ (see its SOURCES.md), from EasyPost/examples @ 112a6d19 (MIT,
"Copyright (c) 2022 EasyPost (Simpler Postage, Inc)"), used in place. No exception-status sample exists in
EasyPost's repositories; those statuses are built below from the documented Tracker shape.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from shared_payloads import PAYLOADS
from wismo.processors.adapters import adapt
from wismo.processors.adapters._outcomes import Detail, NoEvent, Track
from wismo.processors.adapters.base import Adapted, ShipmentRef, StaticLookups
from wismo.processors.adapters.easypost import STATUS, STATUS_DETAIL

from wismo.events import TrackingUpdated, parse_event_obj

SAMPLES = PAYLOADS / "easypost"
LINKED = StaticLookups({"1": ShipmentRef("A1001", "S1"), "EZ1000000001": ShipmentRef("A1002", "S2")})


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def run(body: Any, lookups: StaticLookups = LINKED) -> Adapted:
    return adapt("easypost", {}, body, lookups)


def parsed(result: Adapted) -> list[Any]:
    return [parse_event_obj(e) for e in result.events]


def webhook_body() -> dict[str, Any]:
    body: dict[str, Any] = sample("event_tracker_updated_in_transit_webhook_body.json")
    return body


def tracker_event(tracker: dict[str, Any], description: str = "tracker.created") -> dict[str, Any]:
    """The documented Event envelope around a Tracker (the saved tracker.created Event has no ``result``)."""
    event: dict[str, Any] = sample("event_retrieve_tracker_created.json")
    event.update(description=description, result=tracker)
    return event


def test_webhook_body_sample_is_in_transit_at_the_latest_scan() -> None:
    result = run(webhook_body())
    (event,) = parsed(result)
    assert isinstance(event, TrackingUpdated)
    assert event.event_id == "easypost-evt_1" and result.delivery_id == "evt_1"
    assert (event.order_id, event.payload.shipment_id) == ("A1001", "S1")
    assert (event.payload.status, event.payload.detail) == ("in_transit", None)
    assert event.occurred_at == datetime(2024, 8, 2, 18, 50, tzinfo=UTC)  # newest tracking_details entry
    assert event.payload.location == "EDISON, NJ, US"
    # carrier_detail.est_delivery_date_local wins; the midnight-UTC est_delivery_date would say the same day
    assert event.payload.est_delivery_at == date(2024, 8, 5)
    assert result.events[0]["payload"]["provider_status"] == "in_transit/arrived_at_facility"


def test_midnight_utc_estimate_is_read_as_a_date_without_the_local_one() -> None:
    body = webhook_body()
    body["result"]["carrier_detail"]["est_delivery_date_local"] = None
    (event,) = parsed(run(body))
    assert event.payload.est_delivery_at == date(2024, 8, 5)


def test_tracker_samples_wrapped_in_an_event_are_pre_transit() -> None:
    for name in ("tracker_create_pre_transit.json", "tracker_retrieve_pre_transit.json"):
        result = run(tracker_event(sample(name)))
        (event,) = parsed(result)
        assert (event.order_id, event.payload.status) == ("A1002", "pre_transit")
        assert event.occurred_at == datetime(2025, 4, 10, 9, 17, 17, tzinfo=UTC)
        assert event.payload.location == "HOUSTON, TX"
        assert result.events[0]["payload"]["est_delivery_at"] == "2025-05-09T20:40:17Z"
        assert event.event_id == "easypost-evt_ad2365c22d1511f0b5364ffbb3e7a1f1"


def test_saved_tracker_created_event_without_result_is_missing_field() -> None:
    result = run(sample("event_retrieve_tracker_created.json"))
    assert result.events == [] and [r.code for r in result.rejected] == ["missing_field"]
    assert "result" in result.rejected[0].reason


def test_unknown_tracking_code_is_unlinked_not_guessed() -> None:
    result = run(webhook_body(), StaticLookups())
    assert result.events == [] and [r.code for r in result.rejected] == ["unlinked_tracking"]
    assert "FedEx" in result.rejected[0].reason


def with_status(status: str, detail: str | None) -> dict[str, Any]:
    body = webhook_body()
    body["result"]["status"] = status
    body["result"]["status_detail"] = detail
    return body


@pytest.mark.parametrize(
    ("code", "status", "detail", "expected"),
    [
        # EasyPost's documented test tracking codes and the statuses they return
        ("EZ4000000004", "delivered", "arrived_at_destination", ("delivered", None)),
        ("EZ5000000005", "return_to_sender", "return", ("return_to_sender", None)),
        ("EZ6000000006", "failure", "address_correction", ("exception", "address_issue")),
        ("EZ3000000003", "out_for_delivery", "out_for_delivery", ("out_for_delivery", None)),
        (None, "failure", "lost", ("exception", "lost")),
        (None, "in_transit", "weather_delay", ("in_transit", "weather")),
        (None, "available_for_pickup", "arrived_at_pickup_location", ("available_for_pickup", None)),
    ],
)
def test_exception_and_terminal_statuses(
    code: str | None, status: str, detail: str, expected: tuple[str, str | None]
) -> None:
    body = with_status(status, detail)
    lookups = LINKED
    if code:
        body["result"]["tracking_code"] = code
        lookups = StaticLookups({code: ShipmentRef("A9", "S9")})
    (event,) = parsed(run(body, lookups))
    assert (event.payload.status, event.payload.detail) == expected


@pytest.mark.parametrize("status", ["unknown", "cancelled", "error"])
def test_no_event_statuses_are_ignored_even_when_unlinked(status: str) -> None:
    result = run(with_status(status, "unknown"), StaticLookups())
    assert result.events == [] and result.rejected == [] and status in (result.ignored or "")


@pytest.mark.parametrize("status", sorted(STATUS))
def test_every_status_with_every_detail_maps_by_the_tables(status: str) -> None:
    row = STATUS[status]
    for detail in sorted(STATUS_DETAIL):
        result = run(with_status(status, detail))
        if isinstance(row, NoEvent):
            assert result.events == [] and row.why in (result.ignored or "")
            continue
        assert isinstance(row, Track)
        detail_row = STATUS_DETAIL[detail]
        assert isinstance(detail_row, Detail)
        (event,) = parsed(result)
        assert (event.payload.status, event.payload.detail) == (row.status, detail_row.detail), detail


def test_unknown_status_or_detail_is_rejected() -> None:
    for body, value in (
        (with_status("teleported", None), "teleported"),
        (with_status("in_transit", "on_mars"), "on_mars"),
    ):
        result = run(body)
        assert result.events == [] and [r.code for r in result.rejected] == ["unmapped_value"]
        assert value in result.rejected[0].reason


def test_other_event_types_are_unknown_topics() -> None:
    body = webhook_body()
    body["description"] = "batch.updated"
    result = run(body)
    assert [r.code for r in result.rejected] == ["unknown_topic"] and result.delivery_id == "evt_1"


def test_without_tracking_details_the_tracker_update_time_is_used() -> None:
    body = webhook_body()
    body["result"]["tracking_details"] = []
    (event,) = parsed(run(body))
    assert event.occurred_at == datetime(2024, 8, 2, 19, 26, 51, tzinfo=UTC) and event.payload.location is None


def test_retry_gives_the_same_event_id() -> None:
    assert run(webhook_body()).events == run(copy.deepcopy(webhook_body())).events
