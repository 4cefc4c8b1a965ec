"""The pure parts of the Shopify fulfillment-order look-up: which deliveries need it
(:func:`wismo.streams.ingest_lookups.fulfillment_order_to_resolve`), the cached value, the settings, the endpoint
URL and what each Admin API answer means (:func:`wismo.streams.shopify_admin.interpret`)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from wismo.streams.ingest_lookups import FULFILLMENT_ORDER_TOPICS, fulfillment_order_to_resolve, parse_order_id
from wismo.streams.shopify_admin import (
    Found,
    ShopifyAdmin,
    Unavailable,
    Unresolvable,
    fulfillment_order_gid,
    graphql_url,
    interpret,
)

from wismo.ingest_settings import IngestSettings

FO_GID = "gid://shopify/FulfillmentOrder/1046000790"


def hold_body(fo: dict[str, Any]) -> dict[str, Any]:
    return {"fulfillment_order": fo, "created_fulfillment_hold": {"reason": "high_risk_of_fraud"}}


# ---- which deliveries need the look-up ----------------------------------------------------------------------


@pytest.mark.parametrize("topic", sorted(FULFILLMENT_ORDER_TOPICS))
def test_hold_topics_without_order_id_need_the_fulfillment_order_number(topic: str) -> None:
    headers = {"x-shopify-topic": topic}
    assert fulfillment_order_to_resolve("shopify", headers, hold_body({"id": FO_GID})) == "1046000790"
    assert fulfillment_order_to_resolve("shopify", headers, hold_body({"id": 1046000790})) == "1046000790"
    assert fulfillment_order_to_resolve("shopify", headers, hold_body({"id": " 1046000790 "})) == "1046000790"


def test_the_hold_topics_are_the_ones_the_adapter_maps() -> None:
    assert sorted(FULFILLMENT_ORDER_TOPICS) == [
        "fulfillment_holds/added",
        "fulfillment_holds/released",
        "fulfillment_orders/hold_released",
        "fulfillment_orders/placed_on_hold",
    ]


@pytest.mark.parametrize(
    ("provider", "topic", "body"),
    [
        ("shopify", "fulfillment_orders/placed_on_hold", hold_body({"id": FO_GID, "order_id": 450789469})),
        ("shopify", "fulfillment_holds/added", hold_body({"id": FO_GID, "order_id": "gid://shopify/Order/1"})),
        ("shopify", "fulfillment_orders/split", hold_body({"id": FO_GID})),  # a topic the adapter does not map
        ("shopify", "orders/create", {"id": 450789469}),
        ("shopify", None, hold_body({"id": FO_GID})),
        ("easypost", "fulfillment_orders/placed_on_hold", hold_body({"id": FO_GID})),
        ("shopify", "fulfillment_orders/placed_on_hold", hold_body({})),
        ("shopify", "fulfillment_orders/placed_on_hold", hold_body({"id": True})),
        ("shopify", "fulfillment_orders/placed_on_hold", hold_body({"id": "gid://shopify/FulfillmentOrder/"})),
        ("shopify", "fulfillment_orders/placed_on_hold", hold_body({"id": "gid://shopify/FulfillmentOrder/x1"})),
        ("shopify", "fulfillment_orders/placed_on_hold", hold_body({"id": "１２"})),  # full-width digits
        ("shopify", "fulfillment_orders/placed_on_hold", {"fulfillment_order": "1046000790"}),
        ("shopify", "fulfillment_orders/placed_on_hold", ["not", "an", "object"]),
    ],
)
def test_other_deliveries_need_no_look_up(provider: str, topic: str | None, body: Any) -> None:
    headers = {"x-shopify-topic": topic} if topic else {}
    assert fulfillment_order_to_resolve(provider, headers, body) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [(b"450789469", "450789469"), ("450789469", "450789469"), (None, None), (b"", None), (b"A1001", None)],
)
def test_cached_order_id_must_be_a_shopify_order_number(value: bytes | str | None, expected: str | None) -> None:
    assert parse_order_id(value) == expected


# ---- settings and endpoint ----------------------------------------------------------------------------------


def test_settings_from_the_environment_configure_the_look_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WISMO_SHOPIFY_SHOP_DOMAIN", "acme.myshopify.com")
    monkeypatch.setenv("WISMO_SHOPIFY_ADMIN_TOKEN", "shpat_abc")
    settings = IngestSettings()
    assert settings.shopify_admin_configured
    assert "shpat_abc" not in repr(settings), "the token is a secret"
    admin = ShopifyAdmin.from_settings(settings)
    assert admin is not None
    assert admin.url == "https://acme.myshopify.com/admin/api/2025-01/graphql.json"
    assert admin.timeout == 3.0


@pytest.mark.parametrize(
    "env",
    [
        {"WISMO_SHOPIFY_SHOP_DOMAIN": "acme.myshopify.com"},
        {"WISMO_SHOPIFY_ADMIN_TOKEN": "shpat_abc"},
        {"WISMO_SHOPIFY_SHOP_DOMAIN": "acme.myshopify.com", "WISMO_SHOPIFY_ADMIN_TOKEN": ""},
    ],
)
def test_without_domain_and_token_there_is_no_look_up(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = IngestSettings()
    assert not settings.shopify_admin_configured
    assert ShopifyAdmin.from_settings(settings) is None


def test_api_version_and_timeout_are_checked() -> None:
    with pytest.raises(ValueError, match="shopify_api_version"):
        IngestSettings(shopify_api_version="latest")
    with pytest.raises(ValueError, match="shopify_admin_timeout_seconds"):
        IngestSettings(shopify_admin_timeout_seconds=10)  # longer than Shopify waits for the webhook answer


@pytest.mark.parametrize(
    ("domain", "base", "expected"),
    [
        ("acme.myshopify.com", None, "https://acme.myshopify.com/admin/api/2025-01/graphql.json"),
        ("https://acme.myshopify.com/", None, "https://acme.myshopify.com/admin/api/2025-01/graphql.json"),
        ("acme.myshopify.com", "http://127.0.0.1:8123/", "http://127.0.0.1:8123/admin/api/2025-01/graphql.json"),
        (None, "https://proxy.internal/shop", "https://proxy.internal/shop/admin/api/2025-01/graphql.json"),
    ],
)
def test_graphql_url(domain: str | None, base: str | None, expected: str) -> None:
    assert graphql_url(domain, "2025-01", base) == expected


def test_fulfillment_order_gid() -> None:
    assert fulfillment_order_gid("1046000790") == FO_GID


# ---- what the Admin API's answers mean ----------------------------------------------------------------------


def answer(doc: Any, status: int = 200) -> Found | Unresolvable | Unavailable:
    return interpret(status, orjson.dumps(doc), "1046000790")


def test_the_order_gid_gives_the_rest_order_id() -> None:
    found = answer({"data": {"fulfillmentOrder": {"id": FO_GID, "orderId": "gid://shopify/Order/450789469"}}})
    assert found == Found("450789469")


def test_no_such_fulfillment_order_is_unresolvable_and_names_it() -> None:
    result = answer({"data": {"fulfillmentOrder": None}, "extensions": {"cost": {"requestedQueryCost": 1}}})
    assert isinstance(result, Unresolvable)
    assert "fulfillment order 1046000790" in result.reason


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_is_unresolvable_and_says_what_to_check(status: int) -> None:
    result = answer({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}, status)
    assert isinstance(result, Unresolvable)
    assert "WISMO_SHOPIFY_ADMIN_TOKEN" in result.reason and "1046000790" in result.reason


def test_a_missing_scope_is_unresolvable_and_names_the_scope() -> None:
    denied = {
        "errors": [{"message": "Access denied for fulfillmentOrder field.", "extensions": {"code": "ACCESS_DENIED"}}],
        "data": {"fulfillmentOrder": None},
    }
    result = answer(denied)
    assert isinstance(result, Unresolvable)
    assert "Access denied" in result.reason and "read_merchant_managed_fulfillment_orders" in result.reason


def test_no_shop_at_the_url_is_unresolvable() -> None:
    result = answer({"errors": "Not Found"}, 404)
    assert isinstance(result, Unresolvable) and "WISMO_SHOPIFY_SHOP_DOMAIN" in result.reason


@pytest.mark.parametrize(
    ("status", "doc"),
    [
        (500, {"errors": "Internal Server Error"}),
        (502, "<html>Bad gateway</html>"),
        (429, {"errors": "Exceeded 2 calls per second for api client."}),
        (200, {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}),
        (200, {"errors": [{"message": "Internal error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}),
        (200, {"data": {}}),
        (200, {"data": {"fulfillmentOrder": {"id": FO_GID}}}),
        (200, {"data": {"fulfillmentOrder": {"id": FO_GID, "orderId": "gid://shopify/DraftOrder/1"}}}),
        (200, ["a list"]),
    ],
)
def test_transient_or_unreadable_answers_are_unavailable(status: int, doc: Any) -> None:
    assert isinstance(answer(doc, status), Unavailable)


def test_a_body_that_is_not_json_is_unavailable() -> None:
    assert isinstance(interpret(200, b"<html>", "1046000790"), Unavailable)
