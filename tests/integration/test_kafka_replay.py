"""``replay_from_kafka`` against the session broker: the same outputs as a file replay of the same events, a start
time or start offsets skip earlier events, and the replay is a shadow (nothing produced, no group, no topic
created). Also the CLI spec parsers."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # type: ignore[import-untyped,unused-ignore]
from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped,unused-ignore]
from wismo.streams.kafka_replay import parse_from_offsets, parse_since, read_input_lines, replay_from_kafka
from wismo.streams.publisher import publish_lines
from wismo.streams.topics import create_topics, load_topics

from wismo.pipeline import Pipeline
from wismo.policy import load_policy
from wismo.records import OUTPUT_TOPICS, TOPIC_DLQ
from wismo.replay import read_lines, replay_files

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SPLIT = SCENARIOS / "batch_03_split_shipment_delivered_and_pending.ndjson"
SWEEPS = SCENARIOS / "proactive_follow_up_due_no_change.ndjson"  # two clock.tick sweeps (no order_id)
BAD = SCENARIOS / "bad_input_dead_letters.ndjson"  # dead letters, one line not even an object
DLQ_LOCATION = ("source_name", "line", "dlq_id")


def _policy():
    return load_policy().with_mode_override("live")


async def _create(bootstrap: str, prefix: str) -> None:
    specs = [dataclasses.replace(s, name=prefix + s.name) for s in load_topics()]
    report = await create_topics(bootstrap, specs)
    assert report.ok, report.table()


async def _publish(bootstrap: str, paths: list[str | Path], prefix: str) -> dict[TopicPartition, int]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        return await publish_lines(producer, [x.raw for x in read_lines(paths)], topic_prefix=prefix)
    finally:
        await producer.stop()


async def _broker_view(bootstrap: str, prefix: str) -> tuple[set[str], set[str], dict[str, int]]:
    """(all topics, all consumer groups, records on each output topic): what a shadow replay must not change."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = set(await admin.list_topics())
        groups = {g[0] for g in await admin.list_consumer_groups()}
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        outputs: dict[str, int] = {}
        for topic in OUTPUT_TOPICS:
            name = prefix + topic
            tps = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or ())]
            assert tps, name
            outputs[name] = sum((await consumer.end_offsets(tps)).values())
    finally:
        await consumer.stop()
    return topics, groups, outputs


def _records(out: Path, topic: str) -> set[bytes]:
    """The topic's lines as a set; a dead letter without where it was read from (file line vs offset)."""
    lines = (out / f"{topic}.ndjson").read_bytes().splitlines()
    if topic != TOPIC_DLQ:
        return set(lines)
    stripped = set()
    for line in lines:
        rec = orjson.loads(line)
        for key in DLQ_LOCATION:
            rec.pop(key, None)
        stripped.add(orjson.dumps(rec, option=orjson.OPT_SORT_KEYS))
    return stripped


def _assert_same(kafka_out: Path, file_out: Path, kafka: Pipeline, file: Pipeline) -> None:
    for topic in OUTPUT_TOPICS:
        assert _records(kafka_out, topic) == _records(file_out, topic), topic
    ks, fs = kafka.stats, file.stats
    assert (ks.events_in, ks.duplicates, ks.dead_letters, ks.evaluations, ks.follow_ups_fired) == (
        fs.events_in,
        fs.duplicates,
        fs.dead_letters,
        fs.evaluations,
        fs.follow_ups_fired,
    )
    assert ks.outputs == fs.outputs


def test_kafka_replay_writes_what_a_file_replay_writes(kafka_bootstrap, unique_name, tmp_path):
    prefix = unique_name("kr") + "."
    files: list[str | Path] = [SPLIT, SWEEPS, BAD]
    asyncio.run(_create(kafka_bootstrap, prefix))
    asyncio.run(_publish(kafka_bootstrap, files, prefix))
    before = asyncio.run(_broker_view(kafka_bootstrap, prefix))

    policy = _policy()
    t0 = time.perf_counter()
    kafka = replay_from_kafka(kafka_bootstrap, tmp_path / "kafka", policy, topic_prefix=prefix)
    elapsed = time.perf_counter() - t0
    file = replay_files(files, tmp_path / "file", policy)

    _assert_same(tmp_path / "kafka", tmp_path / "file", kafka, file)
    assert sum(file.stats.outputs.values()) > 0 and file.stats.outputs[TOPIC_DLQ] > 0
    assert file.stats.events_by_type["clock.tick"] == 2  # each sweep once, not once per clock partition
    assert kafka.stats.events_by_type == file.stats.events_by_type
    assert asyncio.run(_broker_view(kafka_bootstrap, prefix)) == before  # nothing produced, no group, no topic
    assert elapsed < 20, elapsed


def test_kafka_replay_reads_in_processing_order_and_names_the_source(kafka_bootstrap, unique_name):
    prefix = unique_name("kr") + "."
    asyncio.run(_create(kafka_bootstrap, prefix))
    asyncio.run(_publish(kafka_bootstrap, [SPLIT, SWEEPS], prefix))
    lines = asyncio.run(read_input_lines(kafka_bootstrap, topic_prefix=prefix))
    assert [x.raw for x in lines] == [x.raw for x in read_lines([SPLIT, SWEEPS])]
    first = lines[0]
    assert first.source_name == f"{prefix}wismo.in.oms[{_partition_of(first.source_name)}]" and first.line == 0


def _partition_of(source_name: str) -> int:
    return int(source_name.rsplit("[", 1)[1].rstrip("]"))


def test_since_and_offsets_skip_earlier_events(kafka_bootstrap, unique_name, tmp_path):
    prefix = unique_name("kr") + "."
    asyncio.run(_create(kafka_bootstrap, prefix))
    after_first = asyncio.run(_publish(kafka_bootstrap, [SPLIT], prefix))
    time.sleep(0.3)  # Tansu matches offsets_for_times on the time it received a record
    since = int(time.time() * 1000)
    time.sleep(0.05)
    asyncio.run(_publish(kafka_bootstrap, [SWEEPS], prefix))

    policy = _policy()
    file = replay_files([SWEEPS], tmp_path / "file", policy)
    by_time = replay_from_kafka(kafka_bootstrap, tmp_path / "since", policy, topic_prefix=prefix, since_ms=since)
    _assert_same(tmp_path / "since", tmp_path / "file", by_time, file)

    # The offsets a consumer would have committed after the first file (canonical topic names work too).
    offsets = {(tp.topic.removeprefix(prefix), tp.partition): end for tp, end in after_first.items()}
    by_offset = replay_from_kafka(kafka_bootstrap, tmp_path / "offsets", policy, topic_prefix=prefix, offsets=offsets)
    _assert_same(tmp_path / "offsets", tmp_path / "file", by_offset, file)

    later = int(time.time() * 1000) + 60_000  # after every record: Tansu answers offset 0, timestamp -1
    assert asyncio.run(read_input_lines(kafka_bootstrap, topic_prefix=prefix, since_ms=later)) == []


def test_missing_topics_are_skipped_not_created(kafka_bootstrap, unique_name, tmp_path):
    prefix = unique_name("kr") + "."

    async def topics() -> set[str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            return {t for t in await admin.list_topics() if t.startswith(prefix)}
        finally:
            await admin.close()

    pipeline = replay_from_kafka(kafka_bootstrap, tmp_path / "out", _policy(), topic_prefix=prefix)
    assert pipeline.stats.events_in == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(f"{t}.ndjson" for t in OUTPUT_TOPICS)
    with pytest.raises(ValueError, match="does not exist"):
        asyncio.run(read_input_lines(kafka_bootstrap, topic_prefix=prefix, offsets={("wismo.in.oms", 0): 0}))
    assert asyncio.run(topics()) == set()


def test_offsets_must_name_input_topics_and_existing_partitions(kafka_bootstrap, unique_name):
    prefix = unique_name("kr") + "."
    asyncio.run(_create(kafka_bootstrap, prefix))
    with pytest.raises(ValueError, match="not an input topic"):
        asyncio.run(read_input_lines(kafka_bootstrap, topic_prefix=prefix, offsets={("wismo.replies", 0): 0}))
    with pytest.raises(ValueError, match="partition 9 of"):
        asyncio.run(read_input_lines(kafka_bootstrap, topic_prefix=prefix, offsets={("wismo.in.oms", 9): 0}))


# ---- the CLI's spec parsers (no broker) ---------------------------------------------------------------------


def test_parse_since():
    assert parse_since("2026-11-02T09:00:00Z") == 1793610000000
    assert parse_since("2026-11-02T10:00:00+01:00") == 1793610000000
    assert parse_since(" 1793610000000 ") == 1793610000000
    assert parse_since("0") == 0
    for bad, message in [
        ("2026-11-02T09:00:00", "UTC offset"),
        ("2026-11-02", "UTC offset"),
        ("1793610000", "epoch seconds"),
        ("yesterday", "RFC 3339"),
        ("", "RFC 3339"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_since(bad)


def test_parse_from_offsets():
    assert parse_from_offsets("wismo.in.oms:0:5, p.wismo.in.clock:3:0") == {
        ("wismo.in.oms", 0): 5,
        ("p.wismo.in.clock", 3): 0,
    }
    for bad, message in [
        ("", "topic:partition:offset"),
        ("wismo.in.oms:1", "is not topic:partition:offset"),
        ("wismo.in.oms:1:2,", "topic:partition:offset"),
        ("wismo.in.oms:1:-2", "is not topic:partition:offset"),
        ("wismo.in.oms:1:2,wismo.in.oms:1:3", "twice"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_from_offsets(bad)
