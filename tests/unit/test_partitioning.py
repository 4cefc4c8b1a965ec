"""The worker forwards a matched ticket to the partition its order's events are on, so its partition function
must be Kafka's default partitioner (murmur2 of the key), exactly as producers apply it."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st
from wismo.streams.partition_batch import TrackingSet, partition_for


@given(st.text(min_size=1, max_size=40), st.integers(min_value=1, max_value=64))
def test_partition_for_matches_kafkas_default_partitioner(order_id: str, partitions: int) -> None:
    all_partitions = list(range(partitions))
    expected = DefaultPartitioner()(order_id.encode(), all_partitions, all_partitions)
    assert partition_for(order_id, partitions) == expected


def test_known_keys_spread_over_partitions() -> None:
    assert {partition_for(f"A{n}", 4) for n in range(100)} == {0, 1, 2, 3}


def test_tracking_set_records_who_added_each_id_and_forgets_discarded_ones() -> None:
    seen = TrackingSet(["old"])
    seen.claimant = "wismo.in.oms:1:7"
    seen.add("e1")
    seen.add("old")  # already present before the batch: not a new mark
    seen.claimant = "wismo.in.ticket:1:3"
    seen.add("e2")
    seen.discard("e2")  # a forwarded ticket is not marked seen here
    assert seen.added == {"e1": "wismo.in.oms:1:7"}
    assert "e1" in seen and "old" in seen and "e2" not in seen
