"""Publish canonical event lines to the input topics (``wismo demo``, tests, backfills).

Routing follows EVENTS.md and topics.yaml: the topic is chosen by ``source``; the key is ``order_id``, or
for a ticket message without one the ``ticket_id`` (so a ticket's messages stay in order on one
partition); a ``clock.tick`` without an order is a sweep and goes to every partition of the clock topic,
because each worker sweeps the orders of its own partitions. A line that is not a JSON object with a
known ``source`` still goes out (to the ticket topic) so that the worker dead-letters it, as a real bus
would deliver it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import orjson
from aiokafka import AIOKafkaProducer, TopicPartition

SOURCE_TOPICS = {
    "ticket": "wismo.in.ticket",
    "oms": "wismo.in.oms",
    "wms": "wismo.in.wms",
    "supplier": "wismo.in.supplier",
    "carrier": "wismo.in.carrier",
    "review": "wismo.in.review",
    "clock": "wismo.in.clock",
}
FALLBACK_TOPIC = "wismo.in.ticket"

_last_ts = 0


@dataclass(frozen=True, slots=True)
class Routed:
    topic: str
    key: bytes | None
    broadcast: bool


def route(line: bytes) -> Routed:
    """Where one line goes. Never raises."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return Routed(FALLBACK_TOPIC, None, False)
    if not isinstance(obj, dict):
        return Routed(FALLBACK_TOPIC, None, False)
    topic = SOURCE_TOPICS.get(str(obj.get("source")), FALLBACK_TOPIC)
    order_id = obj.get("order_id")
    if isinstance(order_id, str) and order_id:
        return Routed(topic, order_id.encode(), False)
    if obj.get("type") == "clock.tick":
        return Routed(topic, None, True)
    payload = obj.get("payload")
    ticket = payload.get("ticket_id") if isinstance(payload, dict) else None
    return Routed(topic, ticket.encode() if isinstance(ticket, str) else None, False)


def needs_forward_hop(line: bytes) -> bool:
    """A ticket message without an order id: the worker that receives it matches it to an order and, when
    another worker owns that order, forwards it there."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(obj, dict) and obj.get("type") == "ticket.message" and not obj.get("order_id")


async def publish_lines(
    producer: AIOKafkaProducer, lines: Iterable[bytes], *, topic_prefix: str = ""
) -> dict[TopicPartition, int]:
    """Publish every line in order and wait for the acknowledgements. Returns, per partition, the offset
    after the last message written (what a consumer group has committed once it processed them all).

    Each line gets a strictly increasing record timestamp (wall-clock ms, bumped by one on a tie), so the
    order of lines across topics can be recovered by a topic replay and by the worker's per-partition merge."""
    futures = []
    global _last_ts
    for line in lines:
        r = route(line)
        r = Routed(topic_prefix + r.topic, r.key, r.broadcast)
        _last_ts = ts = max(int(time.time() * 1000), _last_ts + 1)
        if r.broadcast:
            for p in sorted(await producer.partitions_for(r.topic)):
                futures.append(await producer.send(r.topic, line, key=None, partition=p, timestamp_ms=ts))
        else:
            futures.append(await producer.send(r.topic, line, key=r.key, timestamp_ms=ts))
    ends: dict[TopicPartition, int] = {}
    for f in futures:
        md = await f
        tp = TopicPartition(md.topic, md.partition)
        ends[tp] = max(ends.get(tp, 0), md.offset + 1)
    return ends
