"""Shopify hold webhooks that name only the fulfillment order, end to end: the ingest asks the Shopify Admin
GraphQL API (a real aiohttp stand-in on loopback) for the order, caches it in Redis and publishes the hold keyed
by the order id; what cannot be found is dead-lettered, and what cannot be asked now answers 503.

The webhook bodies follow Shopify's documented sample payloads of ``fulfillment_orders/placed_on_hold`` and
``fulfillment_orders/hold_released``
(https://shopify.dev/docs/api/webhooks/2025-01?reference=toml#list-of-topics-fulfillment_orders/placed_on_hold),
with this shop's ids and a fraud hold.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from conftest import run_async
from pydantic import SecretStr
from test_ingest import Ingest, only_topic, published, running_ingest

from wismo.records import TOPIC_DLQ
from wismo.state_keys import INDEX_TTL

TOKEN = "shpat_standin-token"
API_VERSION = "2025-01"
ORDER_ID = "450789469"
KNOWN_FO = "1046000790"
UNKNOWN_FO = "1046000799"
TRIGGERED = "2026-11-02T14:05:00.877041743Z"


def fo_gid(number: str) -> str:
    return f"gid://shopify/FulfillmentOrder/{number}"


# ---- the Shopify Admin GraphQL API stand-in -------------------------------------------------------------------


@dataclass
class AdminStandIn:
    """``POST /admin/api/2025-01/graphql.json``: answers ``fulfillmentOrder(id:)`` with the order GID of a known
    fulfillment order, ``null`` for an unknown one; 401 without the right token. A fulfillment order in
    ``failing`` gets a 500, one in ``stalled`` no answer until ``release`` is set."""

    orders: dict[str, str] = field(default_factory=lambda: {fo_gid(KNOWN_FO): f"gid://shopify/Order/{ORDER_ID}"})
    failing: set[str] = field(default_factory=set)
    stalled: set[str] = field(default_factory=set)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    asked: list[str] = field(default_factory=list)
    """fulfillment order GIDs asked with the right token, in order"""
    refused: int = 0
    url: str = ""

    async def graphql(self, request: web.Request) -> web.Response:
        if request.headers.get("X-Shopify-Access-Token") != TOKEN:
            self.refused += 1
            return web.json_response({"errors": "[API] Invalid API key or access token"}, status=401)
        body = await request.json()
        fo = body["variables"]["id"]
        self.asked.append(fo)
        if fo in self.stalled:
            await self.release.wait()
        if fo in self.failing:
            return web.json_response({"errors": "Internal Server Error"}, status=500)
        order = self.orders.get(fo)
        node = {"id": fo, "orderId": order} if order else None
        return web.json_response({"data": {"fulfillmentOrder": node}, "extensions": {"cost": {"actualQueryCost": 1}}})


@asynccontextmanager
async def admin_standin() -> AsyncIterator[AdminStandIn]:
    standin = AdminStandIn()
    app = web.Application()
    app.router.add_post(f"/admin/api/{API_VERSION}/graphql.json", standin.graphql)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    standin.url = str(server.make_url("")).rstrip("/")
    try:
        yield standin
    finally:
        standin.release.set()
        await server.close()


def lookup_settings(standin: AdminStandIn, **extra: Any) -> dict[str, Any]:
    return {
        "shopify_api_url": standin.url,
        "shopify_admin_token": SecretStr(TOKEN),
        "shopify_api_version": API_VERSION,
        **extra,
    }


# ---- Shopify's webhooks ---------------------------------------------------------------------------------------


def placed_on_hold(fo: str, hold_id: str = "77", reason: str = "high_risk_of_fraud") -> bytes:
    hold = {
        "id": f"gid://shopify/FulfillmentHold/{hold_id}",
        "reason": reason,
        "reason_notes": "Flagged by the fraud analysis",
        "held_by_requesting_app": False,
        "handle": "",
        "held_by_app": {"id": "gid://shopify/App/12345"},
    }
    body = {
        "fulfillment_order": {"id": fo_gid(fo), "status": "on_hold", "fulfillment_holds": [hold]},
        "remaining_fulfillment_order": None,
        "held_fulfillment_order_line_items": [{"id": "gid://shopify/FulfillmentOrderLineItem/3", "quantity": 1}],
        "created_fulfillment_hold": hold,
    }
    return orjson.dumps(body)


def hold_released(fo: str) -> bytes:
    return orjson.dumps({"fulfillment_order": {"id": fo_gid(fo), "status": "open"}})


async def deliver(ingest: Ingest, topic: str, body: bytes, event_id: str) -> tuple[int, dict[str, Any]]:
    status, text = await ingest.signed(
        "shopify",
        body,
        **{
            "X-Shopify-Topic": topic,
            "X-Shopify-Triggered-At": TRIGGERED,
            "X-Shopify-Event-Id": event_id,
            "X-Shopify-Webhook-Id": f"wh-{event_id}",
        },
    )
    return status, orjson.loads(text)


def run_with_standin(kafka_bootstrap: str, redis_url: str, scenario: Any, **overrides: Any) -> None:
    async def main() -> None:
        async with admin_standin() as standin:
            settings = lookup_settings(standin, **overrides)
            async with running_ingest(kafka_bootstrap, redis_url, overrides=settings) as ingest:
                await scenario(ingest, standin)

    run_async(main())


# ---- tests ------------------------------------------------------------------------------------------------------


def test_hold_is_published_for_the_order_shopify_names_and_the_answer_is_cached(
    kafka_bootstrap: str, redis_url: str
) -> None:
    async def scenario(ingest: Ingest, standin: AdminStandIn) -> None:
        status, summary = await deliver(ingest, "fulfillment_orders/placed_on_hold", placed_on_hold(KNOWN_FO), "ev-1")
        assert (status, summary["status"]) == (202, "accepted"), summary
        [(key, event)] = only_topic(await ingest.records(), "wismo.in.oms")
        assert key == ORDER_ID.encode()
        assert (event["type"], event["order_id"], event["payload"]["hold_type"]) == (
            "order.hold_placed",
            ORDER_ID,
            "fraud_review",
        )
        assert standin.asked == [fo_gid(KNOWN_FO)]
        cache = ingest.keys.by_fulfillment_order(KNOWN_FO)
        assert await ingest.redis.get(cache) == ORDER_ID.encode()
        assert INDEX_TTL - 60 < await ingest.redis.ttl(cache) <= INDEX_TTL

        # The release of the same fulfillment order: the order comes from Redis, Shopify is not asked again.
        status, summary = await deliver(ingest, "fulfillment_orders/hold_released", hold_released(KNOWN_FO), "ev-2")
        assert status == 202, summary
        oms = only_topic(await ingest.records(), "wismo.in.oms")
        released = [e for _, e in oms if e["type"] == "order.hold_released"]
        assert {e["order_id"] for e in released} == {ORDER_ID}
        assert "fraud_review" in {e["payload"]["hold_type"] for e in released}
        assert standin.asked == [fo_gid(KNOWN_FO)]

    run_with_standin(kafka_bootstrap, redis_url, scenario)


def test_a_hold_that_names_its_order_does_not_ask_shopify(kafka_bootstrap: str, redis_url: str) -> None:
    body = orjson.loads(placed_on_hold(KNOWN_FO))
    body["fulfillment_order"]["order_id"] = 820982911946154508

    async def scenario(ingest: Ingest, standin: AdminStandIn) -> None:
        status, summary = await deliver(ingest, "fulfillment_orders/placed_on_hold", orjson.dumps(body), "ev-3")
        assert status == 202, summary
        [(key, _)] = only_topic(await ingest.records(), "wismo.in.oms")
        assert key == b"820982911946154508"
        assert standin.asked == []

    run_with_standin(kafka_bootstrap, redis_url, scenario)


def test_unknown_fulfillment_order_is_dead_lettered_naming_it(kafka_bootstrap: str, redis_url: str) -> None:
    body = placed_on_hold(UNKNOWN_FO)

    async def scenario(ingest: Ingest, standin: AdminStandIn) -> None:
        status, summary = await deliver(ingest, "fulfillment_orders/placed_on_hold", body, "ev-4")
        assert (status, summary["dead_letters"], summary["events"]) == (202, 1, 0), summary
        [(_, dl)] = only_topic(await ingest.records(), TOPIC_DLQ)
        assert f"fulfillment order {UNKNOWN_FO}" in dl["reason"]
        assert dl["original"] == body.decode()
        assert standin.asked == [fo_gid(UNKNOWN_FO)]
        assert await ingest.redis.get(ingest.keys.by_fulfillment_order(UNKNOWN_FO)) is None

    run_with_standin(kafka_bootstrap, redis_url, scenario)


def test_a_refused_token_is_dead_lettered_saying_what_to_check(kafka_bootstrap: str, redis_url: str) -> None:
    async def scenario(ingest: Ingest, standin: AdminStandIn) -> None:
        status, _ = await deliver(ingest, "fulfillment_orders/placed_on_hold", placed_on_hold(KNOWN_FO), "ev-5")
        assert status == 202
        [(_, dl)] = only_topic(await ingest.records(), TOPIC_DLQ)
        assert "WISMO_SHOPIFY_ADMIN_TOKEN" in dl["reason"] and KNOWN_FO in dl["reason"]
        assert (standin.refused, standin.asked) == (1, [])

    run_with_standin(kafka_bootstrap, redis_url, scenario, shopify_admin_token=SecretStr("shpat_wrong"))


@pytest.mark.parametrize("failure", ["http_500", "no_answer"])
def test_api_failure_is_503_with_nothing_published_and_the_retry_is_accepted(
    kafka_bootstrap: str, redis_url: str, failure: str
) -> None:
    body = placed_on_hold(KNOWN_FO)

    async def scenario(ingest: Ingest, standin: AdminStandIn) -> None:
        broken = standin.failing if failure == "http_500" else standin.stalled
        broken.add(fo_gid(KNOWN_FO))
        status, summary = await deliver(ingest, "fulfillment_orders/placed_on_hold", body, "ev-6")
        assert status == 503, summary
        assert KNOWN_FO in summary["error"]
        assert published(await ingest.records()) == 0
        assert await ingest.redis_keys() == [], "no claim, no cache entry: the retry starts afresh"
        # A 500 is retried once at once; a request that gets no answer uses up the time budget.
        assert len(standin.asked) == (2 if failure == "http_500" else 1)

        broken.clear()  # the API recovers; Shopify retries the same delivery
        status, summary = await deliver(ingest, "fulfillment_orders/placed_on_hold", body, "ev-6")
        assert (status, summary["status"]) == (202, "accepted"), summary
        [(key, event)] = only_topic(await ingest.records(), "wismo.in.oms")
        assert (key, event["payload"]["hold_type"]) == (ORDER_ID.encode(), "fraud_review")

    run_with_standin(kafka_bootstrap, redis_url, scenario, shopify_admin_timeout_seconds=0.5)


def test_without_the_admin_api_settings_the_hold_is_dead_lettered_saying_what_to_set(
    kafka_bootstrap: str, redis_url: str
) -> None:
    async def main() -> None:
        async with running_ingest(kafka_bootstrap, redis_url) as ingest:
            status, _ = await deliver(ingest, "fulfillment_orders/placed_on_hold", placed_on_hold(KNOWN_FO), "ev-7")
            assert status == 202
            [(_, dl)] = only_topic(await ingest.records(), TOPIC_DLQ)
            assert KNOWN_FO in dl["reason"]
            assert "WISMO_SHOPIFY_SHOP_DOMAIN" in dl["reason"] and "WISMO_SHOPIFY_ADMIN_TOKEN" in dl["reason"]

    run_async(main())
