"""The hot-path shortcuts give exactly what the general code they stand in for gives."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from wismo.handlers.phrasing import collect_dates, ordered_shipments, shipment_labels
from wismo.processors.routing import _any_unshipped

from wismo.context import Item, OrderContext, Shipment
from wismo.ids import action_id, decision_id, stable_id
from wismo.timefmt import hours, local_date, zone

T0 = datetime(2026, 10, 3, 23, 30, tzinfo=UTC)


@pytest.mark.parametrize("caused_by", ["carrier-1", "", "é—x", "a\x1fb", "followup:WC-O1-1:2026-10-03T23:30:00+00:00"])
@pytest.mark.parametrize("case_id", ["WC-O1-1", "", "WC-ticket:T1-2"])
def test_ids_match_stable_id(caused_by: str, case_id: str) -> None:
    assert decision_id(caused_by, case_id) == stable_id("dec", caused_by, case_id)
    for kind in ("reply", "internal_note", "escalation", "action_draft"):
        assert action_id(caused_by, case_id, kind) == stable_id("act", caused_by, case_id, kind, "")
        for sub in ("review", "refund", "act_0123"):
            assert action_id(caused_by, case_id, kind, sub) == stable_id("act", caused_by, case_id, kind, sub)


@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Asia/Tokyo"])
@pytest.mark.parametrize(
    "value",
    [
        T0,
        T0 + timedelta(minutes=45),
        datetime(2026, 10, 3, 23, 30, tzinfo=timezone(timedelta(hours=5))),
        datetime(2026, 10, 3, 23, 30, tzinfo=zone("UTC")),
        date(2026, 10, 3),
    ],
)
def test_local_date_shortcut(value: datetime | date, tz: str) -> None:
    expected = value.astimezone(zone(tz)).date() if isinstance(value, datetime) else value
    assert local_date(value, tz) == expected


def test_hours_is_timedelta() -> None:
    assert hours(48) == timedelta(hours=48) == hours(48.0)
    assert hours(0.5) == timedelta(minutes=30)


def _ctx(items: dict[str, int], shipments: list[tuple[str, dict[str, int], bool]]) -> OrderContext:
    ctx = OrderContext(order_id="O1", known=True, items=[Item(sku=s, title=s, qty=q) for s, q in items.items()])
    for i, (sid, units, scanned) in enumerate(shipments):
        ctx.shipments[sid] = Shipment(
            shipment_id=sid,
            items=units,
            created_at=T0 - timedelta(hours=10 - i),
            first_physical_scan_at=T0 if scanned else None,
        )
    return ctx


@pytest.mark.parametrize(
    "items, shipments",
    [
        ({"A": 1}, [("S1", {"A": 1}, True)]),
        ({"A": 2}, [("S1", {"A": 1}, True)]),
        ({"A": 1, "B": 1}, [("S1", {"A": 1}, True), ("S2", {"B": 1}, False)]),
        ({"A": 1, "B": 1}, [("S1", {"A": 1}, True), ("S2", {"B": 1}, True)]),
        ({"A": 3}, [("S1", {"A": 1}, True), ("S2", {"A": 2}, True)]),
        ({"A": 3}, [("S1", {"A": 1}, True), ("S2", {"A": 1}, True)]),
    ],
)
def test_any_unshipped_matches_unshipped_units(
    items: dict[str, int], shipments: list[tuple[str, dict[str, int], bool]]
) -> None:
    ctx = _ctx(items, shipments)
    scanned = [s for s in ctx.shipments.values() if s.physically_scanned]
    assert _any_unshipped(ctx, scanned) == bool(ctx.unshipped_units())


def test_single_shipment_order_and_labels() -> None:
    ctx = _ctx({"A": 1}, [("S1", {"A": 1}, True)])
    assert ordered_shipments(ctx) == list(ctx.shipments.values())
    assert shipment_labels(ctx) == {"S1": "your package"}
    two = _ctx({"A": 1, "B": 1}, [("S2", {"B": 1}, True), ("S1", {"A": 1}, True)])
    assert [s.shipment_id for s in ordered_shipments(two)] == ["S2", "S1"]  # S2 was created first
    assert shipment_labels(two) == {"S2": "Package 1", "S1": "Package 2"}


@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_collect_dates_matches_local_date(tz: str) -> None:
    ctx = _ctx({"A": 1}, [("S1", {"A": 1}, True)])
    ctx.placed_at = T0 - timedelta(days=2)
    ctx.ship_by = datetime(2026, 10, 4, 1, 0, tzinfo=timezone(timedelta(hours=-7)))
    ctx.shipments["S1"].est_delivery = date(2026, 10, 7)
    extra: list[datetime | date | None] = [T0 + timedelta(hours=3), None, date(2026, 10, 9)]
    values = [*extra, ctx.placed_at, ctx.ship_by, ctx.shipments["S1"].created_at, T0, date(2026, 10, 7)]
    assert collect_dates(ctx, tz, extra) == frozenset(local_date(v, tz) for v in values if v is not None)
