"""Case-level rows (restricted hold, delivered-not-received, repeated contact) carry the order's own route,
so a handler run for the underlying condition reads that route's shipments, reason and inputs (blind spec
check D1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from builders import fulfillment, picked, placed, run, ticket
from wismo.processors.routing import route

from wismo.case import CaseState, Contact
from wismo.context import Item, OrderContext, SupplierEta
from wismo.policy import Thresholds

NOW = datetime(2026, 11, 4, 12, tzinfo=UTC)


def _backorder_ctx() -> OrderContext:
    ctx = OrderContext(order_id="A1", known=True, placed_at=NOW - timedelta(days=2))
    ctx.items = [Item(sku="MUG-BLU", title="Blue Mug", qty=1)]
    ctx.supplier_etas["MUG-BLU"] = SupplierEta(sku="MUG-BLU", eta=NOW.date() + timedelta(days=16), changed_at=NOW)
    return ctx


def _contact(n: int) -> Contact:
    return Contact(event_id=f"t-{n}", ticket_id="T1", channel="email", at=NOW - timedelta(hours=n), intents=[])


def test_every_case_level_row_carries_the_underlying_route():
    ctx = _backorder_ctx()
    case = CaseState(wismo_case_id="WC-A1-1", order_id="A1", opened_at=NOW, contacts=[_contact(1), _contact(2)])
    repeated = route(ctx, case, NOW, Thresholds())
    assert repeated.condition == "repeated_contact"
    assert repeated.order_route.condition == "supplier_backorder"
    assert repeated.order_route.inputs["skus"] == ["MUG-BLU"]
    ctx.holds["fraud_review"] = NOW
    held = route(ctx, case, NOW, Thresholds())
    assert held.condition == "restricted_hold"
    assert held.order_route.inputs["skus"] == ["MUG-BLU"]
    del ctx.holds["fraud_review"]
    direct = route(ctx, CaseState(wismo_case_id="WC-A1-2", order_id="A1", opened_at=NOW), NOW, Thresholds())
    assert direct.condition == "supplier_backorder"
    assert direct.order_route is direct


def test_repeated_contact_on_pick_delay_states_the_pick_delay_reason():
    r = run(placed(), fulfillment(), picked(), ticket(h=47), t2 := ticket(h=49, ticket_id="T2"))
    [esc] = r.caused_by(t2["event_id"], "wismo.escalations")
    assert "Underlying condition warehouse_pick_delay: not shipped and past the fulfilment SLA" in esc["text"]
