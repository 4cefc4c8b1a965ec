"""What the ingest reads from Redis before calling an adapter: which order and shipment a carrier webhook's
tracking number belongs to (the worker writes ``Keys.by_tracking`` when a label is created), and which order a
Shopify fulfillment order belongs to (``Keys.by_fulfillment_order``, written here after the Shopify Admin API
named it: :func:`resolve_fulfillment_order`).

:func:`tracking_numbers` and :func:`fulfillment_order_to_resolve` are pure and never raise; :func:`load_lookups`
raises ``redis`` errors (the ingest answers 503 then, and the provider retries). A malformed index value counts
as no link, so the adapter dead-letters the webhook as unlinked rather than guessing (and a malformed
fulfillment-order entry is asked of the API again and overwritten).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from wismo.processors.adapters.base import ShipmentRef, StaticLookups
from wismo.processors.adapters.shopify import TOPICS as SHOPIFY_TOPICS
from wismo.streams.shopify_admin import Answer, Found, ShopifyAdmin, Unresolvable

from wismo.state_keys import INDEX_TTL, Keys, parse_tracking_ref

log = logging.getLogger("wismo.ingest")

FULFILLMENT_ORDER_TOPICS = frozenset(
    t for t in SHOPIFY_TOPICS if t.startswith(("fulfillment_orders/", "fulfillment_holds/"))
)
"""Shopify topics the adapter maps whose bodies name the fulfillment order and may lack its order id."""


def _at(obj: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(name)
    return obj


def tracking_numbers(provider: str, body: Any) -> list[str]:
    """Tracking numbers a carrier delivery is about: EasyPost ``result.tracking_code`` (a Tracker event),
    AfterShip ``msg.tracking_number``. Empty for other providers and for bodies without one."""
    if provider == "easypost":
        found = _at(body, "result", "tracking_code")
    elif provider == "aftership":
        found = _at(body, "msg", "tracking_number")
    else:
        return []
    return [found] if isinstance(found, str) and found else []


def parse_shipment_ref(value: bytes | str | None) -> ShipmentRef | None:
    """A ``Keys.by_tracking`` value, or None when it is absent or malformed."""
    if value is None:
        return None
    parsed = parse_tracking_ref(value.decode("utf-8", "replace") if isinstance(value, bytes) else value)
    return ShipmentRef(order_id=parsed[0], shipment_id=parsed[1]) if parsed is not None else None


def fulfillment_order_to_resolve(provider: str, headers: Mapping[str, str], body: Any) -> str | None:
    """The numeric id of the fulfillment order whose order the ingest must find before the adapter can map this
    delivery: a Shopify hold webhook (:data:`FULFILLMENT_ORDER_TOPICS`, header ``x-shopify-topic``) whose
    ``fulfillment_order`` has an ``id`` (``1046000790`` or ``gid://shopify/FulfillmentOrder/1046000790``) and no
    ``order_id``. None for anything else, including a body without a usable fulfillment order id (the adapter
    then dead-letters it naming the field)."""
    if provider != "shopify" or headers.get("x-shopify-topic") not in FULFILLMENT_ORDER_TOPICS:
        return None
    fo = _at(body, "fulfillment_order")
    if not isinstance(fo, dict) or fo.get("order_id") is not None:
        return None
    raw = fo.get("id")
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        return None
    text = str(raw).strip()
    number = text.rsplit("/", 1)[-1] if text.startswith("gid://") else text
    return number if number.isascii() and number.isdigit() else None


async def load_lookups(
    redis: Redis, keys: Keys, numbers: Sequence[str], fulfillment_orders: Sequence[str] = ()
) -> StaticLookups:
    """The shipments linked to tracking ``numbers`` and the cached orders of ``fulfillment_orders`` (one MGET);
    entries without a valid value are left out."""
    if not numbers and not fulfillment_orders:
        return StaticLookups()
    names = [keys.by_tracking(n) for n in numbers] + [keys.by_fulfillment_order(f) for f in fulfillment_orders]
    values = await redis.mget(names)
    shipments = {}
    for number, value in zip(numbers, values[: len(numbers)], strict=True):
        ref = parse_shipment_ref(value)
        if ref is not None:
            shipments[number] = ref
    orders = {}
    for fo_id, value in zip(fulfillment_orders, values[len(numbers) :], strict=True):
        order_id = parse_order_id(value)
        if order_id is not None:
            orders[fo_id] = order_id
    return StaticLookups(shipments, orders)


def parse_order_id(value: bytes | str | None) -> str | None:
    """A ``Keys.by_fulfillment_order`` value (a numeric Shopify order id), or None when absent or malformed."""
    if value is None:
        return None
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return text if text.isascii() and text.isdigit() else None


async def resolve_fulfillment_order(redis: Redis, keys: Keys, admin: ShopifyAdmin | None, fo_id: str) -> Answer:
    """Ask the Shopify Admin API for the order of fulfillment order ``fo_id`` (not in the cache) and cache a
    found order under ``Keys.by_fulfillment_order`` (TTL ``INDEX_TTL``). Never raises: without ``admin`` the
    answer is :class:`Unresolvable` naming the settings to set; a failed cache write is logged (the next
    delivery for that fulfillment order asks the API again)."""
    if admin is None:
        return Unresolvable(
            f"the webhook names only fulfillment order {fo_id}, not its order, and the Shopify Admin API look-up "
            "is not configured: set WISMO_SHOPIFY_SHOP_DOMAIN and WISMO_SHOPIFY_ADMIN_TOKEN"
        )
    answer = await admin.order_of(fo_id)
    if isinstance(answer, Found):
        try:
            await redis.set(keys.by_fulfillment_order(fo_id), answer.order_id, ex=INDEX_TTL)
        except (RedisError, OSError) as exc:
            log.warning("fulfillment order %s -> order %s not cached: %s", fo_id, answer.order_id, exc)
    return answer
