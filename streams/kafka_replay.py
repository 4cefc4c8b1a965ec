"""Shadow replay from Kafka: read the input topics from a time or from offsets, run ``wismo replay``'s pipeline.

``wismo replay --from-kafka [--since TS | --offsets SPEC] --out DIR`` backtests the decision engine on what
the input topics actually hold. Guarantees:

* **no side effects**: the consumer has no group id (partitions are assigned by hand, nothing is committed,
  no consumer group is created), nothing is produced, and Redis is never touched; state lives in the
  in-memory :class:`~wismo.pipeline.Pipeline` of :func:`wismo.replay.replay_files`;
* **no topic is created**: topics are listed first and only existing input topics are assigned (a Metadata
  request naming an unknown topic would create it on Tansu, or on Kafka with auto-create);
* **a snapshot**: each partition is read up to its end offset (high watermark) captured before reading, so
  records appended during the replay are not read and the run terminates (Tansu under-reports ListOffsets
  "latest", so the end is confirmed by one fetch per partition, see
  :func:`~wismo.streams.progress.true_end_offsets`). Every record read
  is held in memory until the replay, which needs a global order;
* **deterministic order**: all records, sorted by (record timestamp, position of the topic in
  :data:`~wismo.streams.worker.INPUT_TOPICS`, offset, partition); a clock sweep (``clock.tick`` without an
  order, sent to every partition of the clock topic by :func:`~wismo.streams.publisher.publish_lines` and
  the workers' sweep timer) is delivered once per publish, at its first copy;
* **the same outputs as a file replay** of the same events in that order: the same writer
  (:class:`~wismo.sinks.files.NdjsonTopicWriter`) and loop (:func:`~wismo.replay.run_lines`); only a
  dead letter's ``source_name`` (``"<topic>[<partition>]"``), ``line`` (the offset) and ``dlq_id`` differ.

Records the workers produced themselves are on the input topics too and are replayed as they are: a ticket
forwarded to its order's partition (same ``event_id``) is absorbed by the pipeline's dedupe (counted in
``stats.duplicates``), with no output; a follow-up tick from the monitor is left out (:func:`_in_order`): the
replay's pipeline fires the follow-ups of its own commitments, as a file replay does.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from wismo.streams.progress import true_end_offsets
from wismo.streams.publisher import route
from wismo.streams.worker import CLOCK_TOPIC, INPUT_TOPICS

from wismo.pipeline import FOLLOW_UP_TICK_ID, Output, Pipeline
from wismo.policy import Policy
from wismo.replay import InputLine, Progress, replay_lines

__all__ = [
    "Offsets",
    "parse_from_offsets",
    "parse_since",
    "read_input_lines",
    "replay_from_kafka",
    "replay_lines",
]

Offsets = dict[tuple[str, int], int]
"""(topic, partition) -> the first offset to read."""

POLL_MS = 500
MAX_RECORDS = 50_000
IDLE_TIMEOUT_S = 30.0
"""Give up (TimeoutError) when no record arrives for this long while a partition is short of its end."""

_SPEC_ITEM = re.compile(r"^(?P<topic>[A-Za-z0-9._-]+):(?P<partition>\d+):(?P<offset>\d+)$")
_EPOCH_MS = re.compile(r"^\d+$")


# ---- CLI parsing --------------------------------------------------------------------------------------------


def parse_from_offsets(spec: str) -> Offsets:
    """``topic:partition:offset[,topic:partition:offset...]`` -> {(topic, partition): offset}.

    Topic names are as on the broker (with any prefix) or canonical (``wismo.in.oms``, the prefix is added
    by :func:`read_input_lines`). Raises ValueError naming the bad item, or a partition given twice."""
    out: Offsets = {}
    items = [s.strip() for s in spec.split(",")]
    if not spec.strip() or any(not s for s in items):
        raise ValueError(f"--offsets wants topic:partition:offset[,...], got {spec!r}")
    for item in items:
        m = _SPEC_ITEM.match(item)
        if m is None:
            raise ValueError(
                f"--offsets item {item!r} is not topic:partition:offset "
                "(topic of [A-Za-z0-9._-], partition and offset non-negative integers)"
            )
        key = (m["topic"], int(m["partition"]))
        if key in out:
            raise ValueError(f"--offsets names {key[0]}:{key[1]} twice")
        out[key] = int(m["offset"])
    return out


def parse_since(spec: str) -> int:
    """An RFC 3339 timestamp with a UTC offset (``2026-11-02T09:00:00Z``, ``...+01:00``) or epoch
    milliseconds (``1793610000000``) -> epoch milliseconds. Raises ValueError otherwise: a time without an
    offset is ambiguous, and a number below 10^11 (other than 0) looks like epoch seconds."""
    text = spec.strip()
    if _EPOCH_MS.match(text):
        ms = int(text)
        if 0 < ms < 10**11:
            raise ValueError(f"--since {text} looks like epoch seconds; give epoch milliseconds ({ms * 1000})")
        return ms
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--since wants an RFC 3339 timestamp like 2026-11-02T09:00:00Z or epoch milliseconds, got {spec!r}"
        ) from None
    if when.utcoffset() is None:
        raise ValueError(f"--since {spec!r} needs a time and a UTC offset, like 2026-11-02T09:00:00Z or ...+01:00")
    return int(when.timestamp() * 1000)


# ---- reading ------------------------------------------------------------------------------------------------


def _resolve_offsets(offsets: Mapping[tuple[str, int], int], inputs: list[str], prefix: str) -> Offsets:
    """Map canonical names to prefixed ones; ValueError for a topic that is not an input topic."""
    out: Offsets = {}
    for (topic, partition), offset in offsets.items():
        name = topic if topic in inputs else prefix + topic
        if name not in inputs:
            raise ValueError(f"{topic} is not an input topic (one of: {', '.join(inputs)})")
        if offset < 0 or partition < 0:
            raise ValueError(f"{topic}:{partition}:{offset}: partition and offset must be non-negative")
        out[(name, partition)] = offset
    return out


async def read_input_lines(
    bootstrap: str,
    *,
    topic_prefix: str = "",
    since_ms: int | None = None,
    offsets: Mapping[tuple[str, int], int] | None = None,
    until_end: bool = True,
    idle_timeout_s: float = IDLE_TIMEOUT_S,
) -> list[InputLine]:
    """Every record of every existing input topic (``topic_prefix`` + each of ``INPUT_TOPICS``), in
    processing order, as :class:`InputLine` (``source_name`` ``"<topic>[<partition>]"``, ``line`` = offset,
    ``raw`` = the record value, ``b""`` for a null one, which the pipeline dead-letters as the worker does).

    Start of each partition: the offset given in ``offsets`` (a topic may be named canonically; an offset
    past the end reads nothing, one below the log start reads from the log start), else the first offset
    whose timestamp is at or after ``since_ms`` (the broker's time index: Kafka semantics, later records are
    all read even if their timestamps are older), else the beginning. Missing input topics are skipped, but a
    topic or partition named in ``offsets`` must exist (ValueError).

    ``until_end`` (default): stop at the end offsets captured before reading. False: also read what is
    appended meanwhile, until a poll returns nothing. Raises TimeoutError when no record arrives for
    ``idle_timeout_s`` while a partition is short of its end; Kafka errors (unreachable broker) propagate."""
    names = [topic_prefix + t for t in INPUT_TOPICS]
    explicit = _resolve_offsets(offsets or {}, names, topic_prefix)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id="wismo-kafka-replay",
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 << 20,
        fetch_max_wait_ms=POLL_MS,
    )
    await consumer.start()
    try:
        window = await read_window(consumer, names, since_ms, idle_timeout_s)
        known = {(tp.topic, tp.partition) for tp in window.tps}
        for topic, partition in explicit:
            if (topic, partition) not in known:
                what = f"partition {partition} of {topic}" if topic in window.existing else f"topic {topic}"
                raise ValueError(f"--offsets names {what}, which does not exist")
        if not window.tps:
            return []
        tps, begins, starts, ends = window.tps, window.begins, window.starts, window.ends
        for (topic, partition), offset in explicit.items():
            tp = TopicPartition(topic, partition)
            starts[tp] = min(max(begins[tp], offset), ends[tp])
        records = await fetch_range(consumer, tps, starts, ends, until_end=until_end, idle_timeout_s=idle_timeout_s)
    finally:
        await consumer.stop()
    return _in_order(records, names, topic_prefix + CLOCK_TOPIC)


_Rec = tuple[int, int, int, str, bytes]
"""(timestamp, offset, partition, topic, value) of one record."""


@dataclass
class ReadWindow:
    """What a read-only snapshot read covers: the topics that exist, their partitions, and per partition the
    log start, the first offset to read and the end captured before reading."""

    existing: set[str]
    tps: list[TopicPartition]
    begins: dict[TopicPartition, int]
    starts: dict[TopicPartition, int]
    ends: dict[TopicPartition, int]


async def read_window(
    consumer: AIOKafkaConsumer, names: list[str], since_ms: int | None, idle_timeout_s: float
) -> ReadWindow:
    """The partitions of those of ``names`` that exist (topics are listed first: a Metadata request naming a
    missing topic would create it), assigned to ``consumer``; each read from the first record at or after
    ``since_ms`` (the broker's time index), else from its log start, up to its true end (see
    :func:`~wismo.streams.progress.true_end_offsets`)."""
    existing = set(await consumer.topics())
    tps: list[TopicPartition] = []
    for name in names:
        if name in existing:
            tps += [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or ())]
    if not tps:
        return ReadWindow(existing, [], {}, {}, {})
    consumer.assign(tps)
    begins: dict[TopicPartition, int] = await consumer.beginning_offsets(tps)
    ends = await true_end_offsets(consumer, tps, begins=begins, timeout=idle_timeout_s)
    starts = dict(begins)
    if since_ms is not None:
        found = await consumer.offsets_for_times({tp: since_ms for tp in tps})
        for tp in tps:
            hit = found.get(tp)
            # No match -> nothing to read. Tansu answers a time after the last record with offset 0 and
            # timestamp -1 instead of None: treat a negative timestamp as "no match" too.
            if hit is None or hit.timestamp is None or hit.timestamp < 0 or hit.offset >= ends[tp]:
                starts[tp] = ends[tp]
            else:
                starts[tp] = max(begins[tp], hit.offset)
    return ReadWindow(existing, tps, begins, starts, ends)


async def fetch_range(
    consumer: AIOKafkaConsumer,
    tps: list[TopicPartition],
    starts: Mapping[TopicPartition, int],
    ends: Mapping[TopicPartition, int],
    *,
    until_end: bool,
    idle_timeout_s: float,
) -> list[_Rec]:
    """Records ``(timestamp, offset, partition, topic, value)`` of ``tps`` from ``starts``: up to ``ends`` when
    ``until_end``, else also what arrives meanwhile until a poll returns nothing. TimeoutError when no record
    arrives for ``idle_timeout_s`` while a partition is short of its end."""
    pending: set[TopicPartition] = set()
    for tp in tps:
        consumer.seek(tp, starts[tp])
        if starts[tp] < ends[tp]:
            pending.add(tp)
        elif until_end:
            consumer.pause(tp)
    out: list[_Rec] = []
    last_progress = time.monotonic()
    while pending or not until_end:
        batch = await consumer.getmany(timeout_ms=POLL_MS, max_records=MAX_RECORDS)
        if batch:
            last_progress = time.monotonic()
        elif not pending:  # until_end=False: caught up and nothing more arrived within a poll
            break
        elif time.monotonic() - last_progress > idle_timeout_s:
            short = ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(pending))
            raise TimeoutError(f"no record for {idle_timeout_s:.0f} s while reading to the end of {short}")
        for tp, msgs in batch.items():
            stop = ends[tp] if until_end else None
            for m in msgs:
                if stop is not None and m.offset >= stop:
                    break
                out.append((m.timestamp or 0, m.offset, tp.partition, tp.topic, m.value or b""))
        for tp in list(pending):
            if await consumer.position(tp) >= ends[tp]:
                pending.discard(tp)
                if until_end:
                    consumer.pause(tp)
    return out


def _is_follow_up_tick(value: bytes) -> bool:
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError:
        return False
    eid = obj.get("event_id") if isinstance(obj, dict) else None
    return isinstance(eid, str) and FOLLOW_UP_TICK_ID.match(eid) is not None


def _in_order(records: list[_Rec], names: list[str], clock_topic: str) -> list[InputLine]:
    """Sort into processing order (topic index by ``names``), drop the follow-up ticks the workers' monitor
    published (derived from the recorded run's commitments, not input: the replay schedules its own, exactly
    as a file replay does) and the extra copies of broadcast sweeps: a sweep value is delivered as many times
    as it occurs on any one partition (once per publish)."""
    rank = {name: i for i, name in enumerate(names)}
    records.sort(key=lambda r: (r[0], rank[r[3]], r[1], r[2]))
    per_partition: defaultdict[bytes, Counter[int]] = defaultdict(Counter)
    delivered: Counter[bytes] = Counter()
    out: list[InputLine] = []
    for _, offset, partition, topic, value in records:
        if topic == clock_topic and b'"followup:' in value and _is_follow_up_tick(value):
            continue  # the monitor's tick for a commitment: the replay's pipeline keeps its own (Pipeline._fire_own)
        if topic == clock_topic and b"clock.tick" in value and route(value).broadcast:
            seen = per_partition[value]
            seen[partition] += 1
            if seen[partition] <= delivered[value]:
                continue  # another partition's copy of a sweep already delivered
            delivered[value] = seen[partition]
        out.append(InputLine(value, f"{topic}[{partition}]", offset))
    return out


# ---- replaying ----------------------------------------------------------------------------------------------


def replay_from_kafka(
    bootstrap: str,
    out_dir: str | Path,
    policy: Policy,
    *,
    topic_prefix: str = "",
    since_ms: int | None = None,
    offsets: Mapping[tuple[str, int], int] | None = None,
    progress: Progress | None = None,
    tap: Callable[[list[Output]], None] | None = None,
) -> Pipeline:
    """Shadow-replay the input topics into ``out_dir`` (see the module docstring for the guarantees):
    :func:`read_input_lines` then :func:`replay_lines`. Returns the pipeline (its ``stats`` are the
    summary). Synchronous: runs its own event loop, so call it from synchronous code. Raises ValueError for
    bad ``offsets``, TimeoutError / aiokafka ``KafkaError`` when the broker does not answer."""
    lines = asyncio.run(read_input_lines(bootstrap, topic_prefix=topic_prefix, since_ms=since_ms, offsets=offsets))
    return replay_lines(lines, out_dir, policy, progress=progress, tap=tap)
