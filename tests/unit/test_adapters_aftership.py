"""AfterShip ``tracking_update`` webhooks through ``adapt``.

Samples: ../shared/payloads/aftership/ (see its SOURCES.md), from AfterShip/aftership-sdk-java @ 3e4b8408
(MIT-style permission notice, "Copyright (c) 2016 AfterShip"), used in place. They are API responses whose
``data.tracking`` is the same Tracking object a webhook sends as ``msg``; :func:`webhook` wraps them in the
documented envelope. ``edd_batch_predict_result.json`` is an EDD prediction response, not a tracking state,
so it is not run through the adapter. No AttemptFail or AvailableForPickup sample exists; those are built
from the documented Tracking shape.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from shared_payloads import PAYLOADS
from wismo.processors.adapters import adapt
from wismo.processors.adapters._outcomes import NoEvent, Track
from wismo.processors.adapters.aftership import SUBTAG, TAG
from wismo.processors.adapters.base import Adapted, ShipmentRef, StaticLookups

from wismo.events import TrackingUpdated, parse_event_obj

SAMPLES = PAYLOADS / "aftership"
NUMBERS = ("111111111111", "1111111111111", "2222222222222", "1231231231231")
LINKED = StaticLookups({n: ShipmentRef(f"A-{n[-4:]}", f"S-{n[-4:]}") for n in NUMBERS})


def tracking(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / name).read_text(encoding="utf-8"))["data"]["tracking"]
    return data


def webhook(msg: dict[str, Any], event_id: str | None = "e1") -> dict[str, Any]:
    """The documented webhook envelope around a Tracking."""
    body: dict[str, Any] = {"event": "tracking_update", "is_tracking_first_tag": False, "msg": msg, "ts": 1534484000}
    if event_id is not None:
        body["event_id"] = event_id
    return body


def run(body: Any, lookups: StaticLookups = LINKED) -> Adapted:
    return adapt("aftership", {}, body, lookups)


def parsed(result: Adapted) -> list[Any]:
    return [parse_event_obj(e) for e in result.events]


def test_delivered_sample_with_every_estimate_field() -> None:
    result = run(webhook(tracking("get_tracking_delivered_full_fields.json")))
    (event,) = parsed(result)
    assert isinstance(event, TrackingUpdated)
    assert (event.event_id, result.delivery_id) == ("aftership-e1", "e1")
    assert (event.order_id, event.payload.shipment_id) == ("A-1111", "S-1111")
    assert (event.payload.status, event.payload.detail) == ("delivered", None)
    assert event.occurred_at == datetime(2018, 7, 25, 1, 10, tzinfo=UTC)  # the Delivered checkpoint, +09:00
    assert result.events[0]["occurred_at"] == "2018-07-25T10:10:00+09:00"
    assert event.payload.location == "SAPPORO JP"
    # latest_estimated_delivery wins over custom_estimated_delivery_date; the checkout promise is kept apart
    assert event.payload.est_delivery_at == datetime(2022, 1, 5, 12, 11, 11, tzinfo=timezone(timedelta(hours=1)))
    assert result.events[0]["payload"]["promised_delivery_date"] == "2019-05-02"
    assert result.events[0]["payload"]["provider_status"] == "Delivered/Delivered_001"


def test_exception_013_sample_is_lost_at_the_tracking_update_time() -> None:
    (event,) = parsed(run(webhook(tracking("tracking_exception_013_shipment_lost.json"))))
    assert (event.payload.status, event.payload.detail) == ("exception", "lost")
    # the newest checkpoint is a Delivered scan: the loss was set without a scan, so updated_at and no place
    assert event.occurred_at == datetime(2018, 8, 17, 5, 10, 46, tzinfo=UTC) and event.payload.location is None


def test_pending_sample_is_ignored() -> None:
    result = run(webhook(tracking("create_tracking_pending.json")), StaticLookups())
    assert result.events == [] and result.rejected == [] and "Pending_001" in (result.ignored or "")


def test_list_sample_delivered_and_expired_trackings() -> None:
    trackings = json.loads((SAMPLES / "list_trackings_delivered_expired_with_exception_checkpoint.json").read_text())[
        "data"
    ]["trackings"]
    delivered, expired_a, expired_b = (run(webhook(t, f"e{i}")) for i, t in enumerate(trackings))
    (event,) = parsed(delivered)
    assert event.payload.status == "delivered" and event.payload.location == "Deal, NJ"
    assert event.occurred_at == datetime(2018, 8, 1, 17, 19, 47, tzinfo=UTC)
    assert event.payload.est_delivery_at == date(2018, 8, 1)  # from aftership_estimated_delivery_date
    for expired in (expired_a, expired_b):
        assert expired.events == [] and expired.rejected == [] and "Expired_001" in (expired.ignored or "")


def test_exception_001_checkpoint_from_the_list_sample_as_the_current_state() -> None:
    t = json.loads((SAMPLES / "list_trackings_delivered_expired_with_exception_checkpoint.json").read_text())["data"][
        "trackings"
    ][0]
    cps = t["checkpoints"]
    cut = next(i for i, cp in enumerate(cps) if cp["subtag"] == "Exception_001")
    t.update(checkpoints=cps[: cut + 1], tag="Exception", subtag="Exception_001")
    (event,) = parsed(run(webhook(t)))
    assert (event.payload.status, event.payload.detail) == ("exception", "other")
    assert event.occurred_at == datetime(2018, 8, 1, 4, 13, 4, tzinfo=UTC) and event.payload.location == "KEASBEY, NJ"


def test_last_checkpoint_sample_as_a_tracking() -> None:
    data = json.loads((SAMPLES / "last_checkpoint_delivered.json").read_text())["data"]
    msg = {k: data[k] for k in ("id", "tracking_number", "slug", "tag", "subtag")} | {
        "checkpoints": [data["checkpoint"]]
    }
    (event,) = parsed(run(webhook(msg)))
    assert event.payload.status == "delivered" and event.payload.location == "Deal, NJ"
    assert event.occurred_at == datetime(2018, 8, 1, 17, 19, 47, tzinfo=UTC)


def attempt(
    subtag: str | None, tag: str = "AttemptFail", checkpoint_time: str = "2026-11-03T10:15:00-05:00"
) -> dict[str, Any]:
    return {
        "id": "t-1",
        "tracking_number": "1111111111111",
        "slug": "ups",
        "tag": tag,
        "subtag": subtag,
        "updated_at": "2026-11-03T15:20:00+00:00",
        "checkpoints": [
            {
                "checkpoint_time": "2026-11-02T08:00:00-05:00",
                "tag": "InTransit",
                "subtag": "InTransit_001",
                "location": "Louisville, KY",
            },
            {"checkpoint_time": checkpoint_time, "tag": tag, "subtag": subtag, "city": "Brooklyn", "state": "NY"},
        ],
    }


@pytest.mark.parametrize(
    ("subtag", "detail"),
    [
        ("AttemptFail_001", "other"),
        ("AttemptFail_002", "recipient_unavailable"),
        ("AttemptFail_003", "business_closed"),
    ],
)
def test_attempt_fail_subtags_are_delivery_failed_with_detail(subtag: str, detail: str) -> None:
    (event,) = parsed(run(webhook(attempt(subtag))))
    assert (event.payload.status, event.payload.detail) == ("delivery_failed", detail)
    assert event.payload.location == "Brooklyn, NY"
    assert event.occurred_at == datetime(2026, 11, 3, 15, 15, tzinfo=UTC)


def test_naive_checkpoint_time_is_read_as_utc_and_flagged() -> None:
    result = run(webhook(attempt("AttemptFail_002", checkpoint_time="2026-11-03T10:15:00")))
    (event,) = parsed(result)
    assert event.occurred_at == datetime(2026, 11, 3, 10, 15, tzinfo=UTC)
    assert result.events[0]["payload"]["time_assumed_utc"] is True


@pytest.mark.parametrize("subtag", sorted(SUBTAG))
def test_every_subtag(subtag: str) -> None:
    tag = subtag.split("_")[0]
    result = run(webhook(attempt(subtag, tag=tag)))
    row = SUBTAG[subtag]
    if isinstance(row, NoEvent):
        assert result.events == [] and result.rejected == [] and row.why in (result.ignored or "")
        return
    assert isinstance(row, Track)
    (event,) = parsed(result)
    assert (event.payload.status, event.payload.detail) == (row.status, row.detail)


@pytest.mark.parametrize("tag", sorted(TAG))
def test_every_tag_without_subtag(tag: str) -> None:
    msg = attempt(None, tag=tag)
    del msg["subtag"]
    result = run(webhook(msg))
    row = TAG[tag]
    if isinstance(row, NoEvent):
        assert result.events == [] and row.why in (result.ignored or "")
        return
    assert isinstance(row, Track)
    (event,) = parsed(result)
    assert (event.payload.status, event.payload.detail) == (row.status, row.detail)


def test_unknown_subtag_or_mismatched_tag_is_rejected() -> None:
    for subtag, tag in (("Exception_099", "Exception"), ("Delivered_001", "Exception")):
        result = run(webhook(attempt(subtag, tag=tag)))
        assert result.events == [] and [r.code for r in result.rejected] == ["unmapped_value"], subtag


def test_unlinked_tracking_number_and_other_webhook_events() -> None:
    result = run(webhook(tracking("get_tracking_delivered_full_fields.json")), StaticLookups())
    assert [r.code for r in result.rejected] == ["unlinked_tracking"] and "fedex" in result.rejected[0].reason
    result = run({"event": "estimated_delivery_date_update", "event_id": "x", "msg": {}})
    assert [r.code for r in result.rejected] == ["unknown_topic"]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"expected_delivery": "2026-11-06"}, "2026-11-06"),
        ({"expected_delivery": "2026-11-06T17:00:00"}, "2026-11-06"),  # naive wall clock: its date
        ({"aftership_estimated_delivery_date": {"estimated_delivery_date": "2026-11-07"}}, "2026-11-07"),
        (
            {
                "custom_estimated_delivery_date": {
                    "type": "range",
                    "datetime": None,
                    "datetime_min": "2026-11-06",
                    "datetime_max": "2026-11-09",
                }
            },
            "2026-11-09",
        ),
        (
            {
                "expected_delivery": "2026-11-06",
                "latest_estimated_delivery": {"type": "specific", "datetime": "2026-11-05T12:00:00+01:00"},
            },
            "2026-11-05T12:00:00+01:00",
        ),
        ({"order_promised_delivery_date": "2026-11-04"}, None),  # a promise is not an estimate
    ],
)
def test_estimate_precedence(fields: dict[str, Any], expected: str | None) -> None:
    msg = attempt("InTransit_001", tag="InTransit") | fields
    result = run(webhook(msg))
    parsed(result)
    assert result.events[0]["payload"].get("est_delivery_at") == expected


def test_legacy_envelope_without_event_id_gets_a_deterministic_id() -> None:
    first = run(webhook(attempt("AttemptFail_002"), event_id=None))
    again = run(webhook(attempt("AttemptFail_002"), event_id=None))
    assert first.events == again.events
    assert first.events[0]["event_id"] == "aftership-t-1-AttemptFail_002-2026-11-03T15:20:00+00:00"
