"""Where ``wismo report`` reads output records from: a replay output directory, or the output topics in Kafka.

Both give a :class:`ReportInput`: the records of each canonical output topic (EVENTS.md) as parsed JSON, in
the order they were written (Kafka: by partition, then offset, which keeps each order's records in
processing order), plus notes on what could not be read. A line or message that is not JSON is skipped and
noted, never fatal. Reading Kafka is read-only: no consumer group, nothing committed or produced, and no
topic created (topics are listed first and only existing ones assigned).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from wismo.records import OUTPUT_TOPICS

MAX_NOTES_PER_TOPIC = 5
"""Unreadable lines listed per topic (all are counted)."""
POLL_MS = 500
IDLE_TIMEOUT_S = 30.0
"""Give up (TimeoutError) when no record arrives for this long while a partition is short of its end."""


class ReportSourceError(ValueError):
    """The source cannot be read at all (no such directory, no output file in it): a message for the user."""


@dataclass
class ReportInput:
    records: dict[str, list[Any]] = field(default_factory=dict)
    """Canonical output topic -> parsed records (every topic present, possibly empty)."""
    source: str = ""
    notes: list[str] = field(default_factory=list)


class _Collector:
    def __init__(self, source: str) -> None:
        self.result = ReportInput({t: [] for t in OUTPUT_TOPICS}, source)
        self._bad: dict[str, int] = {}

    def add(self, topic: str, raw: bytes, where: str) -> None:
        try:
            self.result.records[topic].append(orjson.loads(raw))
        except orjson.JSONDecodeError as exc:
            n = self._bad.get(topic, 0) + 1
            self._bad[topic] = n
            if n <= MAX_NOTES_PER_TOPIC:
                self.result.notes.append(f"{where}: not JSON ({exc}); skipped")

    def done(self) -> ReportInput:
        for topic, n in self._bad.items():
            if n > MAX_NOTES_PER_TOPIC:
                self.result.notes.append(f"{topic}: {n} unreadable records in all, skipped")
        return self.result


def read_dir(path: str | Path) -> ReportInput:
    """The ``<topic>.ndjson`` files ``wismo replay`` writes in ``path``. A missing topic file is noted (and
    read as empty); ReportSourceError when ``path`` is not a directory or holds none of them."""
    d = Path(path)
    if not d.is_dir():
        raise ReportSourceError(f"{path} is not a directory (give the --out DIR of a wismo replay)")
    files = {t: d / f"{t}.ndjson" for t in OUTPUT_TOPICS}
    present = {t: f for t, f in files.items() if f.is_file()}
    if not present:
        names = ", ".join(f"{t}.ndjson" for t in OUTPUT_TOPICS)
        raise ReportSourceError(f"{path} holds none of the replay output files ({names})")
    out = _Collector(str(d))
    for topic in OUTPUT_TOPICS:
        f = present.get(topic)
        if f is None:
            out.result.notes.append(f"{files[topic].name} is missing; read as empty")
            continue
        with open(f, "rb") as fh:
            for n, line in enumerate(fh, 1):
                line = line.strip()
                if line:
                    out.add(topic, line, f"{f.name} line {n}")
    return out.done()


async def read_kafka_async(
    bootstrap: str, *, topic_prefix: str = "", since_ms: int | None = None, idle_timeout_s: float = IDLE_TIMEOUT_S
) -> ReportInput:
    """Every record of the output topics (``topic_prefix`` + each canonical name) up to the end offsets
    taken before reading; with ``since_ms``, from the first record whose broker timestamp (when the worker
    published it) is at or after it. A missing topic is noted and read as empty. Raises TimeoutError when a
    partition stops answering and aiokafka's KafkaError when the broker cannot be reached."""
    from aiokafka import AIOKafkaConsumer

    from wismo.streams.kafka_replay import fetch_range, read_window

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id="wismo-report",
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=POLL_MS,
    )
    where = f"Kafka {bootstrap}" + (f", topic prefix {topic_prefix!r}" if topic_prefix else "")
    out = _Collector(where + (f", since {since_ms} ms" if since_ms is not None else ""))
    try:
        await consumer.start()
    except BaseException:
        await consumer.stop()  # a failed start leaves the client open
        raise
    try:
        canonical = {topic_prefix + t: t for t in OUTPUT_TOPICS}
        window = await read_window(consumer, list(canonical), since_ms, idle_timeout_s)
        for name in canonical:
            if name not in window.existing:
                out.result.notes.append(f"topic {name} does not exist; read as empty")
        if not window.tps:
            return out.done()
        records = await fetch_range(
            consumer, window.tps, window.starts, window.ends, until_end=True, idle_timeout_s=idle_timeout_s
        )
    finally:
        await consumer.stop()
    records.sort(key=lambda r: (r[3], r[2], r[1]))  # topic, partition, offset
    for _, offset, partition, topic, value in records:
        out.add(canonical[topic], value, f"{topic}[{partition}] offset {offset}")
    return out.done()


def read_kafka(
    bootstrap: str, *, topic_prefix: str = "", since_ms: int | None = None, idle_timeout_s: float = IDLE_TIMEOUT_S
) -> ReportInput:
    """:func:`read_kafka_async` on its own event loop (call it from synchronous code)."""
    return asyncio.run(
        read_kafka_async(bootstrap, topic_prefix=topic_prefix, since_ms=since_ms, idle_timeout_s=idle_timeout_s)
    )
