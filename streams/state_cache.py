"""Decoded state objects of recently written keys, reused while Redis still holds the bytes they were written
as (decoding a context and a case costs ~15 µs per event, a fifth of a live batch's CPU).

Guarantees: an object is reused only when the bytes just read from Redis equal the bytes it was last
written or read as, so a change by another worker (after a rebalance) is always decoded afresh. Objects are
mutated in place by the pipeline, so the worker calls :meth:`DecodedCache.clear` whenever a batch fails after
the state was loaded. Bounded: least recently used entries are dropped beyond ``max_entries``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from wismo.case import CaseState
from wismo.context import OrderContext
from wismo.state_codec import decode_case, decode_context

T = TypeVar("T")


class _Lru(Generic[T]):
    def __init__(self, decode: Callable[[bytes], T], max_entries: int) -> None:
        self._decode = decode
        self._max = max_entries
        self._items: OrderedDict[str, tuple[bytes, T]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: str, raw: bytes) -> T:
        cached = self._items.get(key)
        if cached is not None and cached[0] == raw:
            self._items.move_to_end(key)
            self.hits += 1
            return cached[1]
        self.misses += 1
        obj = self._decode(raw)
        self.put(key, raw, obj)
        return obj

    def put(self, key: str, raw: bytes, obj: T) -> None:
        if self._max <= 0:
            return
        self._items[key] = (raw, obj)
        self._items.move_to_end(key)
        while len(self._items) > self._max:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


class DecodedCache:
    """Per-worker cache of decoded order contexts and cases (``max_entries`` each; 0 disables it)."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.contexts: _Lru[OrderContext] = _Lru(decode_context, max_entries)
        self.cases: _Lru[CaseState] = _Lru(decode_case, max_entries)

    def clear(self) -> None:
        self.contexts.clear()
        self.cases.clear()
