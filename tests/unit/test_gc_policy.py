"""The worker's garbage-collector policy (streams/gc_policy.py): long-lived objects are frozen between
batches so full collections stop walking them, and cyclic garbage is still reclaimed on the full-collection
schedule."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from wismo.streams.gc_policy import FREEZE_AFTER_YOUNG_COLLECTIONS, GcPolicy


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture(autouse=True)
def _restore_gc() -> Iterator[None]:
    yield
    gc.unfreeze()
    gc.collect()


def _young_collections(n: int) -> None:
    for _ in range(n):
        gc.collect(1)


def test_long_lived_objects_are_frozen_after_enough_young_collections() -> None:
    clock = Clock()
    policy = GcPolicy(600, clock=clock)
    state = [{"order": i} for i in range(1000)]  # a state cache's worth of survivors
    policy.after_batch()
    assert policy.freezes == 0  # nothing collected since the policy started: nothing to freeze yet
    _young_collections(FREEZE_AFTER_YOUNG_COLLECTIONS)
    policy.after_batch()
    assert policy.freezes == 1
    assert gc.get_freeze_count() >= len(state)
    policy.after_batch()
    assert policy.freezes == 1  # no young collections since: nothing new to freeze


def test_cyclic_garbage_frozen_by_mistake_is_reclaimed_by_the_scheduled_full_collection() -> None:
    clock = Clock()
    policy = GcPolicy(600, clock=clock)
    a, b = Node(), Node()
    a.other, b.other = b, a
    alive = weakref.ref(a)
    _young_collections(FREEZE_AFTER_YOUNG_COLLECTIONS)
    policy.after_batch()  # the cycle is still referenced here, so it is frozen
    del a, b
    gc.collect()
    assert alive() is not None  # frozen: a full collection does not see it
    clock.now = 600
    policy.after_batch()
    assert policy.full_collections == 1
    assert alive() is None


def test_disabled_policy_leaves_the_collector_alone() -> None:
    policy = GcPolicy(0)
    _young_collections(FREEZE_AFTER_YOUNG_COLLECTIONS * 2)
    policy.after_batch()
    assert not policy.enabled
    assert policy.freezes == 0
    assert gc.get_freeze_count() == 0
