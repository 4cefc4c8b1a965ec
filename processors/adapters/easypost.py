"""EasyPost ``Event`` webhooks (``tracker.created`` / ``tracker.updated``) to ``tracking.updated``. Mapping tables:
docs/adapters.md, "EasyPost".

A Tracker carries no order id: its ``tracking_code`` is resolved through ``Lookups.shipment_for_tracking``
(filled from earlier ``label.created`` events); an unknown code is ``Rejected("unlinked_tracking")``. The event
id is ``easypost-<Event id>``, so EasyPost's retries of the same Event dedupe.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from wismo.processors.adapters._fields import arr, obj, opt_text, sub, text
from wismo.processors.adapters._outcomes import Detail, Emits, NoEvent, Table, Track, canonical
from wismo.processors.adapters._time import estimate, instant
from wismo.processors.adapters.base import Adapted, AdapterOptions, Lookups, Rejected

EVENTS: Table = {
    "tracker.created": Emits("tracking.updated"),
    "tracker.updated": Emits("tracking.updated"),
}

STATUS: Table = {
    "unknown": NoEvent("the carrier has no information for this tracking code yet; not a shipment state"),
    "pre_transit": Track("pre_transit"),
    "in_transit": Track("in_transit"),
    "out_for_delivery": Track("out_for_delivery"),
    "delivered": Track("delivered"),
    "available_for_pickup": Track("available_for_pickup"),
    "return_to_sender": Track("return_to_sender"),
    "failure": Track("exception"),
    "cancelled": NoEvent(
        "the label was cancelled; wismo has no shipment-cancelled event (a replacement label arrives as a new "
        "label.created, and the engine's label-without-pickup rule flags a parcel that never moves)"
    ),
    "error": NoEvent("EasyPost could not track the code (carrier or API error); not a shipment state"),
}
"""Tracker ``status``."""

STATUS_DETAIL: Table = {
    "address_correction": Detail("address_issue"),
    "arrived_at_destination": Detail(None),
    "arrived_at_facility": Detail(None),
    "arrived_at_pickup_location": Detail(None),
    "awaiting_information": Detail("other"),
    "cancelled": Detail(None),
    "damaged": Detail("damaged"),
    "delayed": Detail("other"),
    "delivery_exception": Detail("other"),
    "departed_facility": Detail(None),
    "departed_origin_facility": Detail(None),
    "expired": Detail(None),
    "failure": Detail("other"),
    "held": Detail("other"),
    "in_transit": Detail(None),
    "label_created": Detail(None),
    "lost": Detail("lost"),
    "missorted": Detail("other"),
    "out_for_delivery": Detail(None),
    "received_at_destination_facility": Detail(None),
    "received_at_origin_facility": Detail(None),
    "refused": Detail("other"),
    "return": Detail(None),
    "status_update": Detail(None),
    "transferred_to_destination_carrier": Detail(None),
    "transit_exception": Detail("other"),
    "unknown": Detail(None),
    "weather_delay": Detail("weather"),
}
"""Tracker ``status_detail``: the canonical ``detail`` added to the status above."""

TABLES: dict[str, Table] = {
    "easypost.event": EVENTS,
    "easypost.status": STATUS,
    "easypost.status_detail": STATUS_DETAIL,
}


def adapt_easypost(headers: Mapping[str, str], body: Any, lookups: Lookups, options: AdapterOptions) -> Adapted:
    """One EasyPost Event. Events other than tracker.* are ``unknown_topic``; see docs/adapters.md."""
    event = obj(body, "body")
    delivery_id = text(event, "id", "")
    description = text(event, "description", "")
    if description not in EVENTS:
        reason = f"EasyPost event {description!r} is not one wismo reads (only tracker.created / tracker.updated)"
        return Adapted(rejected=[Rejected("unknown_topic", reason)], delivery_id=delivery_id)
    tracker = sub(event, "result", "")
    status = text(tracker, "status", "result")
    row = STATUS.get(status)
    if row is None:
        return _unmapped(f"EasyPost tracker status {status!r} has no mapping", delivery_id)
    if isinstance(row, NoEvent):
        return Adapted(ignored=f"EasyPost status {status}: {row.why}", delivery_id=delivery_id)
    assert isinstance(row, Track)
    status_detail = opt_text(tracker, "status_detail", "result")
    detail = None
    if status_detail is not None:
        detail_row = STATUS_DETAIL.get(status_detail)
        if not isinstance(detail_row, Detail):
            return _unmapped(f"EasyPost tracker status_detail {status_detail!r} has no mapping", delivery_id)
        detail = detail_row.detail

    code = text(tracker, "tracking_code", "result")
    ref = lookups.shipment_for_tracking(code)
    if ref is None:
        carrier = opt_text(tracker, "carrier", "result") or "unknown carrier"
        reason = f"EasyPost tracker {code} ({carrier}) is linked to no order: no label.created carried this number"
        return Adapted(rejected=[Rejected("unlinked_tracking", reason)], delivery_id=delivery_id)

    at, location = _latest_scan(tracker, event)
    payload = {
        "shipment_id": ref.shipment_id,
        "status": row.status,
        "detail": detail if detail is not None else row.detail,
        "est_delivery_at": _estimate(tracker),
        "location": location,
        "carrier": opt_text(tracker, "carrier", "result"),
        "tracking_number": code,
        "provider_status": f"{status}/{status_detail}" if status_detail else status,
    }
    event_out = canonical(f"easypost-{delivery_id}", "tracking.updated", at, payload, ref.order_id)
    return Adapted(events=[event_out], delivery_id=delivery_id)


def _unmapped(reason: str, delivery_id: str) -> Adapted:
    return Adapted(rejected=[Rejected("unmapped_value", reason)], delivery_id=delivery_id)


def _latest_scan(tracker: Mapping[str, Any], event: Mapping[str, Any]) -> tuple[datetime, str | None]:
    """The newest tracking detail's time and place; without details, the tracker's (then the Event's) update
    time and no place."""
    details = tracker.get("tracking_details")
    latest: tuple[datetime, Mapping[str, Any]] | None = None
    for i, raw in enumerate(arr(details, "result.tracking_details") if details is not None else []):
        detail = obj(raw, f"result.tracking_details[{i}]")
        at = instant(detail.get("datetime"), f"result.tracking_details[{i}].datetime")
        if latest is None or at >= latest[0]:
            latest = (at, detail)
    if latest is None:
        fallback = tracker.get("updated_at") or event.get("updated_at") or event.get("created_at")
        return instant(fallback, "result.updated_at"), None
    loc = latest[1].get("tracking_location")
    parts: list[str] = []
    if isinstance(loc, Mapping):
        parts = [
            v.strip() for v in (loc.get(k) for k in ("city", "state", "country")) if isinstance(v, str) and v.strip()
        ]
    return latest[0], ", ".join(parts) or None


def _estimate(tracker: Mapping[str, Any]) -> str | None:
    """``carrier_detail.est_delivery_date_local`` (the carrier's local date) first, else ``est_delivery_date``
    (a midnight-UTC value is a date)."""
    carrier_detail = tracker.get("carrier_detail")
    if isinstance(carrier_detail, Mapping):
        local = estimate(carrier_detail.get("est_delivery_date_local"), "result.carrier_detail.est_delivery_date_local")
        if local is not None:
            return local
    return estimate(tracker.get("est_delivery_date"), "result.est_delivery_date", midnight_utc_is_date=True)
