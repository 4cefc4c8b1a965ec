"""Builders for canonical events (EVENTS.md) and a small in-process runner for tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from wismo.pipeline import Pipeline
from wismo.policy import Policy, load_policy, policy_from_mapping

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def at(hours: float) -> str:
    """RFC 3339 time ``hours`` after T0 (Monday 2 November 2026, 09:00 UTC)."""
    return (T0 + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


_n = 0


def _eid(prefix: str) -> str:
    global _n
    _n += 1
    return f"{prefix}-{_n}"


def ev(source: str, type_: str, order_id: str | None, h: float, payload: dict[str, Any], event_id: str | None = None):
    e: dict[str, Any] = {
        "event_id": event_id or _eid(type_.split(".")[0]),
        "source": source,
        "type": type_,
        "occurred_at": at(h),
        "payload": payload,
    }
    if order_id is not None:
        e["order_id"] = order_id
    return e


def placed(oid="A1", h=0.0, *, number=None, value=120, items=None, customer=None, ship_by=None, event_id=None):
    payload: dict[str, Any] = {
        "order_number": number or oid.lstrip("A"),
        "customer": customer or {"id": "c-" + oid, "email": f"{oid.lower()}@example.com", "name": "Ann Lee"},
        "items": items or [{"sku": "MUG-BLU", "title": "Blue Mug", "qty": 1, "unit_price": value}],
        "order_value": value,
        "currency": "USD",
    }
    if ship_by is not None:
        payload["ship_by"] = at(ship_by)
    return ev("oms", "order.placed", oid, h, payload, event_id)


def fulfillment(oid="A1", h=1.0, sid="S1", items=None, event_id=None):
    return ev(
        "wms",
        "fulfillment.created",
        oid,
        h,
        {"shipment_id": sid, "items": items or [{"sku": "MUG-BLU", "qty": 1}]},
        event_id,
    )


def picked(oid="A1", h=2.0, sid="S1", event_id=None):
    return ev("wms", "pick.completed", oid, h, {"shipment_id": sid}, event_id)


def pick_exception(oid="A1", h=2.0, sid="S1", reason="short_pick", event_id=None):
    return ev("wms", "pick.exception", oid, h, {"shipment_id": sid, "reason": reason, "skus": ["MUG-BLU"]}, event_id)


def label(oid="A1", h=3.0, sid="S1", carrier="UPS", tracking="1Z999AA10123456784", event_id=None):
    return ev(
        "wms",
        "label.created",
        oid,
        h,
        {
            "shipment_id": sid,
            "carrier": carrier,
            "tracking_number": tracking,
            "tracking_url": f"https://track.example/{tracking}",
        },
        event_id,
    )


def scan(oid="A1", h=10.0, sid="S1", status="in_transit", detail=None, est=None, location=None, event_id=None):
    p: dict[str, Any] = {"shipment_id": sid, "status": status}
    if detail:
        p["detail"] = detail
    if est:
        p["est_delivery_at"] = est
    if location:
        p["location"] = location
    return ev("carrier", "tracking.updated", oid, h, p, event_id)


def eta(oid="A1", h=5.0, sku="MUG-BLU", when=None, event_id=None):
    return ev("supplier", "supplier.eta_changed", oid, h, {"sku": sku, "eta": when, "po_id": "PO-1"}, event_id)


def alloc_failed(oid="A1", h=1.0, sku="MUG-BLU", reason="reserved", event_id=None):
    return ev("supplier", "inventory.allocation_failed", oid, h, {"sku": sku, "reason": reason}, event_id)


def hold(oid="A1", h=1.0, hold_type="fraud_review", released=False, event_id=None):
    return ev(
        "oms", "order.hold_released" if released else "order.hold_placed", oid, h, {"hold_type": hold_type}, event_id
    )


def cancelled(oid="A1", h=1.0, event_id=None):
    return ev("oms", "order.cancelled", oid, h, {"reason": "customer request"}, event_id)


def ticket(
    oid="A1",
    h=20.0,
    text="Where is my order?",
    ticket_id="T1",
    channel="chat",
    author="customer",
    public=True,
    customer=None,
    order_number=None,
    event_id=None,
):
    p: dict[str, Any] = {"ticket_id": ticket_id, "channel": channel, "author": author, "public": public, "text": text}
    if customer:
        p["customer"] = customer
    if order_number:
        p["order_number"] = order_number
    return ev("ticket", "ticket.message", oid, h, p, event_id)


def tick(oid=None, h=30.0, event_id=None):
    return ev("clock", "clock.tick", oid, h, {}, event_id)


def review(oid, h, escalation_id, decision="approved", reviewer="U123", event_id=None):
    return ev(
        "review",
        "review.decision",
        oid,
        h,
        {"escalation_id": escalation_id, "decision": decision, "reviewer": reviewer, "rationale": "checked"},
        event_id,
    )


@dataclass
class Run:
    pipeline: Pipeline
    records: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def topic(self, name: str) -> list[dict[str, Any]]:
        return [r for t, r in self.records if t == name]

    def caused_by(self, event_id: str, topic: str | None = None) -> list[dict[str, Any]]:
        return [r for t, r in self.records if r.get("caused_by") == event_id and (topic is None or t == topic)]

    def decision(self, event_id: str) -> dict[str, Any]:
        found = self.caused_by(event_id, "wismo.decisions")
        assert len(found) == 1, f"expected one decision for {event_id}, got {len(found)}"
        return found[0]

    def customer_visible(self) -> list[dict[str, Any]]:
        return self.topic("wismo.replies")

    def feed(self, *events: dict[str, Any] | str) -> Run:
        """Process ``events``, then, as at the end of a replay's input, every follow-up due by the last one."""
        for e in events:
            raw = e if isinstance(e, str) else json.dumps(e)
            self._add(self.pipeline.process_line(raw))
        self._add(self.pipeline.end_of_input())
        return self

    def _add(self, outputs: list[tuple[str, Any]]) -> None:
        self.records.extend((t, rec.model_dump(mode="json")) for t, rec in outputs)


def make_policy(mode: str | None = "live", **overrides: Any) -> Policy:
    if not overrides:
        pol = load_policy()
    else:
        base = load_policy().model_dump(mode="json")
        for k, v in overrides.items():
            if isinstance(v, dict) and isinstance(base.get(k), dict):
                base[k].update(v)
            else:
                base[k] = v
        pol = policy_from_mapping(base)
    return pol.with_mode_override(mode) if mode else pol  # type: ignore[arg-type]


def run(
    *events: dict[str, Any] | str, mode: str | None = "live", policy: Policy | None = None, **overrides: Any
) -> Run:
    return Run(Pipeline(policy or make_policy(mode, **overrides))).feed(*events)
