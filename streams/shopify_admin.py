"""Which order a Shopify fulfillment order belongs to, asked of the Shopify Admin GraphQL API.

Shopify's hold webhooks (``fulfillment_orders/placed_on_hold``, ``fulfillment_orders/hold_released``,
``fulfillment_holds/*``) name only the fulfillment order. The ingest then asks the shop::

    POST https://<shop domain>/admin/api/<version>/graphql.json      header X-Shopify-Access-Token: <token>
    query($id: ID!) { fulfillmentOrder(id: $id) { id orderId } }      id: gid://shopify/FulfillmentOrder/<n>

``orderId`` (API 2023-10 and later) is the order's GID, ``gid://shopify/Order/<n>``, whose number is the REST
order ``id`` (the GraphQL ``legacyResourceId``) that the Shopify adapter uses as ``order_id``. It is read with
any fulfillment-orders scope, while ``fulfillmentOrder.order`` would also need ``read_orders``
(https://shopify.dev/changelog/more-information-about-the-order-added-to-the-fulfillmentorder-api).

:meth:`ShopifyAdmin.order_of` never raises. It answers :class:`Found`; :class:`Unresolvable` when asking again
cannot help (Shopify has no such fulfillment order, refuses the token, or there is no shop at the URL: the
ingest dead-letters the webhook with the reason); or :class:`Unavailable` when it may help later (unreachable,
timeout, 5xx, throttled, an unreadable answer: the ingest answers 503 and Shopify retries the webhook). One
retry at most, right after a connection failure or a 5xx, and only within the time budget of the whole call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from wismo.ingest_settings import IngestSettings

log = logging.getLogger("wismo.ingest.shopify_admin")

QUERY = "query($id: ID!) { fulfillmentOrder(id: $id) { id orderId } }"
ORDER_GID_PREFIX = "gid://shopify/Order/"
FULFILLMENT_ORDER_GID_PREFIX = "gid://shopify/FulfillmentOrder/"
_TRANSIENT_CODES = frozenset({"THROTTLED", "INTERNAL_SERVER_ERROR"})
_SCOPE_HINT = "its app needs read_merchant_managed_fulfillment_orders (and read_third_party_fulfillment_orders)"


@dataclass(frozen=True, slots=True)
class Found:
    """The fulfillment order's order id (numeric, as the Shopify adapter's ``order_id``)."""

    order_id: str


@dataclass(frozen=True, slots=True)
class Unresolvable:
    """Asking again cannot help; ``reason`` names the fulfillment order and what a person should check."""

    reason: str


@dataclass(frozen=True, slots=True)
class Unavailable:
    """The API could not answer now; a later attempt may succeed."""

    reason: str


Answer = Found | Unresolvable | Unavailable


def graphql_url(shop_domain: str | None, api_version: str, base_url: str | None = None) -> str:
    """The GraphQL endpoint: ``base_url`` (else ``https://<shop_domain>``) + ``/admin/api/<version>/graphql.json``.
    A domain given with a scheme or a trailing slash is accepted."""
    base = (base_url or "").strip().rstrip("/")
    if not base:
        domain = (shop_domain or "").strip().removeprefix("https://").removeprefix("http://").strip("/")
        base = f"https://{domain}"
    return f"{base}/admin/api/{api_version}/graphql.json"


def fulfillment_order_gid(fulfillment_order_id: str) -> str:
    return f"{FULFILLMENT_ORDER_GID_PREFIX}{fulfillment_order_id}"


def _error_codes_and_text(errors: Any) -> tuple[set[str], str]:
    if isinstance(errors, str):
        return set(), errors[:300]
    codes: set[str] = set()
    messages: list[str] = []
    for error in errors if isinstance(errors, list) else [errors]:
        if isinstance(error, dict):
            ext = error.get("extensions")
            if isinstance(ext, dict) and isinstance(ext.get("code"), str):
                codes.add(ext["code"])
            messages.append(str(error.get("message", error)))
        else:
            messages.append(str(error))
    return codes, "; ".join(messages)[:300]


def interpret(status: int, body: bytes, fulfillment_order_id: str) -> Answer:
    """What one HTTP answer of the GraphQL endpoint means for fulfillment order ``fulfillment_order_id``. Pure."""
    fo = f"fulfillment order {fulfillment_order_id}"
    if status in (401, 403):
        return Unresolvable(
            f"the Shopify Admin API refused the token (HTTP {status}) when asked for the order of {fo}: check "
            f"WISMO_SHOPIFY_ADMIN_TOKEN; {_SCOPE_HINT}"
        )
    if status == 404:
        return Unresolvable(
            f"the Shopify Admin API answered 404 when asked for the order of {fo}: check WISMO_SHOPIFY_SHOP_DOMAIN "
            "and WISMO_SHOPIFY_API_VERSION"
        )
    if status != 200:
        return Unavailable(f"the Shopify Admin API answered HTTP {status}")
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return Unavailable("the Shopify Admin API answer is not JSON")
    if not isinstance(doc, dict):
        return Unavailable("the Shopify Admin API answer is not a JSON object")
    if doc.get("errors"):
        codes, text = _error_codes_and_text(doc["errors"])
        if codes & _TRANSIENT_CODES:
            return Unavailable(f"the Shopify Admin API answered {sorted(codes)}: {text}")
        hint = f"; {_SCOPE_HINT}" if "ACCESS_DENIED" in codes else ""
        return Unresolvable(f"the Shopify Admin API answered errors when asked for the order of {fo}: {text}{hint}")
    data = doc.get("data")
    if not isinstance(data, dict) or "fulfillmentOrder" not in data:
        return Unavailable("the Shopify Admin API answer has no data.fulfillmentOrder")
    node = data["fulfillmentOrder"]
    if node is None:
        return Unresolvable(
            f"Shopify has no {fo} (the Admin API answered fulfillmentOrder: null): it belongs to another shop than "
            "WISMO_SHOPIFY_SHOP_DOMAIN, or no longer exists"
        )
    order_gid = node.get("orderId") if isinstance(node, dict) else None
    number = order_gid.removeprefix(ORDER_GID_PREFIX) if isinstance(order_gid, str) else ""
    if not isinstance(order_gid, str) or not order_gid.startswith(ORDER_GID_PREFIX) or not _is_number(number):
        return Unavailable(f"the Shopify Admin API answer for {fo} has no order GID (orderId {order_gid!r})")
    return Found(number)


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


class ShopifyAdmin:
    """The fulfillment-order look-up of one shop. Safe to call concurrently; :meth:`aclose` when done."""

    def __init__(
        self,
        url: str,
        token: str,
        timeout: float,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self._headers = {"X-Shopify-Access-Token": token, "Content-Type": "application/json"}
        self._client = client or httpx.AsyncClient()
        self._owns_client = client is None
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: IngestSettings) -> ShopifyAdmin | None:
        """The look-up the settings configure; None without a shop (domain or API URL) and a token."""
        token = settings.shopify_admin_token_value
        if not settings.shopify_admin_configured or token is None:
            return None
        url = graphql_url(settings.shopify_shop_domain, settings.shopify_api_version, settings.shopify_api_url)
        return cls(url, token, settings.shopify_admin_timeout_seconds)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def order_of(self, fulfillment_order_id: str) -> Answer:
        """The order of fulfillment order ``fulfillment_order_id`` (numeric). Never raises; returns within
        ``timeout`` seconds (plus scheduling)."""
        if not _is_number(fulfillment_order_id):
            return Unresolvable(f"{fulfillment_order_id!r} is not a Shopify fulfillment order id")
        deadline = self._clock() + self.timeout
        answer: Answer = Unavailable(f"the Shopify Admin API did not answer within {self.timeout:g} s")
        for _attempt in range(2):
            remaining = deadline - self._clock()
            if remaining <= 0:
                break
            answer, retry = await self._ask(fulfillment_order_id, remaining)
            if not retry:
                break
        return answer

    async def _ask(self, fulfillment_order_id: str, budget: float) -> tuple[Answer, bool]:
        """One request within ``budget`` seconds: the answer, and whether an immediate retry may help."""
        payload = {"query": QUERY, "variables": {"id": fulfillment_order_gid(fulfillment_order_id)}}
        try:
            response = await asyncio.wait_for(
                self._client.post(self.url, content=orjson.dumps(payload), headers=self._headers, timeout=budget),
                budget,
            )
        except (TimeoutError, httpx.TimeoutException):
            return Unavailable(f"the Shopify Admin API did not answer within {self.timeout:g} s"), False
        except httpx.HTTPError as exc:
            return Unavailable(f"the Shopify Admin API is unreachable ({type(exc).__name__}: {exc})"), True
        except Exception as exc:  # contract: never raises into the request handler
            log.exception("Shopify Admin API call failed unexpectedly")
            return Unavailable(f"the Shopify Admin API call failed ({exc!r})"), False
        answer = interpret(response.status_code, response.content, fulfillment_order_id)
        return answer, isinstance(answer, Unavailable) and response.status_code >= 500
