"""The broker and Redis behaviour wismo relies on, against the session's servers (local Tansu/redis-server in CI).

Kafka: keyed produce/consume (same key -> same partition, order kept), consumer-group commit and committed-offset
fetch (consumer API and admin API), resuming a group from its commits. Redis: data survives stop/start, restart
and SIGKILL. Also the local-server helpers' own guarantees (advertised address, start failure quotes the log).
"""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
import redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # type: ignore[import-untyped,unused-ignore]
from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped,unused-ignore]
from conftest import FAST_GROUP, RedisServer

from wismo.local_servers import LocalServerError, kafka_metadata_brokers, start_kafka, start_redis

DEADLINE_S = 20.0


async def _produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> dict[bytes, set[int]]:
    """Send records in order; returns the partitions each key landed on."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    landed: dict[bytes, set[int]] = {}
    try:
        for key, value in records:
            meta = await producer.send_and_wait(topic, key=key, value=value)
            landed.setdefault(key, set()).add(meta.partition)
    finally:
        await producer.stop()
    return landed


async def _drain(consumer: AIOKafkaConsumer, want: int) -> list[tuple[int, int, bytes, bytes]]:
    """(partition, offset, key, value) of the next ``want`` records, polling until a deadline."""
    got: list[tuple[int, int, bytes, bytes]] = []
    deadline = time.monotonic() + DEADLINE_S
    while len(got) < want and time.monotonic() < deadline:
        batches = await consumer.getmany(timeout_ms=200)
        for tp, messages in batches.items():
            got += [(tp.partition, m.offset, m.key, m.value) for m in messages]
    return got


def test_keyed_produce_consume_roundtrip(kafka_bootstrap, make_topic):
    topic = make_topic(partitions=3)
    records = [(f"order-{i % 5}".encode(), f"event-{i}".encode()) for i in range(30)]

    async def scenario() -> None:
        landed = await _produce(kafka_bootstrap, topic, records)
        assert all(len(parts) == 1 for parts in landed.values()), landed  # a key always maps to one partition
        assert len({p for parts in landed.values() for p in parts}) > 1  # and keys spread over partitions
        consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest")
        await consumer.start()
        try:
            consumer.assign([TopicPartition(topic, p) for p in range(3)])
            got = await _drain(consumer, len(records))
        finally:
            await consumer.stop()
        assert sorted((k, v) for _, _, k, v in got) == sorted(records)
        for key in landed:  # per key, consumption order is production order
            sent = [v for k, v in records if k == key]
            assert [v for _, _, k, v in got if k == key] == sent

    asyncio.run(scenario())


def test_group_commit_fetch_and_resume(kafka_bootstrap, make_topic, unique_name):
    """A group's commits are fetched by the consumer API and the admin API, and a new member resumes from them.

    Partitions are assigned manually: the commit/fetch path is what is tested, without Tansu's join delays.
    """
    topic = make_topic(partitions=2)
    group = unique_name("g")
    tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
    records = [(f"k{i}".encode(), f"v{i}".encode()) for i in range(20)]

    async def consumer() -> AIOKafkaConsumer:
        c = AIOKafkaConsumer(
            bootstrap_servers=kafka_bootstrap, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False
        )
        await c.start()
        c.assign(tps)
        return c

    async def scenario() -> None:
        await _produce(kafka_bootstrap, topic, records)
        first = await consumer()
        try:
            got = await _drain(first, len(records))
            assert len(got) == len(records)
            ends = await first.end_offsets(tps)
            half = {tp: ends[tp] // 2 for tp in tps}
            await first.commit(half)
            assert {tp: await first.committed(tp) for tp in tps} == half
        finally:
            await first.stop()

        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            # Explicit partitions: on Tansu the "all partitions" form (partitions=None) breaks the connection.
            offsets = await admin.list_consumer_group_offsets(group, partitions=tps)
        finally:
            await admin.close()
        assert {tp: meta.offset for tp, meta in offsets.items()} == half

        second = await consumer()
        try:
            assert {tp: await second.position(tp) for tp in tps} == half
            rest = await _drain(second, sum(ends[tp] - half[tp] for tp in tps))
            assert sorted((p, o) for p, o, _, _ in rest) == sorted(
                (tp.partition, o) for tp in tps for o in range(half[tp], ends[tp])
            )
        finally:
            await second.stop()

    asyncio.run(scenario())


def test_subscribed_group_gets_all_partitions_and_commits(kafka_bootstrap, make_topic, unique_name):
    topic = make_topic(partitions=4)
    group = unique_name("g")

    async def scenario() -> None:
        await _produce(kafka_bootstrap, topic, [(f"k{i}".encode(), b"x") for i in range(12)])
        c = AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka_bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_wait_ms=100,
            **FAST_GROUP,
        )
        await c.start()
        try:
            got = await _drain(c, 12)
            assert len(got) == 12
            assert {tp.partition for tp in c.assignment()} == {0, 1, 2, 3}
            await c.commit()
            ends = await c.end_offsets(list(c.assignment()))
            assert {tp: await c.committed(tp) for tp in c.assignment()} == ends
        finally:
            await c.stop()

    asyncio.run(scenario())


def test_redis_data_survives_stop_start_restart_and_kill(redis_server: RedisServer, redis_url: str):
    def client() -> redis.Redis:
        return redis.Redis.from_url(redis_url, socket_timeout=5)

    with client() as c:
        c.set("case:A1001", "v1")
        c.hset("order:A1001", mapping={"status": "picked", "n": "1"})
    redis_server.restart()
    with client() as c:
        assert c.get("case:A1001") == b"v1"
        c.rpush("log", "after-restart")
    redis_server.stop()
    with pytest.raises(redis.ConnectionError), client() as c:
        c.ping()
    redis_server.start()
    with client() as c:
        assert c.hgetall("order:A1001") == {b"status": b"picked", b"n": b"1"}
        c.rpush("log", "before-kill")
    redis_server.kill()  # a crash: appendfsync always keeps every acknowledged write
    redis_server.start()
    with client() as c:
        assert c.lrange("log", 0, -1) == [b"after-restart", b"before-kill"]
        assert redis_server.url == redis_url


def test_redis_url_gives_each_test_an_empty_database(redis_url: str):
    with redis.Redis.from_url(redis_url) as c:
        assert c.dbsize() == 0
        c.set("left-behind", "1")


def test_redis_url_gives_each_test_an_empty_database_again(redis_url: str):
    with redis.Redis.from_url(redis_url) as c:
        assert c.dbsize() == 0


def test_local_kafka_advertises_its_loopback_address():
    with start_kafka() as kafka:
        assert kafka.bootstrap == f"127.0.0.1:{kafka.port}"
        assert [(h, p) for _, h, p in kafka_metadata_brokers("127.0.0.1", kafka.port)] == [("127.0.0.1", kafka.port)]
        assert kafka.log_path.is_file()
        pid = kafka.pid
    assert pid is not None and not kafka.running
    assert not kafka.log_path.exists()  # its temp dir is removed


def test_start_failure_raises_with_log_tail_and_leaves_nothing(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))  # bound, not listening: both servers fail to bind, nothing answers probes
        port = taken.getsockname()[1]
        with pytest.raises(LocalServerError, match=r"(?s)redis exited with status.*Address already in use"):
            start_redis(port=port)
        with pytest.raises(LocalServerError, match=r"(?s)tansu exited with status.*AddrInUse") as err:
            start_kafka(port=port, log_dir=tmp_path)
    assert str(tmp_path / "tansu.log") in str(err.value)  # a given log dir is kept and named
    assert "AddrInUse" in (tmp_path / "tansu.log").read_text()
