"""How the worker keeps Python's cyclic garbage collector from pausing a batch for long.

The worker keeps thousands of decoded order contexts and cases between batches (streams/state_cache.py).
With the default collector, every full (generation 2) collection walks all of them: measured at 90-125 ms
per collection, three times in a 10-second run at 2,000 events/s, each one a stall of every partition the
worker owns. Nothing in that state forms reference cycles, so there is nothing for those walks to find.

:class:`GcPolicy` therefore, between batches, collects the young generations (where a batch's own cyclic
garbage is) and freezes what survived (``gc.freeze``), so later collections skip it. Objects that are
frozen are still freed by reference counting when the cache drops them; only garbage *cycles* among them
would wait, so every ``full_every_s`` seconds the frozen objects are returned to the collector and one full
collection runs (one pause of the old length, instead of one every few seconds).

Never raises; costs about one young collection per call when it freezes.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

FREEZE_AFTER_YOUNG_COLLECTIONS = 5
"""Freeze once this many generation-1 collections have run since the last freeze (their survivors are what a
full collection walks): often enough that long-lived objects never pile up for a full collection (the
interpreter runs one after 10), rarely enough that the forced young collection before each freeze costs
little (it collects what the collector would soon have collected anyway)."""


def _young_collections() -> int:
    return int(gc.get_stats()[1]["collections"])


class GcPolicy:
    """Call :meth:`after_batch` between batches (never inside one). ``full_every_s`` 0 disables the
    policy (the interpreter's default behaviour)."""

    def __init__(self, full_every_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.full_every_s = full_every_s
        self._clock = clock
        self._last_full = clock()
        self._young_at_freeze = _young_collections()
        self.freezes = 0
        self.full_collections = 0

    @property
    def enabled(self) -> bool:
        return self.full_every_s > 0

    def after_batch(self) -> None:
        if not self.enabled:
            return
        now = self._clock()
        if now - self._last_full >= self.full_every_s:
            gc.unfreeze()
            gc.collect()
            self._last_full = now
            self.full_collections += 1
        elif _young_collections() - self._young_at_freeze >= FREEZE_AFTER_YOUNG_COLLECTIONS:
            gc.collect(1)
        else:
            return
        gc.freeze()
        self.freezes += 1
        self._young_at_freeze = _young_collections()
