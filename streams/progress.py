"""How far a consumer group has got: used by ``wismo demo`` and the integration tests to wait until the
workers have processed everything published so far (including tickets they forwarded to each other)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

POLL_SECONDS = 0.05


async def input_end_offsets(consumer: AIOKafkaConsumer, topics: list[str]) -> dict[TopicPartition, int]:
    """End offset of every partition of ``topics`` (only partitions holding messages)."""
    tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
    ends: dict[TopicPartition, int] = await consumer.end_offsets(tps) if tps else {}
    return {tp: off for tp, off in ends.items() if off > 0}


async def wait_caught_up(
    bootstrap: str, group: str, topics: list[str], *, timeout: float = 60.0, check: Callable[[], None] | None = None
) -> None:
    """Return once ``group`` has committed the end offset of every partition of ``topics``, twice in a row
    with the same ends (so messages the workers themselves published meanwhile are included). Raises
    :class:`TimeoutError` after ``timeout`` seconds with the lagging partitions; ``check`` is called on
    every poll and may raise to give up early (e.g. the worker process died)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
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
            ends = await input_end_offsets(consumer, topics)
            committed = await admin.list_consumer_group_offsets(group, partitions=list(ends)) if ends else {}
            lag = {tp: end - (committed[tp].offset if tp in committed else 0) for tp, end in ends.items()}
            lag = {tp: n for tp, n in lag.items() if n > 0}
            if not lag:
                if ends == previous:
                    return
                previous = ends
            await asyncio.sleep(POLL_SECONDS)
        raise TimeoutError(f"group {group} still lags after {timeout:.0f}s: {lag}")
    finally:
        await consumer.stop()
        await admin.close()
