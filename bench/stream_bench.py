"""Streaming throughput and latency benchmark: the wismo worker against Kafka and Redis, with two baselines.

One run, one broker, one Redis (a local Tansu broker and redis-server unless ``--bootstrap`` / ``--redis``
are given), the measured systems one at a time, each in its own child process, with its own
uniquely-prefixed topics (input topics with 4 partitions, created before anything starts) and its own group:

1. **raw aiokafka passthrough**: a consumer group on one input topic; per batch ``getmany`` -> ``send`` every
   message to an output topic -> await the acknowledgements -> ``commit``. Measured by the group's commits.
2. **bare faust agent**: ``faust.App`` (``memory://`` store, web off) with one agent (concurrency 1)
   forwarding every message to an output topic. Measured by the output topic's end offsets (faust commits
   only every ~3 s, which would blur a run of a few seconds).
3. **wismo worker**: :class:`wismo.streams.worker.Worker` (dedupe, context, routing, handlers, outputs, Redis
   state) on a pre-loaded backlog of the replay bench's realistic mix, published with
   :func:`~wismo.streams.publisher.publish_lines`. Measured by the group's committed input offsets
   (``AIOKafkaAdminClient.list_consumer_group_offsets`` with the partitions named, as Tansu needs).
4. **latency**: a fresh worker on fresh topics and keys, fed the same kind of mix paced at ``--rate`` events/s
   for ``--latency-seconds``; for every event that produces a ``wismo.decisions`` record, the time from the
   moment the script hands it to the producer to the moment the first decision with ``caused_by`` equal to
   its ``event_id`` reaches a consumer of the decisions topic (p50/p90/p99/max). Events without a decision
   (duplicates, bad input, ticket messages forwarded to another partition) are left out.

The baselines forward the very same event lines (same sizes, same keys) as the wismo backlog. Throughput is
"sustained": messages committed (or forwarded) between the first and the last observed progress, divided by
the time between the two observations (sampled every 0.1 s), so the group join is not counted.

    python bench/stream_bench.py [--events N] [--rate R] [--latency-seconds S] [--skip-baselines]
                                 [--bootstrap HOST:PORT] [--redis redis://HOST:PORT/0]

The machine running it should not be busy: the broker, Redis, the measured process and this script share it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from replay_bench import Generator
from wismo.streams.publisher import publish_lines, route
from wismo.streams.topics import TopicSpec, create_topics, load_topics

from wismo.local_servers import start_kafka, start_redis

TARGET_FAUST_RATIO = 1.0
PARTITIONS = 4
FAST_GROUP: dict[str, int] = {"session_timeout_ms": 3000, "heartbeat_interval_ms": 500}
"""Consumer-group settings for Tansu, which holds a group's first JoinGroup for about half the session timeout."""
SAMPLE_S = 0.1
START_TIMEOUT_S = 90.0
"""Longest wait for a measured system's first progress (group join, faust start-up)."""
STALL_TIMEOUT_S = 30.0
"""A run with no progress for this long is stopped and reported as stalled."""
WARMUP_EVENTS = 400
DAYS_PER_ORDER = 28.0 / 20_000
"""Order density of the replay bench's default mix (``--orders 20000`` over its 28 days)."""
SETTLE_S = 1.0
"""Once every published message is committed, how long the committed offsets must stay put before a wismo run
counts as done (the worker re-publishes order-less tickets it matched to another partition's order)."""
DECISIONS_TOPIC = "wismo.decisions"
CAUSED_BY = b'"caused_by":"'

ENV_BOOTSTRAP = "STREAM_BENCH_BOOTSTRAP"
ENV_IN = "STREAM_BENCH_IN"
ENV_OUT = "STREAM_BENCH_OUT"
ENV_GROUP = "STREAM_BENCH_GROUP"


# ---- the event mix --------------------------------------------------------------------------------------------


def event_lines(n: int, seed: int) -> list[bytes]:
    """``n`` lines of the replay bench's realistic mix: the whole history of just enough orders, placed at the
    replay bench's default density (20,000 orders over 28 days), cut to ``n``."""
    orders = max(1, n // 10 + 1)
    while True:
        days = max(1.0, DAYS_PER_ORDER * orders)
        lines = Generator(orders, seed=seed, days=days).build()
        if len(lines) >= n:
            return lines[:n]
        orders = int(orders * n / max(1, len(lines)) * 1.05) + 1


def event_id(line: bytes) -> str | None:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    eid = obj.get("event_id") if isinstance(obj, dict) else None
    return eid if isinstance(eid, str) else None


def caused_by(value: bytes) -> str | None:
    """The ``caused_by`` of a decision record (a substring search: this runs while the latency is measured)."""
    i = value.find(CAUSED_BY)
    if i < 0:
        try:
            obj = orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
        cid = obj.get("caused_by") if isinstance(obj, dict) else None
        return cid if isinstance(cid, str) else None
    start = i + len(CAUSED_BY)
    end = value.find(b'"', start)
    return value[start:end].decode() if end > start else None


# ---- Kafka helpers --------------------------------------------------------------------------------------------


async def make_topics(bootstrap: str, specs: Sequence[TopicSpec]) -> None:
    report = await create_topics(bootstrap, specs)
    if not all(r.status == "created" for r in report.results):
        raise SystemExit(f"could not create the benchmark topics:\n{report.table()}")


def wismo_specs(prefix: str) -> list[TopicSpec]:
    return [replace(s, name=prefix + s.name) for s in load_topics()]


class Offsets:
    """Committed offsets of a group and end offsets of topics (one admin client and one plain consumer)."""

    def __init__(self, bootstrap: str) -> None:
        self.admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="stream-bench-admin")
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, client_id="stream-bench-offsets")

    async def __aenter__(self) -> Offsets:
        await self.admin.start()
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()
        await self.admin.close()

    async def committed(self, group: str, tps: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        got = await self.admin.list_consumer_group_offsets(group, partitions=list(tps))
        return {tp: max(0, got[tp].offset) if tp in got else 0 for tp in tps}

    async def ends(self, tps: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        got: dict[TopicPartition, int] = await self.consumer.end_offsets(list(tps))
        return got


def tps_of(specs: Sequence[TopicSpec], role: str) -> list[TopicPartition]:
    return [TopicPartition(s.name, p) for s in specs if s.role == role for p in range(s.partitions)]


# ---- child processes ------------------------------------------------------------------------------------------


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def problems(self) -> list[str]:
        """Log lines that look like trouble (errors, tracebacks, warnings), in order."""
        words = ("error", "traceback", "exception", "warning", "critical")
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return [line for line in text.splitlines() if any(w in line.lower() for w in words)]

    def stats(self) -> dict[str, Any]:
        """The ``STATS {...}`` line a wismo child prints when it stops."""
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        for line in reversed(text.splitlines()):
            if line.startswith("STATS "):
                data = orjson.loads(line[6:])
                return data if isinstance(data, dict) else {}
        return {}


def spawn(name: str, mode: str, env: dict[str, str], logdir: Path) -> Child:
    log = logdir / f"{name}.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child", mode],
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    return Child(name, proc, log)


def child_raw() -> None:
    """Raw aiokafka passthrough: getmany -> send -> await acks -> commit, until SIGTERM."""

    async def run() -> None:
        bootstrap, src, dst = os.environ[ENV_BOOTSTRAP], os.environ[ENV_IN], os.environ[ENV_OUT]
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2, max_batch_size=1 << 20)
        consumer = AIOKafkaConsumer(
            src,
            bootstrap_servers=bootstrap,
            group_id=os.environ[ENV_GROUP],
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 << 20,
            fetch_max_wait_ms=50,
            **FAST_GROUP,
        )
        stopping = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
        await producer.start()
        await consumer.start()
        try:
            while not stopping.is_set():
                batch = await consumer.getmany(timeout_ms=50, max_records=2000)
                if not batch:
                    continue
                futures = [await producer.send(dst, m.value, key=m.key) for msgs in batch.values() for m in msgs]
                await asyncio.gather(*futures)
                await consumer.commit({tp: msgs[-1].offset + 1 for tp, msgs in batch.items() if msgs})
        finally:
            await consumer.stop()
            await producer.stop()

    asyncio.run(run())


def child_faust() -> None:
    """A bare faust agent (concurrency 1) forwarding every message, until SIGTERM."""
    import faust
    from faust.worker import Worker as FaustWorker

    app = faust.App(
        os.environ[ENV_GROUP],
        broker=f"kafka://{os.environ[ENV_BOOTSTRAP]}",
        store="memory://",
        web_enabled=False,
        broker_session_timeout=6,
        broker_heartbeat_interval=0.5,
        topic_partitions=PARTITIONS,
    )
    src = app.topic(os.environ[ENV_IN], key_serializer="raw", value_serializer="raw")
    dst = app.topic(os.environ[ENV_OUT], key_serializer="raw", value_serializer="raw")

    async def forward(stream: Any) -> None:
        async for key, value in stream.items():
            await dst.send(key=key, value=value)

    app.agent(src, concurrency=1, name="stream_bench.forward")(forward)
    FaustWorker(app, loglevel="WARNING", quiet=True).execute_from_commandline()


def child_wismo() -> None:
    """The wismo worker, configured from ``WISMO_*``, until SIGTERM; prints its stats as ``STATS {...}``."""
    import logging

    from wismo.streams.worker import Worker

    from wismo.policy import load_policy
    from wismo.settings import WorkerSettings

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def run() -> None:
        settings = WorkerSettings()
        worker = Worker(settings, load_policy(settings.policy_file))
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, lambda: asyncio.ensure_future(worker.stop()))
        await worker.start()
        t0 = time.perf_counter()
        await worker.run()
        s, p = worker.stats, worker.pipeline.stats
        stats = {
            "batches": s.batches,
            "messages": s.messages,
            "outputs": s.outputs,
            "redis_failures": s.redis_failures,
            "batch_fallbacks": s.batch_fallbacks,
            "recovered_outboxes": s.recovered_outboxes,
            "redelivered": s.batch.redelivered,
            "forwarded": s.batch.forwarded,
            "events_in": p.events_in,
            "evaluations": p.evaluations,
            "duplicates": p.duplicates,
            "duplicate_status": p.duplicate_status,
            "dead_letters": p.dead_letters,
            "follow_ups_fired": p.follow_ups_fired,
            "outputs_by_topic": dict(p.outputs),
            "seconds_alive": round(time.perf_counter() - t0, 1),
        }
        print("STATS " + orjson.dumps(stats).decode(), flush=True)

    asyncio.run(run())


# ---- measuring ------------------------------------------------------------------------------------------------


@dataclass
class Result:
    system: str
    messages: int
    """messages the rate counts (committed or forwarded between the first and last progress sample)"""
    seconds: float
    startup_s: float
    """from the child's start to its first observed progress (group join included)"""
    measured_by: str
    complete: bool
    note: str = ""

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Progress:
    samples: list[tuple[float, int]] = field(default_factory=list)
    started_at: float = 0.0
    complete: bool = False
    failure: str = ""

    def result(self, system: str, measured_by: str) -> Result:
        moving = [(t, n) for t, n in self.samples if n > 0]
        if len(moving) < 2:
            return Result(system, 0, 0.0, 0.0, measured_by, False, self.failure or "no progress observed")
        (t1, n1), (t2, n2) = moving[0], moving[-1]
        # the last sample that actually moved (a run may sit at its final count for a few samples)
        for t, n in reversed(moving):
            if n < n2:
                break
            t2 = t
        return Result(system, n2 - n1, t2 - t1, t1 - self.started_at, measured_by, self.complete, self.failure)


async def track(
    child: Child, poll: Callable[[], Awaitable[tuple[int, bool]]], *, started_at: float, label: str
) -> Progress:
    """Sample ``poll()`` (count, done) every :data:`SAMPLE_S` until done, a stall, or the child's death."""
    prog = Progress(started_at=started_at)
    last_n, last_move = 0, time.monotonic()
    next_report = time.monotonic() + 5
    while True:
        n, done = await poll()
        now = time.monotonic()
        prog.samples.append((now, n))
        if n != last_n:
            last_n, last_move = n, now
        if done:
            prog.complete = True
            return prog
        if not child.alive():
            prog.failure = f"{child.name} exited with code {child.proc.returncode}"
            return prog
        limit = START_TIMEOUT_S if n == 0 else STALL_TIMEOUT_S
        if now - last_move > limit:
            prog.failure = f"stalled: no progress for {limit:.0f} s at {n:,} messages"
            return prog
        if now >= next_report:
            print(f"  {label}: {n:,} ...", flush=True)
            next_report = now + 5
        await asyncio.sleep(SAMPLE_S)


async def bench_raw(bootstrap: str, run_id: str, lines: list[bytes], logdir: Path) -> tuple[Result, Child]:
    prefix = f"bench-{run_id}-raw."
    src, dst, group = prefix + "in", prefix + "out", prefix + "group"
    await make_topics(bootstrap, [TopicSpec(src, PARTITIONS), TopicSpec(dst, PARTITIONS)])
    total = await publish_plain(bootstrap, src, lines)
    in_tps = [TopicPartition(src, p) for p in range(PARTITIONS)]
    env = {ENV_BOOTSTRAP: bootstrap, ENV_IN: src, ENV_OUT: dst, ENV_GROUP: group}
    async with Offsets(bootstrap) as off:
        started = time.monotonic()
        child = spawn("raw-aiokafka", "raw", env, logdir)
        try:

            async def poll() -> tuple[int, bool]:
                n = sum((await off.committed(group, in_tps)).values())
                return n, n >= total

            prog = await track(child, poll, started_at=started, label="raw aiokafka committed")
        finally:
            child.stop()
    return prog.result("raw aiokafka passthrough", "group commits"), child


async def bench_faust(bootstrap: str, run_id: str, lines: list[bytes], logdir: Path) -> tuple[Result, Child]:
    prefix = f"bench-{run_id}-faust."
    src, dst, group = prefix + "in", prefix + "out", prefix + "app"
    await make_topics(bootstrap, [TopicSpec(src, PARTITIONS), TopicSpec(dst, PARTITIONS)])
    total = await publish_plain(bootstrap, src, lines)
    out_tps = [TopicPartition(dst, p) for p in range(PARTITIONS)]
    env = {ENV_BOOTSTRAP: bootstrap, ENV_IN: src, ENV_OUT: dst, ENV_GROUP: group}
    async with Offsets(bootstrap) as off:
        started = time.monotonic()
        child = spawn("faust-agent", "faust", env, logdir)
        try:

            async def poll() -> tuple[int, bool]:
                n = sum((await off.ends(out_tps)).values())
                return n, n >= total

            prog = await track(child, poll, started_at=started, label="faust forwarded")
        finally:
            child.stop()
    return prog.result("bare faust agent", "output end offsets"), child


async def publish_plain(bootstrap: str, topic: str, lines: list[bytes]) -> int:
    """Every line to one topic, keyed as :func:`route` keys it (a sweep once, not per partition)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=1 << 20)
    await producer.start()
    try:
        futures = [await producer.send(topic, line, key=route(line).key) for line in lines]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return len(lines)


def wismo_env(bootstrap: str, redis_url: str, prefix: str, group: str, key_prefix: str) -> dict[str, str]:
    return {
        "WISMO_KAFKA_BOOTSTRAP": bootstrap,
        "WISMO_REDIS_URL": redis_url,
        "WISMO_TOPIC_PREFIX": prefix,
        "WISMO_GROUP_ID": group,
        "WISMO_KEY_PREFIX": key_prefix,
        "WISMO_CLOCK": "event",
        "WISMO_WEB_PORT": "0",
    }


async def publish_wismo(bootstrap: str, prefix: str, lines: list[bytes]) -> dict[TopicPartition, int]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=1 << 20)
    await producer.start()
    try:
        return await publish_lines(producer, lines, topic_prefix=prefix)
    finally:
        await producer.stop()


async def bench_wismo(
    bootstrap: str, redis_url: str, run_id: str, lines: list[bytes], logdir: Path
) -> tuple[Result, Child]:
    prefix = f"bench-{run_id}-wismo."
    group = prefix + "group"
    specs = wismo_specs(prefix)
    await make_topics(bootstrap, specs)
    published = await publish_wismo(bootstrap, prefix, lines)
    in_tps = tps_of(specs, "input")
    env = wismo_env(bootstrap, redis_url, prefix, group, f"bench-{run_id}-wismo")
    async with Offsets(bootstrap) as off:
        started = time.monotonic()
        child = spawn("wismo-worker", "wismo", env, logdir)
        try:

            async def poll() -> tuple[int, bool]:
                committed = await off.committed(group, in_tps)
                n = sum(committed.values())
                if any(committed[tp] < end for tp, end in published.items()):
                    return n, False
                ends = await off.ends(in_tps)  # forwarded (re-keyed) tickets extend the ticket topic
                return n, all(committed[tp] >= ends[tp] for tp in in_tps)

            prog = await track(child, poll, started_at=started, label="wismo committed")
            ends = await off.ends(in_tps)
        finally:
            child.stop()
    res = prog.result("wismo worker", "group commits")
    extra = sum(ends.values()) - sum(published.values())
    bcast = sum(published.values()) - len(lines)
    res.note = "; ".join(
        x
        for x in (
            res.note,
            f"input messages: {len(lines):,} lines + {bcast:,} sweep copies + {extra:,} forwarded tickets",
        )
        if x
    )
    return res, child


# ---- latency --------------------------------------------------------------------------------------------------


@dataclass
class Latency:
    offered: int
    offered_rate: float
    matched: int
    millis: list[float]
    backlog_drain_s: float
    complete: bool
    note: str = ""

    def pct(self, q: float) -> float:
        if not self.millis:
            return float("nan")
        k = min(len(self.millis) - 1, max(0, round(q * (len(self.millis) - 1))))
        return self.millis[k]


async def bench_latency(
    bootstrap: str, redis_url: str, run_id: str, rate: float, seconds: float, seed: int, logdir: Path
) -> tuple[Latency, Child]:
    prefix = f"bench-{run_id}-lat."
    group = prefix + "group"
    specs = wismo_specs(prefix)
    await make_topics(bootstrap, specs)
    paced_n = max(1, int(rate * seconds))
    lines = event_lines(WARMUP_EVENTS + paced_n, seed + 1)
    warmup, paced = lines[:WARMUP_EVENTS], lines[WARMUP_EVENTS:]
    plan = []  # (topic, key, partitions or None, event id, line)
    for line in paced:
        r = route(line)
        plan.append((prefix + r.topic, r.key, r.broadcast, event_id(line), line))
    in_tps = tps_of(specs, "input")
    dec_tps = [TopicPartition(prefix + DECISIONS_TOPIC, p) for p in range(PARTITIONS)]
    env = wismo_env(bootstrap, redis_url, prefix, group, f"bench-{run_id}-lat")
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    child = spawn("wismo-latency", "wismo", env, logdir)
    note = ""
    complete = True
    async with Offsets(bootstrap) as off:
        try:
            warm_ends = await publish_wismo(bootstrap, prefix, warmup)

            async def caught_up(targets: dict[TopicPartition, int], what: str) -> bool:
                deadline = time.monotonic() + START_TIMEOUT_S
                while time.monotonic() < deadline and child.alive():
                    committed = await off.committed(group, in_tps)
                    if all(committed[tp] >= end for tp, end in targets.items()):
                        return True
                    await asyncio.sleep(SAMPLE_S)
                print(f"  latency: the worker did not catch up with {what}", flush=True)
                return False

            if not await caught_up(warm_ends, "the warm-up events"):
                return Latency(0, 0.0, 0, [], 0.0, False, "warm-up not consumed"), child

            reader = AIOKafkaConsumer(
                bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10, client_id="bench-reader"
            )
            await reader.start()
            reader.assign(dec_tps)
            await reader.seek_to_beginning(*dec_tps)
            reading = True

            async def read() -> None:
                while reading:
                    got = await reader.getmany(timeout_ms=20)
                    now = time.monotonic()
                    for msgs in got.values():
                        for m in msgs:
                            cid = caused_by(m.value or b"")
                            if cid is not None and cid in sent and cid not in seen:
                                seen[cid] = now

            reader_task = asyncio.create_task(read())
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
            await producer.start()
            try:
                futures = []
                partitions_of: dict[str, list[int]] = {}
                t0 = time.monotonic()
                for i, (topic, key, broadcast, eid, line) in enumerate(plan):
                    due = t0 + i / rate
                    now = time.monotonic()
                    if due > now + 0.001:
                        await asyncio.sleep(due - now)
                    if eid is not None:
                        sent.setdefault(eid, time.monotonic())
                    if broadcast:
                        if topic not in partitions_of:
                            partitions_of[topic] = sorted(await producer.partitions_for(topic))
                        for p in partitions_of[topic]:
                            futures.append(await producer.send(topic, line, partition=p))
                    else:
                        futures.append(await producer.send(topic, line, key=key))
                t_last = time.monotonic()
                await asyncio.gather(*futures)
            finally:
                await producer.stop()
            offered_rate = len(plan) / (t_last - t0) if t_last > t0 else 0.0
            # everything consumed (forwarded tickets included) and every decision read
            ends = await off.ends(in_tps)
            if not await caught_up(ends, "the paced events"):
                complete = False
                note = "the worker did not consume every paced event"
            drained = time.monotonic() - t_last
            dec_ends = await off.ends(dec_tps)
            deadline = time.monotonic() + STALL_TIMEOUT_S
            while time.monotonic() < deadline:
                positions = [await reader.position(tp) for tp in dec_tps]
                if all(pos >= dec_ends[tp] for pos, tp in zip(positions, dec_tps, strict=True)):
                    break
                await asyncio.sleep(SAMPLE_S)
            reading = False
            await reader_task
            await reader.stop()
        finally:
            child.stop()
    millis = sorted((seen[eid] - sent[eid]) * 1000 for eid in seen)
    return Latency(len(plan), offered_rate, len(millis), millis, drained, complete, note), child


# ---- report ---------------------------------------------------------------------------------------------------


def table(results: Sequence[Result]) -> str:
    header = ("system", "messages", "seconds", "msg/s", "start-up s", "measured by", "complete")
    rows = [
        (
            r.system,
            f"{r.messages:,}",
            f"{r.seconds:.2f}",
            f"{r.rate:,.0f}",
            f"{r.startup_s:.1f}",
            r.measured_by,
            "yes" if r.complete else "NO",
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    right = {1, 2, 3, 4}
    out = []
    for row in [header, *rows]:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        out.append("  ".join(cells).rstrip())
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def report_child(child: Child, limit: int = 12) -> None:
    problems = child.problems()
    if not problems:
        print(f"  {child.name}: log clean ({child.log})")
        return
    print(f"  {child.name}: {len(problems)} error/warning line(s) in {child.log}; first {min(limit, len(problems))}:")
    for line in problems[:limit]:
        print(f"    {line[:300]}")


@contextlib.contextmanager
def servers(bootstrap: str | None, redis_url: str | None, logdir: Path) -> Iterator[tuple[str, str]]:
    with contextlib.ExitStack() as stack:
        if bootstrap is None:
            kafka = stack.enter_context(start_kafka(log_dir=logdir))
            bootstrap = kafka.bootstrap
            print(f"started tansu on {bootstrap} (in-memory)", flush=True)
        if redis_url is None:
            local = stack.enter_context(start_redis())
            redis_url = local.url
            print(f"started redis-server on {redis_url} (AOF, appendfsync always)", flush=True)
        yield bootstrap, redis_url


async def measure(args: argparse.Namespace, bootstrap: str, redis_url: str, logdir: Path) -> int:
    run_id = uuid.uuid4().hex[:6]
    t0 = time.perf_counter()
    lines = event_lines(args.events, args.seed)
    size = sum(len(x) for x in lines)
    print(
        f"generated {len(lines):,} events of the replay bench mix ({size / 1e6:.1f} MB, "
        f"{size / len(lines):.0f} B per event) in {time.perf_counter() - t0:.1f} s; run id {run_id}",
        flush=True,
    )
    results: list[Result] = []
    children: list[Child] = []
    if not args.skip_baselines:
        print("measuring raw aiokafka passthrough ...", flush=True)
        res, child = await bench_raw(bootstrap, run_id, lines, logdir)
        results.append(res)
        children.append(child)
        print("measuring bare faust agent ...", flush=True)
        res, child = await bench_faust(bootstrap, run_id, lines, logdir)
        results.append(res)
        children.append(child)
    print("measuring wismo worker ...", flush=True)
    wismo, child = await bench_wismo(bootstrap, redis_url, run_id, lines, logdir)
    results.append(wismo)
    children.append(child)
    wismo_stats = child.stats()
    lat: Latency | None = None
    lat_stats: dict[str, Any] = {}
    if args.latency_seconds > 0:
        print(f"measuring wismo latency at {args.rate:,.0f} events/s for {args.latency_seconds:g} s ...", flush=True)
        lat, child = await bench_latency(
            bootstrap, redis_url, run_id, args.rate, args.latency_seconds, args.seed, logdir
        )
        children.append(child)
        lat_stats = child.stats()

    print()
    print(f"throughput ({len(lines):,} events, {PARTITIONS} input partitions, one process per system)")
    print(table(results))
    for r in results:
        if r.note:
            print(f"  {r.system}: {r.note}")
    if wismo_stats:
        print(
            "  wismo worker stats: "
            + ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in wismo_stats.items())
        )
    print()
    by_name = {r.system: r for r in results}
    if "bare faust agent" in by_name and by_name["bare faust agent"].rate > 0:
        ratio = wismo.rate / by_name["bare faust agent"].rate
        verdict = "meets" if ratio >= TARGET_FAUST_RATIO else "BELOW"
        print(f"wismo / faust agent:  {ratio:.2f}  (target >= {TARGET_FAUST_RATIO:.1f}: {verdict})")
    if "raw aiokafka passthrough" in by_name and by_name["raw aiokafka passthrough"].rate > 0:
        print(f"wismo / raw aiokafka: {wismo.rate / by_name['raw aiokafka passthrough'].rate:.3f}")
    if lat is not None:
        print()
        print(
            f"latency, event produced -> its wismo.decisions record read "
            f"(offered {args.rate:,.0f}/s for {args.latency_seconds:g} s):"
        )
        print(
            f"  {lat.offered:,} events paced at {lat.offered_rate:,.0f}/s; {lat.matched:,} had a decision "
            f"(the rest: duplicates, bad input, no evaluation); backlog drained {lat.backlog_drain_s:.2f} s "
            f"after the last send"
        )
        if lat.millis:
            print(
                f"  p50 {lat.pct(0.50):,.1f} ms   p90 {lat.pct(0.90):,.1f} ms   p99 {lat.pct(0.99):,.1f} ms   "
                f"max {lat.millis[-1]:,.1f} ms"
            )
        if lat.note or not lat.complete:
            print(f"  INCOMPLETE: {lat.note}")
        if lat_stats:
            print(
                "  worker stats: "
                + ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in lat_stats.items())
            )
    print()
    print("child logs:")
    for c in children:
        report_child(c)
    print(f"total {time.perf_counter() - t0:.0f} s")
    ok = all(r.complete for r in results) and (lat is None or lat.complete)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="wismo streaming throughput and latency benchmark")
    ap.add_argument("--events", type=int, default=40_000, help="backlog size for the throughput runs (40000)")
    ap.add_argument("--rate", type=float, default=2000.0, help="offered load for the latency run, events/s (2000)")
    ap.add_argument("--latency-seconds", type=float, default=15.0, help="length of the latency run; 0 skips it (15)")
    ap.add_argument("--skip-baselines", action="store_true", help="measure only the wismo worker")
    ap.add_argument("--bootstrap", default=None, help="Kafka bootstrap servers (default: start a local Tansu)")
    ap.add_argument("--redis", default=None, help="Redis URL (default: start a local redis-server)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--logs", default=None, help="directory for the child processes' logs (default: a temp dir)")
    ap.add_argument("--child", choices=("raw", "faust", "wismo"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child == "raw":
        child_raw()
        return 0
    if args.child == "faust":
        child_faust()
        return 0
    if args.child == "wismo":
        child_wismo()
        return 0
    if args.events < 100 or args.rate <= 0 or args.latency_seconds < 0:
        ap.error("--events must be at least 100, --rate positive, --latency-seconds not negative")
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if args.logs:
            logdir = Path(args.logs)
            logdir.mkdir(parents=True, exist_ok=True)
        else:
            logdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="wismo-stream-bench-")))
        bootstrap, redis_url = stack.enter_context(servers(args.bootstrap, args.redis, logdir))
        code = asyncio.run(measure(args, bootstrap, redis_url, logdir))
        if not args.logs:
            print("(pass --logs DIR to keep the child logs)")
    print(f"wall time {time.perf_counter() - t0:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
