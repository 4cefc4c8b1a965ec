"""The follow-up monitor: fires due follow-up commitments as ``clock.tick`` events, without any input event.

Every open case's next follow-up sits in the per-partition due set (:meth:`Keys.follow_ups`, score = due),
written by the worker together with the case. A monitor pass

1. **reaps**: in-flight follow-ups whose lease expired go back to the due set (one Lua script, atomic);
2. **claims** the due follow-ups of each partition: one Lua script moves them from the due set to the
   in-flight set (:meth:`Keys.follow_ups_inflight`, score = lease expiry), atomically, so two monitors never
   claim the same member;
3. **publishes** each claimed follow-up as a ``clock.tick`` (:func:`tick_line`) to the clock topic, on the
   partition its set belongs to, and awaits the broker's acks.

The monitor never deletes a published follow-up: the worker removes the member from both sets when it
processes the tick (or fires the follow-up itself, or the commitment changes). Guarantees:

* durable: a follow-up leaves Redis only through the worker, so a monitor or worker crash at any point
  loses nothing; a claim whose publish failed, or whose claimant died, is returned by the reaper once its
  lease (:data:`FOLLOW_UP_LEASE_SECONDS`) expires and fired again;
* at least once, not exactly once: a follow-up may be published twice (claimant died after the publish,
  or the worker took longer than a lease to process the tick); the tick id is deterministic
  (:func:`wismo.ids.follow_up_event_id`), so the pipeline's dedupe absorbs the second one;
* a tick for a commitment that changed meanwhile is ignored by the pipeline (``Pipeline._follow_up_tick``).

``now`` (epoch seconds) is one clock for both the due times and the leases, the worker's ``clock_now()``:
with an event-time clock a lease also runs in event time (it expires only as the watermark advances).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from redis.asyncio import Redis

from wismo.ids import follow_up_event_id
from wismo.pipeline import FOLLOW_UP_TICK_ID
from wismo.state_keys import FOLLOW_UP_CLAIM_BATCH, FOLLOW_UP_LEASE_SECONDS, Keys, parse_follow_up_member

log = logging.getLogger(__name__)

CLAIM_SCRIPT = """
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, m in ipairs(members) do
  redis.call('ZREM', KEYS[1], m)
  redis.call('ZADD', KEYS[2], ARGV[2], m)
end
return members
"""
"""KEYS: due set, in-flight set. ARGV: now, lease expiry, limit. Moves up to ``limit`` members due at or
before ``now`` (oldest first) to the in-flight set, scored by the lease expiry; returns them."""

REAP_SCRIPT = """
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, m in ipairs(members) do
  redis.call('ZREM', KEYS[1], m)
  redis.call('ZADD', KEYS[2], ARGV[1], m)
end
return #members
"""
"""KEYS: in-flight set, due set. ARGV: now, limit. Moves up to ``limit`` members whose lease expired at or
before ``now`` back to the due set, scored ``now`` (due at once); returns how many."""


def _text(member: str | bytes) -> str:
    return member.decode("utf-8") if isinstance(member, bytes) else member


def tick_line(member: str) -> tuple[bytes | None, bytes]:
    """``(Kafka key, event JSON)`` of the ``clock.tick`` that fires one follow-up member (EVENTS.md format).

    The event id is :func:`~wismo.ids.follow_up_event_id` of the member's case and due time, so the same
    member always yields the same bytes; ``order_id`` and the key are the case key, or ``None`` for a
    ``ticket:`` case (an unidentified ticket has no order). Raises ``ValueError`` on a malformed member (not
    three fields, a due time without an offset, an id the pipeline would not recognise as a follow-up)."""
    case_key, case_id, due_iso = parse_follow_up_member(member)
    due = datetime.fromisoformat(due_iso)
    if due.tzinfo is None:
        raise ValueError(f"follow-up due time without an offset: {member!r}")
    event_id = follow_up_event_id(case_id, due)
    m = FOLLOW_UP_TICK_ID.match(event_id)
    if m is None or m["key"] != case_key:
        raise ValueError(f"follow-up member does not make a follow-up tick id: {member!r}")
    order_id = None if case_key.startswith("ticket:") else case_key
    event: dict[str, Any] = {
        "event_id": event_id,
        "source": "clock",
        "type": "clock.tick",
        "order_id": order_id,
        "occurred_at": due.isoformat(),
        "payload": {},
    }
    return (order_id.encode() if order_id is not None else None), orjson.dumps(event)


class FollowUpQueue:
    """Claim and reap follow-ups of one Redis (both Lua scripts, registered once per instance)."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._claim = redis.register_script(CLAIM_SCRIPT)
        self._reap = redis.register_script(REAP_SCRIPT)

    async def claim(
        self,
        partition: int,
        now: float,
        *,
        limit: int = FOLLOW_UP_CLAIM_BATCH,
        lease_seconds: float = FOLLOW_UP_LEASE_SECONDS,
    ) -> list[str]:
        """Atomically move up to ``limit`` follow-ups of ``partition`` due at or before ``now`` (oldest first)
        to the in-flight set with lease expiry ``now + lease_seconds``; returns them. Concurrent claimers
        never get the same member."""
        raw = await self._claim(keys=self._claim_keys(partition), args=[now, now + lease_seconds, limit])
        return [_text(m) for m in raw]

    async def reap(self, partition: int, now: float, *, limit: int = FOLLOW_UP_CLAIM_BATCH) -> int:
        """Atomically return up to ``limit`` in-flight follow-ups of ``partition`` whose lease expired at or
        before ``now`` to the due set, due at ``now``; returns how many."""
        return int(await self._reap(keys=self._reap_keys(partition), args=[now, limit]))

    async def reap_and_claim(self, partitions: int, now: float | Sequence[float]) -> list[tuple[int, str]]:
        """:meth:`reap` then :meth:`claim` (default limits) for each partition ``0..partitions-1``, in one
        round trip (a non-transactional pipeline: each script is atomic on its own). Returns ``(partition,
        member)`` of every claim. If the round trip fails, claims that were made are reaped after the lease.
        ``now`` is one time for every partition, or one per partition (each partition's own event time)."""
        nows = [now] * partitions if isinstance(now, int | float) else list(now)
        async with self.redis.pipeline(transaction=False) as pipe:
            for p in range(partitions):
                t = nows[p]
                await self._reap(keys=self._reap_keys(p), args=[t, FOLLOW_UP_CLAIM_BATCH], client=pipe)
                lease = t + FOLLOW_UP_LEASE_SECONDS
                await self._claim(keys=self._claim_keys(p), args=[t, lease, FOLLOW_UP_CLAIM_BATCH], client=pipe)
            replies = await pipe.execute()
        return [(p, _text(m)) for p in range(partitions) for m in replies[2 * p + 1]]

    def _claim_keys(self, partition: int) -> list[str]:
        return [self.keys.follow_ups(partition), self.keys.follow_ups_inflight(partition)]

    def _reap_keys(self, partition: int) -> list[str]:
        return [self.keys.follow_ups_inflight(partition), self.keys.follow_ups(partition)]


class FollowUpMonitor:
    """Publishes due follow-ups as ticks; call :meth:`run_once` periodically (one instance per worker is
    fine, several are safe)."""

    def __init__(self, redis: Redis, keys: Keys, producer: AIOKafkaProducer, clock_topic: str) -> None:
        """``producer`` must be started; it is not stopped here."""
        self.redis = redis
        self.keys = keys
        self.producer = producer
        self.clock_topic = clock_topic
        self.queue = FollowUpQueue(redis, keys)

    async def run_once(self, partitions: int, now: float | Sequence[float]) -> int:
        """One pass over partitions ``0..partitions-1``: reap expired leases, claim what is due (at most
        :data:`FOLLOW_UP_CLAIM_BATCH` per partition; one Redis round trip for all), publish each claim as a
        tick to the same partition of the clock topic and await the acks. Returns how many were published.

        A tick whose publish fails is logged and its claim stays in flight: the reaper returns it once the
        lease expires, and a later pass publishes it again. A member that does not make a valid tick is
        logged and dropped from the in-flight set. May publish a follow-up twice; the tick id is
        deterministic, so the pipeline's dedupe absorbs it. Redis errors propagate (nothing was published
        for a failed claim; claims that did succeed are returned by the reaper)."""
        claimed = await self.queue.reap_and_claim(partitions, now)
        if not claimed:
            return 0
        pending: list[tuple[str, asyncio.Future[Any]]] = []
        for p, member in claimed:
            try:
                key, value = tick_line(member)
            except ValueError as exc:
                log.error("dropping malformed follow-up of partition %d: %s", p, exc)
                await self.redis.zrem(self.keys.follow_ups_inflight(p), member)
                continue
            try:
                pending.append((member, await self.producer.send(self.clock_topic, value, key=key, partition=p)))
            except Exception as exc:
                log.warning(_NOT_PUBLISHED, member, exc)
        results = await asyncio.gather(*(fut for _, fut in pending), return_exceptions=True)
        published = 0
        for (member, _), result in zip(pending, results, strict=True):
            if isinstance(result, BaseException):
                log.warning(_NOT_PUBLISHED, member, result)
            else:
                published += 1
        return published


_NOT_PUBLISHED = "follow-up %r not published (stays in flight until its lease expires): %r"

__all__ = ["CLAIM_SCRIPT", "REAP_SCRIPT", "FollowUpMonitor", "FollowUpQueue", "tick_line"]
