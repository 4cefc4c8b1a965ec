"""A sweep over more in-progress orders than ``WISMO_SWEEP_INLINE_ORDERS`` (per partition) through a real broker
and Redis: the worker evaluates the first orders in the sweep's own batch and sends itself one per-order tick for
each of the others (on the clock topic, keyed by the order, so it comes back on the same partition). Every order
is still evaluated exactly once for the sweep, at the sweep's time, with the decision a file replay makes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from wismo.streams.partition_batch import partition_for
from wismo.streams.topics import load_topics
from worker_harness import Deployment, event_line, replay_outputs

INLINE = 2
ORDERS = [f"SW{n:03d}" for n in range(16)]
SWEEP_ID = "sweep-big"
IDS = ("decision_id", "caused_by", "action_ids", "event_type")


@pytest.fixture
def deployment(
    kafka_bootstrap: str, redis_url: str, unique_name: Callable[[str], str], tmp_path: Path
) -> Iterator[Deployment]:
    dep = Deployment(
        kafka_bootstrap,
        redis_url,
        unique_name("sweep") + ".",
        tmp_path,
        settings={"WISMO_SWEEP_INLINE_ORDERS": str(INLINE), "WISMO_BATCH_MAX_RECORDS": "200"},
    )
    dep.create_topics()
    try:
        yield dep
    finally:
        dep.close()


def _lines() -> list[bytes]:
    """Every order placed and handed to the warehouse (in progress, not shipped), then one sweep."""
    lines = []
    for n, oid in enumerate(ORDERS):
        placed = {
            "order_number": oid,
            "customer": {"id": f"c-{oid}", "email": f"{oid.lower()}@example.com", "name": "Ann Lee"},
            "items": [{"sku": "MUG", "title": "Blue mug", "qty": 1, "unit_price": 20}],
            "order_value": 20,
            "currency": "USD",
        }
        fulfilment = {"shipment_id": "S1", "items": [{"sku": "MUG", "qty": 1}]}
        for suffix, source, etype, hour, payload in (
            ("placed", "oms", "order.placed", 9, placed),
            ("ful", "wms", "fulfillment.created", 10, fulfilment),
        ):
            at = f"2026-11-02T{hour:02d}:{n:02d}:00Z"
            lines.append(
                event_line(
                    event_id=f"{oid}-{suffix}", source=source, type=etype, order_id=oid, occurred_at=at, payload=payload
                )
            )
    # a day later, before any follow-up falls due (a due follow-up would load its order into the sweep's batch,
    # and an order the batch loads anyway is swept inline)
    lines.append(
        event_line(event_id=SWEEP_ID, source="clock", type="clock.tick", occurred_at="2026-11-03T09:30:00Z", payload={})
    )
    return lines


def test_a_large_sweep_is_split_into_per_order_ticks_and_evaluates_every_order_once(
    deployment: Deployment, tmp_path: Path
) -> None:
    lines = _lines()
    worker = deployment.start_worker()
    deployment.publish(lines[:-1])  # the orders first: a batch that also holds their events sweeps them all inline
    deployment.settle(alive=[worker])
    deployment.publish(lines[-1:])
    deployment.settle(alive=[worker])
    got = deployment.outputs(extra_topics=("wismo.in.clock",))

    partitions = next(s.partitions for s in load_topics(None) if s.name == "wismo.in.clock")
    per_partition = Counter(partition_for(oid, partitions) for oid in ORDERS)
    sliced = {
        oid for p in per_partition for oid in sorted(o for o in ORDERS if partition_for(o, partitions) == p)[INLINE:]
    }
    assert len(sliced) == sum(max(0, n - INLINE) for n in per_partition.values()) > 0

    # the per-order ticks the worker sent itself: one per order beyond the inline ones, on the order's partition
    ticks = [r for r in got["wismo.in.clock"] if r["event_id"].startswith("slice:")]
    assert sorted(t["order_id"] for t in ticks) == sorted(sliced)
    assert {t["event_id"] for t in ticks} == {f"slice:{SWEEP_ID}:{oid}" for oid in sliced}

    # every order evaluated exactly once for the sweep: inline ones by the sweep, the others by their tick
    sweep_decisions = [
        d for d in got["wismo.decisions"] if d["caused_by"] == SWEEP_ID or d["caused_by"].startswith("slice:")
    ]
    by_order = Counter(d["order_id"] for d in sweep_decisions)
    assert by_order == Counter(ORDERS)
    for d in sweep_decisions:
        expected_cause = f"slice:{SWEEP_ID}:{d['order_id']}" if d["order_id"] in sliced else SWEEP_ID
        assert d["caused_by"] == expected_cause

    # and each decision is the one the file replay makes for that order at the sweep (ids aside)
    replay = replay_outputs(lines, tmp_path)
    want = {
        d["order_id"]: {k: v for k, v in d.items() if k not in IDS}
        for d in replay["wismo.decisions"]
        if d["caused_by"] == SWEEP_ID
    }
    assert {d["order_id"]: {k: v for k, v in d.items() if k not in IDS} for d in sweep_decisions} == want
    assert {w["condition_type"] for w in want.values()} == {"processing_within_sla"}
