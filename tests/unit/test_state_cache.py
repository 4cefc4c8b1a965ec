"""The worker's decoded-state cache reuses an object only while Redis holds the bytes it was written as."""

from __future__ import annotations

from wismo.streams.state_cache import DecodedCache

from wismo.context import OrderContext
from wismo.state_codec import encode_context


def test_reused_only_for_the_same_bytes_and_bounded() -> None:
    cache = DecodedCache(max_entries=2)
    ctx = OrderContext(order_id="A1", order_number="1001")
    raw = encode_context(ctx)
    first = cache.contexts.get("A1", raw)
    assert first == ctx
    assert cache.contexts.get("A1", raw) is first, "same bytes: the decoded object is reused"

    changed = encode_context(OrderContext(order_id="A1", order_number="1002"))  # another worker wrote it
    fresh = cache.contexts.get("A1", changed)
    assert fresh is not first and fresh.order_number == "1002"

    cache.contexts.get("A2", encode_context(OrderContext(order_id="A2")))
    cache.contexts.get("A3", encode_context(OrderContext(order_id="A3")))
    assert cache.contexts.get("A1", changed) is not fresh, "least recently used entry dropped beyond the bound"
    assert (cache.contexts.hits, cache.contexts.misses) == (1, 5)


def test_disabled_and_cleared_caches_always_decode() -> None:
    raw = encode_context(OrderContext(order_id="A1"))
    off = DecodedCache(max_entries=0)
    assert off.contexts.get("A1", raw) is not off.contexts.get("A1", raw)
    on = DecodedCache()
    obj = on.contexts.get("A1", raw)
    on.clear()
    assert on.contexts.get("A1", raw) is not obj
