"""How far a consumer group has got: used by ``wismo demo`` and the integration tests to wait until the
workers have processed everything published so far (including tickets they forwarded to each other)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

POLL_SECONDS = 0.05


async def true_end_offsets(
    consumer: AIOKafkaConsumer,
    tps: list[TopicPartition],
    *,
    begins: Mapping[TopicPartition, int] | None = None,
    timeout: float = 5.0,
) -> dict[TopicPartition, int]:
    """The offset after the last record of each partition.

    Apache Kafka's ``end_offsets`` is exactly that. The Tansu broker (local runs and CI) reports the base offset
    of the last record *batch* plus one instead, which undercounts when a batch holds several records; so each
    partition holding records (end above ``begins``, the log start, default 0) is fetched once at its last
    listed offset and the larger of that fetch's last offset + 1 and its high watermark taken (on Kafka all
    agree). ``consumer`` must not be subscribed to a group; it is left assigned to ``tps`` at unspecified
    positions. Give it a small ``fetch_max_wait_ms``: a seek waits for the fetch in flight. Raises
    :class:`TimeoutError` when a partition's fetch does not answer within ``timeout`` seconds."""
    ends: dict[TopicPartition, int] = dict(await consumer.end_offsets(tps)) if tps else {}
    probe = {tp for tp in tps if ends[tp] > (begins[tp] if begins is not None else 0)}
    if not probe:
        return ends
    consumer.assign(list(tps))
    for tp in probe:
        consumer.seek(tp, ends[tp] - 1)
    deadline = time.monotonic() + timeout
    while probe:
        got = await consumer.getmany(*probe, timeout_ms=200)
        for tp, msgs in got.items():
            if msgs:
                ends[tp] = max(ends[tp], msgs[-1].offset + 1, consumer.highwater(tp) or 0)
                probe.discard(tp)
        if probe and time.monotonic() > deadline:
            short = ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(probe))
            raise TimeoutError(f"no fetch answer for {timeout:.0f} s from {short}")
    return ends


async def topic_end_offsets(consumer: AIOKafkaConsumer, topics: list[str], *, exact: bool) -> dict[TopicPartition, int]:
    """End offsets of the partitions of ``topics`` that hold messages: :func:`true_end_offsets` when ``exact``,
    else as the broker reports them (exact on Kafka, a lower bound on Tansu, and cheaper)."""
    tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
    if exact:
        ends = await true_end_offsets(consumer, tps)
    else:
        ends = await consumer.end_offsets(tps) if tps else {}
    return {tp: off for tp, off in ends.items() if off > 0}


async def _lag(admin: AIOKafkaAdminClient, group: str, ends: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
    committed = await admin.list_consumer_group_offsets(group, partitions=list(ends)) if ends else {}
    lag = {tp: end - (committed[tp].offset if tp in committed else 0) for tp, end in ends.items()}
    return {tp: n for tp, n in lag.items() if n > 0}


async def wait_caught_up(
    bootstrap: str, group: str, topics: list[str], *, timeout: float = 60.0, check: Callable[[], None] | None = None
) -> None:
    """Return once ``group`` has committed the end offset of every partition of ``topics``, twice in a row
    with the same ends (so messages the workers themselves published meanwhile are included). Raises
    :class:`TimeoutError` after ``timeout`` seconds with the lagging partitions; ``check`` is called on
    every poll and may raise to give up early (e.g. the worker process died)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await consumer.start()
    await admin.start()
    deadline = time.monotonic() + timeout
    try:
        await consumer.topics()  # refresh metadata for the subscribed names
        previous: dict[TopicPartition, int] | None = None
        lag: dict[TopicPartition, int] = {}
        while time.monotonic() < deadline:
            if check is not None:
                check()
            # The reported ends first (cheap; a lower bound on Tansu), the exact ones once those are reached.
            lag = await _lag(admin, group, await topic_end_offsets(consumer, topics, exact=False))
            if lag:
                await asyncio.sleep(POLL_SECONDS)
                continue
            ends = await topic_end_offsets(consumer, topics, exact=True)
            lag = await _lag(admin, group, ends)
            if not lag:
                if ends == previous:
                    return
                previous = ends
            await asyncio.sleep(POLL_SECONDS)
        raise TimeoutError(f"group {group} still lags after {timeout:.0f}s: {lag}")
    finally:
        await consumer.stop()
        await admin.close()
