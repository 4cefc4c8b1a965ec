"""Live look-ups (policy ``lookups``) through a real worker, Kafka and Redis, against stand-in OMS and carrier
REST endpoints served by aiohttp on loopback: a contact about an order wismo has no events for is answered
from the OMS's events; a failure (error status, timeout) routes it to missing_order_data naming the system;
after repeated failures the circuit opens and the OMS is no longer called."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from aiohttp import web
from test_worker_parity import Harness

from wismo.policy import load_policy, policy_from_mapping
from wismo.state_keys import LOOKUP_BREAKER_FAILURES

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def ev(event_id: str, etype: str, source: str, order_id: str | None, hours: float, payload: dict[str, Any]) -> bytes:
    obj: dict[str, Any] = {
        "event_id": event_id,
        "source": source,
        "type": etype,
        "occurred_at": (T0 + timedelta(hours=hours)).isoformat(),
        "payload": payload,
    }
    if order_id is not None:
        obj["order_id"] = order_id
    return orjson.dumps(obj)


def order_events(order_id: str) -> list[dict[str, Any]]:
    placed = {
        "order_number": order_id,
        "customer": {"id": f"c-{order_id}", "email": f"{order_id.lower()}@example.com", "name": "Sam"},
        "items": [{"sku": "MUG", "title": "Stoneware mug", "qty": 1, "unit_price": 18}],
        "order_value": 18,
        "currency": "USD",
    }
    lines = [
        ev(f"oms-{order_id}-1", "order.placed", "oms", order_id, 0, placed),
        ev(
            f"wms-{order_id}-1",
            "fulfillment.created",
            "wms",
            order_id,
            2,
            {"shipment_id": "S1", "items": [{"sku": "MUG", "qty": 1}]},
        ),
        ev(
            f"wms-{order_id}-2",
            "label.created",
            "wms",
            order_id,
            5,
            {"shipment_id": "S1", "carrier": "UPS", "tracking_number": f"1Z{order_id}"},
        ),
    ]
    return [orjson.loads(x) for x in lines]


def ticket(event_id: str, order_id: str, hours: float) -> bytes:
    payload = {
        "ticket_id": f"ZD-{event_id}",
        "channel": "email",
        "author": "customer",
        "public": True,
        "text": "Hi, where is my order? It has been days.",
    }
    return ev(event_id, "ticket.message", "ticket", order_id, hours, payload)


class StandIn:
    """OMS and carrier endpoints. ``behaviour[order_id]``: ``ok`` (events), ``500``, ``slow`` (answers after the
    worker's timeout), ``404``. Counts every call per path."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.behaviour: dict[str, str] = {}
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/orders/{order_id}/events", self.oms)
        app.router.add_get("/tracking/{tracking}", self.carrier)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def oms(self, request: web.Request) -> web.Response:
        order_id = request.match_info["order_id"]
        self.calls[f"oms:{order_id}"] += 1
        how = self.behaviour.get(order_id, "404")
        if how == "500":
            return web.Response(status=500)
        if how == "slow":
            await asyncio.sleep(2)  # the policy's timeout is 0.3 s: the worker has given up by then
        if how == "404":
            return web.Response(status=404)
        return web.json_response(order_events(order_id))

    async def carrier(self, request: web.Request) -> web.Response:
        tracking = request.match_info["tracking"]
        self.calls[f"carrier:{tracking}"] += 1
        order_id = tracking.removeprefix("1Z")
        scan = ev(
            f"ups-{order_id}-1",
            "tracking.updated",
            "carrier",
            order_id,
            30,
            {"shipment_id": "S1", "status": "out_for_delivery", "location": "Springfield"},
        )
        return web.json_response({"events": [orjson.loads(scan)]})


def lookup_policy(port: int, *, carrier: bool = True) -> Any:
    lookups: dict[str, Any] = {
        "oms": {"url": f"http://127.0.0.1:{port}/orders/{{order_id}}/events", "timeout_seconds": 0.3}
    }
    if carrier:
        lookups["carrier"] = {"url": f"http://127.0.0.1:{port}/tracking/{{tracking_number}}", "timeout_seconds": 0.3}
    base = load_policy(None).model_dump(mode="json")
    base["lookups"] = lookups
    base["modes"] = {"default": "live"}
    return policy_from_mapping(base)


@pytest.fixture(scope="module")
def setup(kafka_bootstrap: str, redis_server: Any) -> Iterator[tuple[Harness, StandIn]]:
    stand_in = StandIn()
    probe = Harness(kafka_bootstrap, redis_server.url)  # only for its event loop, to serve the stand-in
    probe.run(stand_in.start())
    h = Harness(kafka_bootstrap, redis_server.url, lookup_policy(stand_in.port), own_keys=True)
    h.run(h.start())
    try:
        yield h, stand_in
    finally:
        h.run(h.stop())
        h.close()
        probe.run(stand_in.stop())
        probe.close()


def _uid() -> str:
    return "L" + uuid.uuid4().hex[:6].upper()


def test_unknown_order_is_answered_from_the_oms(setup: tuple[Harness, StandIn]) -> None:
    h, stand_in = setup
    oid = _uid()
    stand_in.behaviour[oid] = "ok"
    got = h.run(h.scenario([ticket(f"t1-{oid}", oid, 6)]))
    decision = next(d for d in got["wismo.decisions"] if d["caused_by"] == f"t1-{oid}")
    assert decision["condition_type"] != "missing_order_data"
    replies = [r for r in got["wismo.replies"] if r["caused_by"] == f"t1-{oid}"]
    assert replies and "UPS" in replies[0]["text"], replies
    assert stand_in.calls[f"oms:{oid}"] == 1
    # The looked-up events are now the order's context: the next contact needs no look-up.
    got = h.run(h.scenario([ticket(f"t2-{oid}", oid, 7)]))
    assert stand_in.calls[f"oms:{oid}"] == 1
    assert any(
        d["caused_by"] == f"t2-{oid}" and d["condition_type"] != "missing_order_data" for d in got["wismo.decisions"]
    )


def test_carrier_is_asked_when_a_labelled_shipment_has_no_scan(setup: tuple[Harness, StandIn]) -> None:
    h, stand_in = setup
    oid = _uid()
    lines = [orjson.dumps(e) for e in order_events(oid)]
    h.run(h.scenario(lines))
    got = h.run(h.scenario([ticket(f"t1-{oid}", oid, 31)]))
    assert stand_in.calls[f"carrier:1Z{oid}"] == 1
    replies = [r for r in got["wismo.replies"] if r["caused_by"] == f"t1-{oid}"]
    assert replies and "out for delivery" in replies[0]["text"].lower(), replies


@pytest.mark.parametrize(("how", "named"), [("500", "HTTP 500"), ("slow", "timed out after 0.3 s")])
def test_a_failed_lookup_routes_to_missing_order_data_naming_the_system(
    setup: tuple[Harness, StandIn], how: str, named: str
) -> None:
    h, stand_in = setup
    oid = _uid()
    stand_in.behaviour[oid] = how
    got = h.run(h.scenario([ticket(f"t1-{oid}", oid, 6)]))
    decision = next(d for d in got["wismo.decisions"] if d["caused_by"] == f"t1-{oid}")
    assert decision["condition_type"] == "missing_order_data"
    escalation = next(r for r in got["wismo.escalations"] if r["caused_by"] == f"t1-{oid}")
    assert f"order management system (live look-up failed: {named})" in escalation["internal_summary"]
    assert h.worker.lookups is not None and h.worker.lookups.tool_failures["oms"] >= 1


def test_the_circuit_opens_after_repeated_failures(kafka_bootstrap: str, redis_server: Any) -> None:
    stand_in = StandIn()
    probe = Harness(kafka_bootstrap, redis_server.url)
    probe.run(stand_in.start())
    h = Harness(kafka_bootstrap, redis_server.url, lookup_policy(stand_in.port, carrier=False), own_keys=True)
    h.run(h.start())
    try:
        oids = [_uid() for _ in range(LOOKUP_BREAKER_FAILURES + 2)]
        for oid in oids:
            stand_in.behaviour[oid] = "500"
        got: dict[str, list[dict[str, Any]]] = {}
        for n, oid in enumerate(oids):
            for topic, recs in h.run(h.scenario([ticket(f"t-{oid}", oid, 6 + n)])).items():
                got.setdefault(topic, []).extend(recs)
    finally:
        h.run(h.stop())
        h.close()
        probe.run(stand_in.stop())
        probe.close()
    assert sum(stand_in.calls.values()) == LOOKUP_BREAKER_FAILURES, stand_in.calls
    summaries = {r["caused_by"]: r["internal_summary"] for r in got["wismo.escalations"]}
    assert all("HTTP 500" in summaries[f"t-{oid}"] for oid in oids[:LOOKUP_BREAKER_FAILURES])
    assert all("circuit open" in summaries[f"t-{oid}"] for oid in oids[LOOKUP_BREAKER_FAILURES:])
