"""``adapt`` never raises and every event it returns is canonical, whatever the body.

The broken-sample test mutates the saved samples in ../shared/payloads/ (used in place; origins and licences in
its SOURCES.md: Shopify/shopify_python_api and Shopify/shopify-api-ruby (MIT, JadedPixel inc.),
EasyPost/examples (MIT, EasyPost), AfterShip/aftership-sdk-java (MIT-style, AfterShip),
zendesk/zendesk_api_client_rb (Apache-2.0)).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from shared_payloads import PAYLOADS
from wismo.processors.adapters import adapt
from wismo.processors.adapters.base import PROVIDERS, ShipmentRef, StaticLookups
from wismo.processors.adapters.shopify import TOPICS

from wismo.events import parse_event_obj

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
LOOKUPS = StaticLookups({"1": ShipmentRef("A1", "S1")})

# Bodies that look like the real thing at the top level, with arbitrary values below it.
SHAPED = st.one_of(
    st.fixed_dictionaries(
        {"description": st.sampled_from(["tracker.updated", "tracker.created"]), "id": JSON, "result": JSON}
    ),
    st.fixed_dictionaries({"event": st.just("tracking_update"), "event_id": JSON, "msg": JSON}),
    st.fixed_dictionaries({"type": st.just("zen:event-type:ticket.comment_added"), "detail": JSON, "event": JSON}),
    st.fixed_dictionaries({"ticket": JSON, "audit": JSON}),
    st.fixed_dictionaries({"type": st.just("block_actions"), "actions": JSON, "user": JSON}),
    st.fixed_dictionaries({"id": JSON, "order_id": JSON, "line_items": JSON, "status": JSON, "created_at": JSON}),
)


@settings(max_examples=300, deadline=None)
@given(
    provider=st.sampled_from(PROVIDERS),
    topic=st.sampled_from(sorted(TOPICS)),
    body=st.one_of(JSON, SHAPED),
)
def test_adapt_never_raises_and_only_returns_canonical_events(provider: str, topic: str, body: Any) -> None:
    headers = {"x-shopify-topic": topic, "x-shopify-triggered-at": "2026-11-02T14:05:00Z"}
    result = adapt(provider, headers, body, LOOKUPS)  # type: ignore[arg-type]
    for event in result.events:
        parse_event_obj(event)
    assert result.events or result.rejected or result.ignored
    # every rejection names what was wrong; the dispatcher's last-resort catch (an adapter bug) never fires
    assert not [r for r in result.rejected if "unexpected payload shape" in r.reason], result.rejected


def test_unknown_provider_is_rejected() -> None:
    result = adapt("fedex", {}, {}, LOOKUPS)  # type: ignore[arg-type]
    assert [r.code for r in result.rejected] == ["unknown_topic"]


# ---- real samples with one field broken: every failure must be named, never the catch-all ------------------

SAMPLES = PAYLOADS


def _load(rel: str) -> Any:
    return json.loads((SAMPLES / rel).read_text(encoding="utf-8"))


def _webhook_bodies() -> list[tuple[str, dict[str, str], Any]]:
    """(provider, headers, body) built from the saved samples (see SOURCES.md for their origin and licences)."""
    shopify_hdrs = {"x-shopify-webhook-id": "w", "x-shopify-triggered-at": "2026-11-02T14:05:00Z"}
    tracking = _load("aftership/get_tracking_delivered_full_fields.json")["data"]["tracking"]
    tracker_event = _load("easypost/event_retrieve_tracker_created.json") | {
        "result": _load("easypost/tracker_create_pre_transit.json")
    }
    return [
        (
            "shopify",
            shopify_hdrs | {"x-shopify-topic": "orders/create"},
            _load("shopify/order_1001_authorized_with_failed_fulfillment.json"),
        ),
        (
            "shopify",
            shopify_hdrs | {"x-shopify-topic": "orders/cancelled"},
            _load("shopify/order_1001_authorized_with_failed_fulfillment.json"),
        ),
        (
            "shopify",
            shopify_hdrs | {"x-shopify-topic": "fulfillments/update"},
            _load("shopify/fulfillment_pending_with_tracking.json"),
        ),
        (
            "shopify",
            shopify_hdrs | {"x-shopify-topic": "fulfillment_events/create"},
            _load("shopify/fulfillment_event_label_printed.json"),
        ),
        (
            "shopify",
            shopify_hdrs | {"x-shopify-topic": "fulfillment_orders/placed_on_hold"},
            {
                "fulfillment_order": {
                    "id": "gid://shopify/FulfillmentOrder/1",
                    "order_id": 5,
                    "fulfillment_holds": [{"reason": "other"}],
                }
            },
        ),
        ("easypost", {}, _load("easypost/event_tracker_updated_in_transit_webhook_body.json")),
        ("easypost", {}, tracker_event),
        ("aftership", {}, {"event": "tracking_update", "event_id": "e", "msg": tracking, "ts": 1}),
        ("zendesk", {}, _load("zendesk/ticket_create_with_comment_0_post_response.json")),
        ("zendesk", {}, _load("zendesk/ticket_audits_public_and_private_comments_0_get_response.json")),
    ]


BODIES = _webhook_bodies()
SAMPLE_LOOKUPS = StaticLookups(
    {"1": ShipmentRef("A1", "S1"), "EZ1000000001": ShipmentRef("A2", "S2"), "111111111111": ShipmentRef("A3", "S3")}
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node[:3]):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def broken_sample(draw: st.DrawFn) -> tuple[str, dict[str, str], Any]:
    provider, headers, body = draw(st.sampled_from(BODIES))
    body = copy.deepcopy(body)
    path = draw(st.sampled_from(_paths(body)))
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(JSON)
    return provider, headers, body


@settings(max_examples=500, deadline=None)
@given(broken_sample())
def test_a_sample_with_one_broken_field_is_adapted_or_rejected_with_a_named_reason(
    case: tuple[str, dict[str, str], Any],
) -> None:
    provider, headers, body = case
    result = adapt(provider, headers, body, SAMPLE_LOOKUPS)  # type: ignore[arg-type]
    for event in result.events:
        parse_event_obj(event)
    assert not [r for r in result.rejected if "unexpected payload shape" in r.reason], result.rejected
