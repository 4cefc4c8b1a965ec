"""The follow-up monitor (``wismo.streams.followup_monitor``) against the session's Redis and Kafka.

Claims are atomic and move only due members; concurrent claimers get disjoint members; expired leases come back
through the reaper; ``run_once`` publishes canonical ticks on the partition the follow-up belongs to, and a
follow-up fired twice is the same event (the pipeline's dedupe absorbs the second). Time is always an explicit
``now``: nothing sleeps.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # type: ignore[import-untyped,unused-ignore]
from builders import fulfillment, pick_exception, placed, run, ticket
from conftest import run_async
from redis.asyncio import Redis
from wismo.processors.intake import parse_line
from wismo.streams.followup_monitor import FollowUpMonitor, FollowUpQueue, tick_line

from wismo.events import ClockTick
from wismo.ids import follow_up_event_id
from wismo.pipeline import FOLLOW_UP_TICK_ID
from wismo.state_keys import FOLLOW_UP_LEASE_SECONDS, Keys, follow_up_member

KEYS = Keys(prefix="wismo-test")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NOW = T0.timestamp()
DEADLINE_S = 20.0


def member(key: str, minutes: float, seq: int = 1) -> tuple[str, float]:
    """A follow-up member of case ``key`` due ``minutes`` after T0, and its score."""
    due = T0 + timedelta(minutes=minutes)
    return follow_up_member(key, f"WC-{key}-{seq}", due.isoformat()), due.timestamp()


async def add_due(r: Redis, partition: int, *members: tuple[str, float]) -> None:
    await r.zadd(KEYS.follow_ups(partition), dict(members))


async def zset(r: Redis, key: str) -> dict[str, float]:
    pairs: list[tuple[bytes, float]] = await r.zrange(key, 0, -1, withscores=True)  # type: ignore[assignment]
    return {m.decode(): s for m, s in pairs}


def with_redis(redis_url: str, scenario: Callable[[Redis], Awaitable[None]]) -> None:
    async def main() -> None:
        r = Redis.from_url(redis_url)
        try:
            await scenario(r)
        finally:
            await r.aclose()

    run_async(main())


@asynccontextmanager
async def producer(bootstrap: str) -> AsyncIterator[Any]:
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


async def drain(bootstrap: str, topic: str, partitions: int, want: int) -> list[tuple[int, bytes | None, bytes]]:
    """(partition, key, value) of the records of ``topic`` (all partitions), polling until ``want`` arrived or a
    deadline; then checks that there is no more (one more short poll; for ``want == 0``, every end offset is 0)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        got: list[tuple[int, bytes | None, bytes]] = []
        deadline = time.monotonic() + DEADLINE_S
        while len(got) < want and time.monotonic() < deadline:
            for tp, messages in (await consumer.getmany(timeout_ms=200)).items():
                got += [(tp.partition, m.key, m.value) for m in messages]
        if want == 0:
            assert set((await consumer.end_offsets(tps)).values()) == {0}
        else:
            assert len(got) == want, got
            assert await consumer.getmany(timeout_ms=300) == {}
    finally:
        await consumer.stop()
    return got


# ---- tick_line ------------------------------------------------------------------------------------------


def test_tick_line_is_a_canonical_follow_up_tick():
    m, _ = member("A1", 90)
    key, value = tick_line(m)
    assert key == b"A1"
    assert orjson.loads(value) == {
        "event_id": "followup:WC-A1-1:2026-11-02T10:30:00+00:00",
        "source": "clock",
        "type": "clock.tick",
        "order_id": "A1",
        "occurred_at": "2026-11-02T10:30:00+00:00",
        "payload": {},
    }
    ev = parse_line(value)
    assert isinstance(ev, ClockTick)
    match = FOLLOW_UP_TICK_ID.match(ev.event_id)
    assert match is not None and match["case"] == "WC-A1-1" and match["key"] == "A1"
    assert ev.occurred_at == T0 + timedelta(minutes=90)
    assert tick_line(m) == (key, value)  # deterministic


def test_tick_line_of_a_ticket_case_has_no_order():
    m, _ = member("ticket:T9", 5)
    key, value = tick_line(m)
    ev = parse_line(value)
    assert key is None
    assert isinstance(ev, ClockTick) and ev.order_id is None
    match = FOLLOW_UP_TICK_ID.match(ev.event_id)
    assert match is not None and match["key"] == "ticket:T9"


@pytest.mark.parametrize(
    "bad",
    [
        "A1\x1fWC-A1-1",  # two fields
        "A1\x1fWC-A1-1\x1f2026-11-02T10:30:00",  # no offset
        "A1\x1fWC-B2-1\x1f2026-11-02T10:30:00+00:00",  # case id of another key
        "A1\x1fcase-1\x1f2026-11-02T10:30:00+00:00",  # not a WC- case id
    ],
)
def test_tick_line_rejects_a_malformed_member(bad):
    with pytest.raises(ValueError):
        tick_line(bad)


# ---- claim and reap (Redis only) ------------------------------------------------------------------------


def test_claim_moves_only_due_members(redis_url):
    async def scenario(r: Redis) -> None:
        q = FollowUpQueue(r, KEYS)
        early, at_now, late = member("A1", -10), member("A2", 0), member("A3", 1)
        await add_due(r, 0, late, at_now, early)
        other = member("B1", -60)
        await add_due(r, 1, other)

        assert await q.claim(0, NOW) == [early[0], at_now[0]]  # due at or before now, oldest first
        assert await zset(r, KEYS.follow_ups(0)) == {late[0]: late[1]}
        lease = NOW + FOLLOW_UP_LEASE_SECONDS
        assert await zset(r, KEYS.follow_ups_inflight(0)) == {early[0]: lease, at_now[0]: lease}
        assert await zset(r, KEYS.follow_ups(1)) == {other[0]: other[1]}  # another partition: untouched
        assert await q.claim(0, NOW) == []  # claimed members are not due any more

        await add_due(r, 2, *(member(f"C{i}", -i) for i in range(5)))
        assert len(await q.claim(2, NOW, limit=3)) == 3
        assert await r.zcard(KEYS.follow_ups(2)) == 2

    with_redis(redis_url, scenario)


def test_concurrent_claims_are_disjoint(redis_url):
    async def scenario(r: Redis) -> None:
        members = [member(f"O{i}", -(i % 17)) for i in range(300)]
        await add_due(r, 3, *members)
        clients = [Redis.from_url(redis_url) for _ in range(8)]
        try:
            queues = [FollowUpQueue(c, KEYS) for c in clients]
            claimed: list[list[str]] = []
            while True:
                batch = await asyncio.gather(*(q.claim(3, NOW, limit=7) for q in queues))
                if not any(batch):
                    break
                claimed += batch
        finally:
            await asyncio.gather(*(c.aclose() for c in clients))
        flat = [m for got in claimed for m in got]
        assert len(flat) == len(set(flat)) == len(members)  # every member claimed exactly once
        assert set(flat) == {m for m, _ in members}
        assert await r.zcard(KEYS.follow_ups(3)) == 0
        assert await r.zcard(KEYS.follow_ups_inflight(3)) == len(members)

    with_redis(redis_url, scenario)


def test_reaper_returns_expired_leases(redis_url):
    async def scenario(r: Redis) -> None:
        q = FollowUpQueue(r, KEYS)
        first, second = member("A1", -5), member("A2", 30)
        await add_due(r, 0, first, second)
        assert await q.claim(0, NOW) == [first[0]]
        later = NOW + 40 * 60
        assert await q.claim(0, later) == [second[0]]

        expiry = NOW + FOLLOW_UP_LEASE_SECONDS
        assert await q.reap(0, expiry - 0.001) == 0  # lease still running
        assert await r.zcard(KEYS.follow_ups(0)) == 0
        assert await q.reap(0, expiry) == 1  # only the first lease expired
        assert await zset(r, KEYS.follow_ups(0)) == {first[0]: expiry}  # due again, now
        assert await zset(r, KEYS.follow_ups_inflight(0)) == {second[0]: later + FOLLOW_UP_LEASE_SECONDS}
        assert await q.reap(0, expiry) == 0

        assert await q.claim(0, expiry) == [first[0]]  # and claimable again

    with_redis(redis_url, scenario)


# ---- run_once (Redis and Kafka) -------------------------------------------------------------------------


def test_nothing_due_publishes_nothing(redis_url, kafka_bootstrap, make_topic):
    topic = make_topic(partitions=4)

    async def scenario(r: Redis) -> None:
        async with producer(kafka_bootstrap) as prod:
            monitor = FollowUpMonitor(r, KEYS, prod, topic)
            assert await monitor.run_once(4, NOW) == 0  # empty Redis
            future = member("A1", 1)
            await add_due(r, 2, future)
            assert await monitor.run_once(4, NOW) == 0  # due one minute later
            assert await zset(r, KEYS.follow_ups(2)) == {future[0]: future[1]}
            assert await r.zcard(KEYS.follow_ups_inflight(2)) == 0
        await drain(kafka_bootstrap, topic, 4, 0)

    with_redis(redis_url, scenario)


def test_run_once_publishes_ticks_to_their_partition(redis_url, kafka_bootstrap, make_topic):
    topic = make_topic(partitions=4)
    due = {p: [member(f"P{p}-O{i}", -i) for i in range(3)] for p in range(4)}
    due[1].append(member("ticket:T7", -1))
    not_due = member("P0-later", 5)

    async def scenario(r: Redis) -> None:
        for p, members in due.items():
            await add_due(r, p, *members)
        await add_due(r, 0, not_due)
        async with producer(kafka_bootstrap) as prod:
            assert await FollowUpMonitor(r, KEYS, prod, topic).run_once(4, NOW) == 13
        got = await drain(kafka_bootstrap, topic, 4, 13)

        expected = {tick_line(m): p for p, members in due.items() for m, _ in members}
        assert {(key, value): p for p, key, value in got} == expected
        for p, key, value in got:
            ev = parse_line(value)
            assert isinstance(ev, ClockTick)
            match = FOLLOW_UP_TICK_ID.match(ev.event_id)
            assert match is not None and match["key"].startswith((f"P{p}-", "ticket:"))
            assert ev.event_id == follow_up_event_id(match["case"], ev.occurred_at)
            assert ev.order_id == (None if match["key"].startswith("ticket:") else match["key"])
            assert key == (ev.order_id.encode() if ev.order_id else None)
        # published claims stay in flight (the worker removes them when it processes the tick)
        assert await zset(r, KEYS.follow_ups(0)) == {not_due[0]: not_due[1]}
        for p, members in due.items():
            assert set(await zset(r, KEYS.follow_ups_inflight(p))) == {m for m, _ in members}

    with_redis(redis_url, scenario)


def test_failed_publish_stays_in_flight_until_the_lease_expires(redis_url, kafka_bootstrap, make_topic):
    topic = make_topic(partitions=4)
    ok, orphan = member("A1", -1), member("A9", -1)

    async def scenario(r: Redis) -> None:
        await add_due(r, 0, ok)
        await add_due(r, 4, orphan)  # the topic has no partition 4: its publish fails
        async with producer(kafka_bootstrap) as prod:
            monitor = FollowUpMonitor(r, KEYS, prod, topic)
            assert await monitor.run_once(5, NOW) == 1
            assert set(await zset(r, KEYS.follow_ups_inflight(4))) == {orphan[0]}
            assert await monitor.run_once(5, NOW + 1) == 0  # still leased: not retried yet
            assert await monitor.queue.reap(4, NOW + FOLLOW_UP_LEASE_SECONDS) == 1
            assert await r.zcard(KEYS.follow_ups(4)) == 1
        await drain(kafka_bootstrap, topic, 4, 1)

    with_redis(redis_url, scenario)


def test_malformed_member_is_dropped(redis_url, kafka_bootstrap, make_topic):
    topic = make_topic(partitions=4)

    async def scenario(r: Redis) -> None:
        await r.zadd(KEYS.follow_ups(0), {"A1\x1fWC-A1-1\x1fnot a time": NOW - 1})
        async with producer(kafka_bootstrap) as prod:
            assert await FollowUpMonitor(r, KEYS, prod, topic).run_once(4, NOW) == 0
        assert await r.zcard(KEYS.follow_ups(0)) == 0
        assert await r.zcard(KEYS.follow_ups_inflight(0)) == 0
        await drain(kafka_bootstrap, topic, 4, 0)

    with_redis(redis_url, scenario)


def test_a_follow_up_fired_twice_is_one_event(redis_url, kafka_bootstrap, make_topic):
    """Claimant dies after publishing: the lease expires, the follow-up is published again with the same id,
    and the pipeline evaluates it once."""
    topic = make_topic(partitions=4)
    replay = run(placed(), fulfillment(), pick_exception(), ticket())
    case = replay.pipeline.state.cases["A1"]
    assert case.next_follow_up_due_at is not None
    due = case.next_follow_up_due_at
    m = follow_up_member("A1", case.wismo_case_id, due.isoformat())

    async def scenario(r: Redis) -> None:
        await r.zadd(KEYS.follow_ups(2), {m: due.timestamp()})
        now = due.timestamp() + 5
        async with producer(kafka_bootstrap) as prod:
            monitor = FollowUpMonitor(r, KEYS, prod, topic)
            assert await monitor.run_once(4, now) == 1
            assert await monitor.run_once(4, now + FOLLOW_UP_LEASE_SECONDS - 1) == 0
            assert await monitor.run_once(4, now + FOLLOW_UP_LEASE_SECONDS) == 1  # reaped, claimed, published
        got = await drain(kafka_bootstrap, topic, 4, 2)
        assert [p for p, _, _ in got] == [2, 2]
        (_, _, first), (_, _, second) = got
        assert first == second
        ev = parse_line(first)
        assert isinstance(ev, ClockTick) and ev.event_id == follow_up_event_id(case.wismo_case_id, due)

        pipeline = replay.pipeline
        assert pipeline.process_line(first) != []  # the follow-up is evaluated ...
        assert pipeline.stats.follow_ups_fired == 1
        assert pipeline.process_line(second) == []  # ... once: the second publish is a duplicate
        assert pipeline.stats.duplicates == 1
        assert pipeline.stats.follow_ups_fired == 1

    with_redis(redis_url, scenario)
