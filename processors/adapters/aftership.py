"""AfterShip ``tracking_update`` webhooks to ``tracking.updated``. Mapping tables: docs/adapters.md, "AfterShip".

Envelope: ``{"event": "tracking_update", "event_id", "is_tracking_first_tag", "msg": <Tracking>, "ts"}``. The
``subtag`` decides status and detail (it refines the ``tag``: ``Exception_010`` is a return, ``Exception_013``
a loss); a Tracking without a subtag falls back to the ``tag`` table. The tracking number is resolved through
``Lookups.shipment_for_tracking``; an unknown one is ``Rejected("unlinked_tracking")``.

Times: AfterShip writes checkpoint times in the checkpoint's local offset; a carrier that gives no zone yields
a time without one, which is read as UTC (at most 14 h off; the engine's thresholds are counted in hours to
days) and flagged with ``time_assumed_utc: true`` in the payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from wismo.processors.adapters._fields import MissingField, arr, obj, opt_text, sub, text
from wismo.processors.adapters._outcomes import Emits, NoEvent, Table, Track, canonical
from wismo.processors.adapters._time import epoch_seconds, estimate, instant, is_naive
from wismo.processors.adapters.base import Adapted, AdapterOptions, Lookups, Rejected

EVENTS: Table = {"tracking_update": Emits("tracking.updated")}

_PENDING = "AfterShip has no tracking information yet; not a shipment state"
_EXPIRED = (
    "AfterShip stopped tracking after 30 days without information; not a carrier state (the engine's "
    "no-movement rule already covers a silent parcel)"
)

TAG: Table = {
    "Pending": NoEvent(_PENDING),
    "InfoReceived": Track("pre_transit"),
    "InTransit": Track("in_transit"),
    "OutForDelivery": Track("out_for_delivery"),
    "AttemptFail": Track("delivery_failed"),
    "Delivered": Track("delivered"),
    "AvailableForPickup": Track("available_for_pickup"),
    "Exception": Track("exception", "other"),
    "Expired": NoEvent(_EXPIRED),
}
"""Tracking ``tag``: used only when the Tracking has no ``subtag``."""

SUBTAG: Table = {
    "Pending_001": NoEvent(_PENDING),
    "Pending_002": NoEvent(_PENDING + " (carrier account not connected)"),
    "Pending_003": NoEvent(_PENDING),
    "Pending_004": NoEvent(_PENDING),
    "Pending_005": NoEvent(_PENDING),
    "Pending_006": NoEvent(_PENDING),
    "InfoReceived_001": Track("pre_transit"),
    "InTransit_001": Track("in_transit"),
    "InTransit_002": Track("in_transit"),
    "InTransit_003": Track("in_transit"),
    "InTransit_004": Track("in_transit"),
    "InTransit_005": Track("in_transit"),
    "InTransit_006": Track("in_transit"),
    "InTransit_007": Track("in_transit"),
    "InTransit_008": Track("in_transit"),
    "InTransit_009": Track("in_transit"),
    "OutForDelivery_001": Track("out_for_delivery"),
    "OutForDelivery_002": Track("available_for_pickup"),
    "OutForDelivery_003": Track("out_for_delivery"),
    "OutForDelivery_004": Track("out_for_delivery"),
    "AttemptFail_001": Track("delivery_failed", "other"),
    "AttemptFail_002": Track("delivery_failed", "recipient_unavailable"),
    "AttemptFail_003": Track("delivery_failed", "business_closed"),
    "Delivered_001": Track("delivered"),
    "Delivered_002": Track("delivered"),
    "Delivered_003": Track("delivered"),
    "Delivered_004": Track("delivered"),
    "Delivered_005": Track("delivered"),
    "AvailableForPickup_001": Track("available_for_pickup"),
    "Exception_001": Track("exception", "other"),
    "Exception_002": Track("delivery_failed", "address_issue"),
    "Exception_003": Track("delivery_failed", "other"),
    "Exception_004": Track("exception", "other"),
    "Exception_005": Track("exception", "other"),
    "Exception_006": Track("exception", "other"),
    "Exception_007": Track("delivery_failed", "address_issue"),
    "Exception_008": Track("exception", "other"),
    "Exception_009": Track("exception", "other"),
    "Exception_010": Track("return_to_sender"),
    "Exception_011": Track("return_to_sender"),
    "Exception_012": Track("exception", "damaged"),
    "Exception_013": Track("exception", "lost"),
    "Exception_016": Track("exception", "other"),
    "Exception_017": Track("exception", "weather"),
    "Exception_018": Track("exception", "other"),
    "Exception_019": Track("exception", "other"),
    "Exception_020": NoEvent(
        "the shipment was voided by the sender or carrier; wismo has no shipment-cancelled event (a new label "
        "arrives as label.created)"
    ),
    "Exception_021": Track("exception", "lost"),
    "Expired_001": NoEvent(_EXPIRED),
}
"""Tracking ``subtag`` (status and detail)."""

ESTIMATE_FIELDS: Table = {
    "latest_estimated_delivery": Emits("est_delivery_at, 1st choice"),
    "expected_delivery": Emits("est_delivery_at, 2nd choice"),
    "aftership_estimated_delivery_date": Emits("est_delivery_at, 3rd choice"),
    "custom_estimated_delivery_date": Emits("est_delivery_at, 4th choice"),
    "order_promised_delivery_date": Emits("promised_delivery_date (never est_delivery_at)"),
    "first_estimated_delivery": NoEvent("the first estimate ever made; superseded by the latest one"),
}
"""Which Tracking field fills ``est_delivery_at``: the first one present, in this order."""

TABLES: dict[str, Table] = {
    "aftership.event": EVENTS,
    "aftership.tag": TAG,
    "aftership.subtag": SUBTAG,
    "aftership.estimate_field": ESTIMATE_FIELDS,
}


def adapt_aftership(headers: Mapping[str, str], body: Any, lookups: Lookups, options: AdapterOptions) -> Adapted:
    """One AfterShip webhook. Events other than ``tracking_update`` are ``unknown_topic``."""
    envelope = obj(body, "body")
    event_name = text(envelope, "event", "")
    event_id = opt_text(envelope, "event_id", "")
    if event_name not in EVENTS:
        reason = f"AfterShip webhook event {event_name!r} is not one wismo reads (only tracking_update)"
        return Adapted(rejected=[Rejected("unknown_topic", reason)], delivery_id=event_id)
    tracking = sub(envelope, "msg", "")
    tag = text(tracking, "tag", "msg")
    subtag = opt_text(tracking, "subtag", "msg")
    if subtag is not None:
        if subtag.split("_", 1)[0] != tag:
            reason = f"AfterShip subtag {subtag!r} does not belong to tag {tag!r}"
            return Adapted(rejected=[Rejected("unmapped_value", reason)], delivery_id=event_id)
        row, what = SUBTAG.get(subtag), f"subtag {subtag!r}"
    else:
        row, what = TAG.get(tag), f"tag {tag!r}"
    if row is None:
        return Adapted(rejected=[Rejected("unmapped_value", f"AfterShip {what} has no mapping")], delivery_id=event_id)
    if isinstance(row, NoEvent):
        return Adapted(ignored=f"AfterShip {what}: {row.why}", delivery_id=event_id)
    assert isinstance(row, Track)

    number = text(tracking, "tracking_number", "msg")
    ref = lookups.shipment_for_tracking(number)
    if ref is None:
        slug = opt_text(tracking, "slug", "msg") or "unknown carrier"
        reason = f"AfterShip tracking {number} ({slug}) is linked to no order: no label.created carried this number"
        return Adapted(rejected=[Rejected("unlinked_tracking", reason)], delivery_id=event_id)

    at, location, assumed = _when_where(tracking, envelope, tag)
    payload = {
        "shipment_id": ref.shipment_id,
        "status": row.status,
        "detail": row.detail,
        "est_delivery_at": _estimate(tracking),
        "location": location,
        "carrier": opt_text(tracking, "slug", "msg"),
        "tracking_number": number,
        "provider_status": f"{tag}/{subtag}" if subtag else tag,
        "promised_delivery_date": estimate(
            tracking.get("order_promised_delivery_date"), "msg.order_promised_delivery_date"
        ),
        "time_assumed_utc": True if assumed else None,
    }
    key = event_id or _fallback_id(tracking, subtag or tag)
    return Adapted(
        events=[canonical(f"aftership-{key}", "tracking.updated", at, payload, ref.order_id)], delivery_id=event_id
    )


def _when_where(
    tracking: Mapping[str, Any], envelope: Mapping[str, Any], tag: str
) -> tuple[datetime, str | None, bool]:
    """When and where the current status arose: the newest checkpoint if it carries the Tracking's tag (a carrier
    scan); otherwise AfterShip set the status without a scan (e.g. marked lost), so the Tracking's update time
    (then the envelope ``ts``) and no place."""
    checkpoints = tracking.get("checkpoints")
    newest: tuple[datetime, Mapping[str, Any], bool] | None = None
    for i, raw in enumerate(arr(checkpoints, "msg.checkpoints") if checkpoints is not None else []):
        cp = obj(raw, f"msg.checkpoints[{i}]")
        raw_time = cp.get("checkpoint_time")
        at = instant(raw_time, f"msg.checkpoints[{i}].checkpoint_time", naive="utc")
        if newest is None or at >= newest[0]:
            newest = (at, cp, isinstance(raw_time, str) and is_naive(raw_time))
    if newest is not None and newest[1].get("tag") == tag:
        return newest[0], _place(newest[1]), newest[2]
    for key in ("updated_at", "last_updated_at"):
        raw_time = tracking.get(key)
        if raw_time:
            return instant(raw_time, f"msg.{key}", naive="utc"), None, isinstance(raw_time, str) and is_naive(raw_time)
    ts = envelope.get("ts")
    if isinstance(ts, (int, float)) and not isinstance(ts, bool):
        return epoch_seconds(ts, "ts"), None, False
    raise MissingField("msg.updated_at (and no checkpoint carries the tracking's tag, and no ts)")


def _place(cp: Mapping[str, Any]) -> str | None:
    location = cp.get("location")
    if isinstance(location, str) and location.strip():
        return location.strip()
    parts = [
        v.strip() for v in (cp.get(k) for k in ("city", "state", "country_name")) if isinstance(v, str) and v.strip()
    ]
    return ", ".join(parts) or None


def _estimate(tracking: Mapping[str, Any]) -> str | None:
    """The first estimate present, in the ``ESTIMATE_FIELDS`` order; a range counts as its later end."""
    latest = tracking.get("latest_estimated_delivery")
    if isinstance(latest, Mapping):
        found = _window(latest, "msg.latest_estimated_delivery")
        if found:
            return found
    expected = estimate(tracking.get("expected_delivery"), "msg.expected_delivery")
    if expected:
        return expected
    predicted = tracking.get("aftership_estimated_delivery_date")
    if isinstance(predicted, Mapping):
        found = estimate(predicted.get("estimated_delivery_date"), "msg.aftership_estimated_delivery_date")
        found = found or estimate(predicted.get("estimated_delivery_date_max"), "msg.aftership_estimated_delivery_date")
        if found:
            return found
    custom = tracking.get("custom_estimated_delivery_date")
    if isinstance(custom, Mapping):
        return _window(custom, "msg.custom_estimated_delivery_date")
    return None


def _window(value: Mapping[str, Any], path: str) -> str | None:
    """``{"type": "specific"|"range", "datetime", "datetime_min", "datetime_max"}``: the datetime, or for a
    range its later end (never promise earlier than the carrier)."""
    return estimate(value.get("datetime"), f"{path}.datetime") or estimate(
        value.get("datetime_max"), f"{path}.datetime_max"
    )


def _fallback_id(tracking: Mapping[str, Any], status: str) -> str:
    """Legacy webhooks carry no ``event_id``: the Tracking id, its status and its last update time."""
    tracking_id = text(tracking, "id", "msg")
    updated = opt_text(tracking, "updated_at", "msg") or opt_text(tracking, "last_updated_at", "msg") or ""
    return f"{tracking_id}-{status}-{updated}"
