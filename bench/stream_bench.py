"""Streaming throughput and latency benchmark: the wismo worker against Kafka and Redis, with two baselines.

One run, one Redis, and a fresh local Tansu broker for each measurement (Tansu holds everything in memory and
slows down as earlier measurements fill it), unless ``--bootstrap`` / ``--redis`` are given; the measured
systems one at a time, each in its own child process, with its own uniquely-prefixed topics (input topics with
4 partitions, created before anything starts) and its own group:

1. **raw aiokafka passthrough**: a consumer group on one input topic; per batch ``getmany`` -> ``send`` every
   message to an output topic -> await the acknowledgements -> ``commit``.
2. **bare faust agent**: ``faust.App`` (``memory://`` store, web off, session timeout 6 s, heartbeat 0.5 s)
   with one agent (concurrency 1) forwarding every message to an output topic, run by ``faust.Worker``.
3. **wismo worker**: :class:`wismo.streams.worker.Worker` (dedupe, context, routing, handlers, outputs, Redis
   state) on a pre-loaded backlog of the replay bench's realistic mix, published with
   :func:`~wismo.streams.publisher.publish_lines`, ``clock=event``.
4. **latency**: a fresh worker on fresh topics and keys, fed the same kind of mix paced at ``--rate`` events/s
   for ``--latency-seconds`` (after a short warm-up); for every event that produces a ``wismo.decisions``
   record, the time from the moment the script hands it to the producer to the moment the first decision with
   ``caused_by`` equal to its ``event_id`` reaches a consumer of the decisions topic (p50/p90/p99/max). Events
   without a decision (duplicates, bad input, ticket messages forwarded to another partition) are left out.

The baselines forward the very same event lines (same sizes, same keys) as the wismo backlog; the table also
shows ``replay_files`` of those lines in this process (the engine alone, no Kafka or Redis) for reference.

Throughput is sustained: the group join and start-up are not counted.

* wismo: messages committed between the first and the last observed change of the group's committed input
  offsets (``AIOKafkaAdminClient.list_consumer_group_offsets`` with the partitions named, as Tansu needs,
  sampled every 0.1 s), over the time between the two observations;
* baselines: output records over the span of their producer timestamps (stamped by the forwarding process
  as it hands each record to its producer): a raw passthrough forwards 40k messages in well under a second,
  which sampling cannot time, and faust commits only every ~3 s. The group's commits say when it is done.

No ``end_offsets`` anywhere: Tansu answers ListOffsets(latest) with the base offset of the partition's last
record batch plus one, not the high watermark. ``cpu`` is the measured process's CPU time over the measured
window (100% = one core), ``broker+redis cpu`` that of the local broker and Redis together (``-`` when both are
external). ``STREAM_BENCH_PROFILE=1`` runs the wismo children under cProfile (in their logs).

    python bench/stream_bench.py [--events N] [--rate R] [--latency-seconds S] [--skip-baselines]
                                 [--no-mix-sweeps] [--bootstrap HOST:PORT] [--redis redis://HOST:PORT/0]

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
from replay_bench import Generator, full_replay
from wismo.streams.publisher import publish_lines, route
from wismo.streams.topics import TopicSpec, create_topics, load_topics

from wismo.local_servers import start_kafka, start_redis
from wismo.policy import load_policy

TARGET_FAUST_RATIO = 1.0
TARGET_P99_MS = 100.0
"""issue 3: p99 end-to-end latency at 2,000 events/s offered"""
PARTITIONS = 4
FAST_GROUP: dict[str, int] = {"session_timeout_ms": 3000, "heartbeat_interval_ms": 500}
"""Consumer-group settings for Tansu, which holds a group's first JoinGroup for about half the session timeout."""
SAMPLE_S = 0.1
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
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
ENV_PROFILE = "STREAM_BENCH_PROFILE"
"""Set (to anything) in the environment of this script to run the wismo worker children under cProfile; the
profile goes to their logs (keep them with ``--logs``)."""


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
    """Committed offsets of a consumer group (admin API; the partitions named, as Tansu needs).

    No ``end_offsets``: Tansu answers ListOffsets(latest) with the base offset of the partition's last record
    batch plus one, not the high watermark, so it undercounts whenever a producer batched several records."""

    def __init__(self, bootstrap: str) -> None:
        self.admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="stream-bench-admin")

    async def __aenter__(self) -> Offsets:
        await self.admin.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.admin.close()

    async def committed(self, group: str, tps: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        got = await self.admin.list_consumer_group_offsets(group, partitions=list(tps))
        return {tp: max(0, got[tp].offset) if tp in got else 0 for tp in tps}


@dataclass
class Scan:
    count: int = 0
    first_ms: int = 0
    last_ms: int = 0


async def scan(bootstrap: str, tps: Sequence[TopicPartition], expect: int, idle_s: float = 3.0) -> Scan:
    """Read ``tps`` from the beginning: how many records, and the first and last producer timestamps. Stops at
    ``expect`` records or after ``idle_s`` without a new one."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, client_id="stream-bench-scan")
    await reader.start()
    out = Scan(first_ms=2**62)
    try:
        reader.assign(list(tps))
        await reader.seek_to_beginning(*tps)
        last_new = time.monotonic()
        while out.count < expect and time.monotonic() - last_new < idle_s:
            got = await reader.getmany(timeout_ms=200, max_records=10_000)
            for msgs in got.values():
                for m in msgs:
                    out.count += 1
                    out.first_ms = min(out.first_ms, m.timestamp)
                    out.last_ms = max(out.last_ms, m.timestamp)
                last_new = time.monotonic()
    finally:
        await reader.stop()
    if not out.count:
        out.first_ms = 0
    return out


def tps_of(specs: Sequence[TopicSpec], role: str) -> list[TopicPartition]:
    return [TopicPartition(s.name, p) for s in specs if s.role == role for p in range(s.partitions)]


# ---- child processes ------------------------------------------------------------------------------------------


SERVER_PIDS: list[int] = []
"""The local broker's and Redis's process ids (none for ``--bootstrap`` / ``--redis`` servers)."""


def pid_cpu(pid: int | None) -> float:
    """User + system CPU seconds of a process so far (Linux ``/proc``; NaN elsewhere or once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def servers_cpu() -> float:
    """CPU seconds of the local broker and Redis together (NaN when they are not local)."""
    return sum(pid_cpu(pid) for pid in SERVER_PIDS) if SERVER_PIDS else float("nan")


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def cpu_seconds(self) -> float:
        return pid_cpu(self.proc.pid)

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
            "sweep_sliced": s.batch.sweep_sliced,
            "sweep_slices_overtaken": p.sweep_slices_overtaken,
            "events_in": p.events_in,
            "evaluations": p.evaluations,
            "duplicates": p.duplicates,
            "duplicate_status": p.duplicate_status,
            "dead_letters": p.dead_letters,
            "follow_ups_fired": p.follow_ups_fired,
            "seconds_alive": round(time.perf_counter() - t0, 1),
            "phase_seconds": {k: round(v, 2) for k, v in s.seconds.items()},
        }
        print("STATS " + orjson.dumps(stats).decode(), flush=True)

    if not os.environ.get(ENV_PROFILE):
        asyncio.run(run())
        return
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    try:
        asyncio.run(run())
    finally:
        prof.disable()
        st = pstats.Stats(prof, stream=sys.stdout)
        st.sort_stats("tottime").print_stats(30)
        st.sort_stats("cumulative").print_stats(40)


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
    cpu: float = float("nan")
    """CPU use of the measured process over the measured window (1.0 = one core busy)"""
    servers_cpu: float = float("nan")
    """CPU use of the local broker and Redis together over the same window"""

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Progress:
    samples: list[tuple[float, int, float, float]] = field(default_factory=list)
    """(wall time, messages, the child's CPU seconds, the servers' CPU seconds) every :data:`SAMPLE_S`"""
    complete: bool = False
    failure: str = ""

    def cpu_at(self, t: float, which: int) -> float:
        """CPU seconds (``which``: 2 the child, 3 the servers) at wall time ``t``, interpolated between samples."""
        prev = None
        for sample in self.samples:
            ts, cpu = sample[0], sample[which]
            if ts >= t:
                if prev is None or ts == prev[0]:
                    return cpu
                return prev[1] + (cpu - prev[1]) * (t - prev[0]) / (ts - prev[0])
            prev = (ts, cpu)
        return prev[1] if prev is not None else float("nan")

    def cpu_share(self, t1: float, t2: float, which: int = 2) -> float:
        return (self.cpu_at(t2, which) - self.cpu_at(t1, which)) / (t2 - t1) if t2 > t1 else float("nan")

    def result(self, system: str, measured_by: str, started_at: float) -> Result:
        moving = [(t, n) for t, n, *_ in self.samples if n > 0]
        if len(moving) < 2:
            return Result(system, 0, 0.0, 0.0, measured_by, False, self.failure or "too few progress samples")
        (t1, n1), (t2, n2) = moving[0], moving[-1]
        for t, n in reversed(moving):  # the first sample at the final count (a run may sit there a while)
            if n < n2:
                break
            t2 = t
        cpus = self.cpu_share(t1, t2), self.cpu_share(t1, t2, 3)
        return Result(system, n2 - n1, t2 - t1, t1 - started_at, measured_by, self.complete, self.failure, *cpus)


async def track(child: Child, poll: Callable[[], Awaitable[tuple[int, bool]]], *, label: str) -> Progress:
    """Sample ``poll()`` (count, done) every :data:`SAMPLE_S` until done, a stall, or the child's death."""
    prog = Progress()
    last_n, last_move = 0, time.monotonic()
    next_report = time.monotonic() + 10
    while True:
        n, done = await poll()
        now = time.monotonic()
        prog.samples.append((time.time(), n, child.cpu_seconds(), servers_cpu()))
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
            next_report = now + 10
        await asyncio.sleep(SAMPLE_S)


async def bench_forwarder(
    kind: str, bootstrap: str, run_id: str, lines: list[bytes], logdir: Path
) -> tuple[Result, Child]:
    """A baseline (``raw`` or ``faust``) forwarding ``lines`` from one topic to another. Done when its group
    has committed everything; the rate comes from the output records' producer timestamps (first to last),
    which the forwarding process stamps as it hands each record to its producer."""
    system, name = {"raw": ("raw aiokafka passthrough", "raw-aiokafka"), "faust": ("bare faust agent", "faust-agent")}[
        kind
    ]
    prefix = f"bench-{run_id}-{kind}."
    src, dst, group = prefix + "in", prefix + "out", prefix + "group"
    await make_topics(bootstrap, [TopicSpec(src, PARTITIONS), TopicSpec(dst, PARTITIONS)])
    total = await publish_plain(bootstrap, src, lines)
    in_tps = [TopicPartition(src, p) for p in range(PARTITIONS)]
    env = {ENV_BOOTSTRAP: bootstrap, ENV_IN: src, ENV_OUT: dst, ENV_GROUP: group}
    async with Offsets(bootstrap) as off:
        started = time.time()
        child = spawn(name, kind, env, logdir)
        try:

            async def poll() -> tuple[int, bool]:
                n = sum((await off.committed(group, in_tps)).values())
                return n, n >= total

            prog = await track(child, poll, label=f"{name} committed")
        finally:
            child.stop()
    sc = await scan(bootstrap, [TopicPartition(dst, p) for p in range(PARTITIONS)], total)
    span = (sc.last_ms - sc.first_ms) / 1000
    startup = sc.first_ms / 1000 - started if sc.count else 0.0
    notes = [prog.failure] if prog.failure else []
    if sc.count < total:
        notes.append(f"only {sc.count:,} of {total:,} messages forwarded")
    t1, t2 = sc.first_ms / 1000, sc.last_ms / 1000
    cpus = prog.cpu_share(t1, t2), prog.cpu_share(t1, t2, 3)
    res = Result(system, sc.count, span, startup, "output timestamps", sc.count >= total, "; ".join(notes), *cpus)
    return res, child


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


def settled(
    off: Offsets, group: str, tps: Sequence[TopicPartition], targets: dict[TopicPartition, int]
) -> Callable[[], Awaitable[tuple[int, bool]]]:
    """A ``poll`` for :func:`track`: (messages committed, done), done once every partition reached its target
    and the total then stayed put for :data:`SETTLE_S` (forwarded tickets come on top of the targets)."""
    state = {"n": -1, "since": 0.0}

    async def poll() -> tuple[int, bool]:
        committed = await off.committed(group, tps)
        n, now = sum(committed.values()), time.monotonic()
        if any(committed.get(tp, 0) < end for tp, end in targets.items()):
            return n, False
        if n != state["n"]:
            state["n"], state["since"] = n, now
        return n, now - state["since"] >= SETTLE_S

    return poll


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
        started = time.time()
        child = spawn("wismo-worker", "wismo", env, logdir)
        try:
            prog = await track(child, settled(off, group, in_tps, published), label="wismo committed")
        finally:
            child.stop()
    res = prog.result("wismo worker", "group commits", started)
    final = prog.samples[-1][1] if prog.samples else 0
    copies = sum(published.values()) - len(lines)
    res.note = "; ".join(
        x
        for x in (
            res.note,
            f"input messages {final:,}: {len(lines):,} lines, {copies:,} sweep copies (one per partition), "
            f"{final - sum(published.values()):,} matched tickets re-published to their order's partition",
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
    worker_cpu: float = float("nan")
    script_cpu: float = float("nan")
    servers_cpu: float = float("nan")
    """CPU use of the worker, this script (pacing, reading decisions) and the local broker and Redis together from
    the first send until the worker caught up (100% = one core)"""

    def pct(self, q: float) -> float:
        if not self.millis:
            return float("nan")
        k = min(len(self.millis) - 1, max(0, round(q * (len(self.millis) - 1))))
        return self.millis[k]


def ends_of(metadata: Sequence[Any]) -> dict[TopicPartition, int]:
    """Per partition, the offset after the last of these produced records (``RecordMetadata``)."""
    ends: dict[TopicPartition, int] = {}
    for md in metadata:
        tp = TopicPartition(md.topic, md.partition)
        ends[tp] = max(ends.get(tp, 0), md.offset + 1)
    return ends


async def wait_for(child: Child, poll: Callable[[], Awaitable[tuple[int, bool]]], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.alive():
        if (await poll())[1]:
            return True
        await asyncio.sleep(SAMPLE_S)
    return False


class DecisionReader:
    """Reads output partitions from the beginning and notes when the first record of each of the events in
    ``sent`` arrived (``ident`` names the event a record belongs to: a decision's ``caused_by`` by default)."""

    def __init__(
        self,
        bootstrap: str,
        tps: list[TopicPartition],
        sent: dict[str, float],
        ident: Callable[[bytes], str | None] = caused_by,
    ) -> None:
        self.tps = tps
        self.sent = sent
        self.ident = ident
        self.seen: dict[str, float] = {}
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10, client_id="stream-bench-lat"
        )
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self.consumer.assign(self.tps)
        await self.consumer.seek_to_beginning(*self.tps)
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        sent, seen, ident = self.sent, self.seen, self.ident
        while not self._stop.is_set():
            got = await self.consumer.getmany(timeout_ms=20)
            now = time.monotonic()
            for msgs in got.values():
                for m in msgs:
                    cid = ident(m.value or b"")
                    if cid is not None and cid in sent and cid not in seen:
                        seen[cid] = now

    async def drained(self) -> bool:
        """Read up to the high watermark (as the last fetch reported it) of every partition."""
        for tp in self.tps:
            high = self.consumer.highwater(tp)
            if high is None or await self.consumer.position(tp) < high:
                return False
        return True

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
        await self.consumer.stop()


async def paced_send(
    bootstrap: str,
    plan: Sequence[tuple[str, bytes | None, bool, str | None, bytes]],
    rate: float,
    sent: dict[str, float],
) -> tuple[float, float, dict[TopicPartition, int]]:
    """Send ``plan`` (topic, key, broadcast, event id, line) at ``rate`` events/s, noting each event's send time in
    ``sent``. Returns (first send, last send, end offset per partition written)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        futures = []
        partitions: dict[str, list[int]] = {}
        t0 = time.monotonic()
        for i, (topic, key, broadcast, eid, line) in enumerate(plan):
            due = t0 + i / rate
            now = time.monotonic()
            if due > now + 0.001:
                await asyncio.sleep(due - now)
            if eid is not None:
                sent.setdefault(eid, time.monotonic())
            if broadcast:
                if topic not in partitions:
                    partitions[topic] = sorted(await producer.partitions_for(topic))
                for p in partitions[topic]:
                    futures.append(await producer.send(topic, line, partition=p))
            else:
                futures.append(await producer.send(topic, line, key=key))
        t_last = time.monotonic()
        return t0, t_last, ends_of(await asyncio.gather(*futures))
    finally:
        await producer.stop()


async def bench_latency(
    bootstrap: str,
    redis_url: str,
    run_id: str,
    rate: float,
    seconds: float,
    seed: int,
    logdir: Path,
    *,
    mix_sweeps: bool = True,
) -> tuple[Latency, Child]:
    """The paced load through a wismo worker. ``mix_sweeps=False`` leaves out the mix's sweep ticks (see
    ``--no-mix-sweeps``)."""
    prefix = f"bench-{run_id}-lat."
    group = prefix + "group"
    specs = wismo_specs(prefix)
    await make_topics(bootstrap, specs)
    lines = event_lines(WARMUP_EVENTS + max(1, int(rate * seconds)), seed + 1)
    warmup, paced = lines[:WARMUP_EVENTS], lines[WARMUP_EVENTS:]
    plan = []
    for line in paced:
        r = route(line)
        if r.broadcast and not mix_sweeps:
            continue
        plan.append((prefix + r.topic, r.key, r.broadcast, event_id(line), line))
    in_tps = tps_of(specs, "input")
    sent: dict[str, float] = {}
    reader = DecisionReader(bootstrap, [TopicPartition(prefix + DECISIONS_TOPIC, p) for p in range(PARTITIONS)], sent)
    env = wismo_env(bootstrap, redis_url, prefix, group, f"bench-{run_id}-lat")
    child = spawn("wismo-latency", "wismo", env, logdir)
    lat = await _paced_run(
        bootstrap, child, reader, group, in_tps, plan, rate, sent, lambda: publish_wismo(bootstrap, prefix, warmup)
    )
    return lat, child


async def bench_latency_raw(
    bootstrap: str, run_id: str, rate: float, seconds: float, seed: int, logdir: Path
) -> tuple[Latency, Child]:
    """The same paced load through the raw aiokafka passthrough (one input topic -> one output topic): the
    latency of two broker hops with no work in between, the floor for the wismo figure on this broker."""
    prefix = f"bench-{run_id}-latraw."
    src, dst, group = prefix + "in", prefix + "out", prefix + "group"
    await make_topics(bootstrap, [TopicSpec(src, PARTITIONS), TopicSpec(dst, PARTITIONS)])
    lines = event_lines(WARMUP_EVENTS + max(1, int(rate * seconds)), seed + 1)
    warmup, paced = lines[:WARMUP_EVENTS], lines[WARMUP_EVENTS:]
    plan = [(src, route(line).key, False, event_id(line), line) for line in paced]
    in_tps = [TopicPartition(src, p) for p in range(PARTITIONS)]
    sent: dict[str, float] = {}
    reader = DecisionReader(bootstrap, [TopicPartition(dst, p) for p in range(PARTITIONS)], sent, ident=event_id)
    env = {ENV_BOOTSTRAP: bootstrap, ENV_IN: src, ENV_OUT: dst, ENV_GROUP: group}
    child = spawn("raw-latency", "raw", env, logdir)
    warm_plan = [(src, route(line).key, False, None, line) for line in warmup]

    async def warm() -> dict[TopicPartition, int]:
        return (await paced_send(bootstrap, warm_plan, 1e9, {}))[2]

    lat = await _paced_run(bootstrap, child, reader, group, in_tps, plan, rate, sent, warm)
    return lat, child


async def _paced_run(
    bootstrap: str,
    child: Child,
    reader: DecisionReader,
    group: str,
    in_tps: list[TopicPartition],
    plan: Sequence[tuple[str, bytes | None, bool, str | None, bytes]],
    rate: float,
    sent: dict[str, float],
    warm: Callable[[], Awaitable[dict[TopicPartition, int]]],
) -> Latency:
    """One latency run of ``child`` (either system): publish the warm-up with ``warm`` (it returns the end
    offsets it wrote) and wait until ``group`` consumed it, then start ``reader``, send ``plan`` at ``rate`` and
    drain. Stops the reader and the child."""
    try:
        async with Offsets(bootstrap) as off:
            warm_ends = await warm()
            if not await wait_for(child, settled(off, group, in_tps, warm_ends), START_TIMEOUT_S):
                return Latency(0, 0.0, 0, [], 0.0, False, f"{child.name} did not consume the warm-up events")
            await reader.start()
            cpu0 = (child.cpu_seconds(), time.process_time(), servers_cpu())
            t0, t_last, targets = await paced_send(bootstrap, plan, rate, sent)
            return await _drain(child, reader, off, settled(off, group, in_tps, targets), len(plan), t0, t_last, cpu0)
    finally:
        await reader.stop()
        child.stop()


async def _drain(
    child: Child,
    reader: DecisionReader,
    off: Offsets,
    poll: Callable[[], Awaitable[tuple[int, bool]]],
    offered: int,
    t0: float,
    t_last: float,
    cpu0: tuple[float, float, float],
) -> Latency:
    """After the paced send: wait until the process consumed everything and the reader read every output, then
    summarise."""
    offered_rate = offered / (t_last - t0) if t_last > t0 else 0.0
    caught_up = await wait_for(child, poll, STALL_TIMEOUT_S * 2)
    t_done = time.monotonic() - (SETTLE_S if caught_up else 0.0)
    cpu1 = (child.cpu_seconds(), time.process_time(), servers_cpu())
    span = time.monotonic() - t0
    deadline = time.monotonic() + STALL_TIMEOUT_S
    while not await reader.drained() and time.monotonic() < deadline:
        await asyncio.sleep(SAMPLE_S)
    millis = sorted((reader.seen[eid] - reader.sent[eid]) * 1000 for eid in reader.seen)
    note = "" if caught_up else "the process did not consume every paced event"
    cpus = ((b - a) / span for a, b in zip(cpu0, cpu1, strict=True))
    return Latency(offered, offered_rate, len(millis), millis, t_done - t_last, caught_up, note, *cpus)


# ---- report ---------------------------------------------------------------------------------------------------


def print_latency(name: str, lat: Latency, process: str, matched: str) -> None:
    print(
        f"  {name}: {lat.offered:,} events paced at {lat.offered_rate:,.0f}/s; {lat.matched:,} {matched}; "
        f"backlog drained {lat.backlog_drain_s:.2f} s after the last send; cpu: {process} {pct(lat.worker_cpu)}, "
        f"this script {pct(lat.script_cpu)}, broker+redis {pct(lat.servers_cpu)}"
    )
    if lat.millis:
        print(
            f"    p50 {lat.pct(0.50):,.1f} ms   p90 {lat.pct(0.90):,.1f} ms   p99 {lat.pct(0.99):,.1f} ms   "
            f"max {lat.millis[-1]:,.1f} ms"
        )
    if lat.note or not lat.complete:
        print(f"    INCOMPLETE: {lat.note}")


def pct(x: float) -> str:
    return "-" if x != x else f"{x:.0%}"


def table(results: Sequence[Result]) -> str:
    header = (
        "system",
        "messages",
        "seconds",
        "msg/s",
        "start-up s",
        "cpu",
        "broker+redis cpu",
        "measured by",
        "complete",
    )
    rows = [
        (
            r.system,
            f"{r.messages:,}",
            f"{r.seconds:.2f}",
            f"{r.rate:,.0f}",
            f"{r.startup_s:.1f}",
            pct(r.cpu),
            pct(r.servers_cpu),
            r.measured_by,
            "yes" if r.complete else "NO",
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    right = {1, 2, 3, 4, 5, 6}
    out = []
    for row in [header, *rows]:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        out.append("  ".join(cells).rstrip())
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def fmt_stats(stats: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in stats.items())


def replay_reference(lines: list[bytes], logdir: Path) -> tuple[Result, dict[str, Any]]:
    """``replay_files`` of the same lines in this process (no Kafka, no Redis): what the engine alone does."""
    path = logdir / "reference.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    try:
        run = full_replay(path, load_policy(), budget_s=600.0)
    finally:
        path.unlink()
    res = Result("replay_files in-process (reference)", run.events, run.seconds, 0.0, "wall time", run.complete)
    stats: dict[str, Any] = {}
    if run.pipeline is not None:
        p = run.pipeline.stats
        stats = {
            "events_in": p.events_in,
            "evaluations": p.evaluations,
            "duplicates": p.duplicates,
            "duplicate_status": p.duplicate_status,
            "dead_letters": p.dead_letters,
            "follow_ups_fired": p.follow_ups_fired,
            "outputs": sum(p.outputs.values()),
        }
    return res, stats


def report_child(child: Child, limit: int = 12) -> None:
    problems = child.problems()
    if not problems:
        print(f"  {child.name}: log clean ({child.log})")
        return
    print(f"  {child.name}: {len(problems)} error/warning line(s) in {child.log}; first {min(limit, len(problems))}:")
    for line in problems[:limit]:
        print(f"    {line[:300]}")


@contextlib.contextmanager
def local_redis(redis_url: str | None) -> Iterator[str]:
    """``redis_url``, or a local redis-server for the whole run (keys are prefixed per measurement)."""
    if redis_url is not None:
        yield redis_url
        return
    with start_redis() as local:
        if local.pid is not None:
            SERVER_PIDS.append(local.pid)
        print(f"started redis-server on {local.url} (AOF, appendfsync always)", flush=True)
        yield local.url


Broker = Callable[[str], contextlib.AbstractContextManager[str]]


def broker_for(given: str | None, logdir: Path) -> Broker:
    """The Kafka bootstrap of one measurement: ``given``, or a fresh local Tansu per measurement. Tansu keeps
    everything in memory and slows down as earlier measurements fill it: the same raw passthrough latency run
    measured p99 66 ms on a fresh broker and 302 ms after the throughput runs, so no measurement inherits
    another's data."""

    @contextlib.contextmanager
    def broker(name: str) -> Iterator[str]:
        if given is not None:
            yield given
            return
        with start_kafka(log_dir=logdir / f"tansu-{name}") as kafka:
            if kafka.pid is not None:
                SERVER_PIDS.append(kafka.pid)
            try:
                yield kafka.bootstrap
            finally:
                if kafka.pid in SERVER_PIDS:
                    SERVER_PIDS.remove(kafka.pid)

    return broker


async def measure(args: argparse.Namespace, broker: Broker, redis_url: str, logdir: Path) -> int:
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
        with broker("raw") as bootstrap:
            res, child = await bench_forwarder("raw", bootstrap, run_id, lines, logdir)
        results.append(res)
        children.append(child)
        print("measuring bare faust agent ...", flush=True)
        with broker("faust") as bootstrap:
            res, child = await bench_forwarder("faust", bootstrap, run_id, lines, logdir)
        results.append(res)
        children.append(child)
    print("measuring wismo worker ...", flush=True)
    with broker("wismo") as bootstrap:
        wismo, child = await bench_wismo(bootstrap, redis_url, run_id, lines, logdir)
    results.append(wismo)
    children.append(child)
    wismo_stats = child.stats()
    reference: dict[str, Any] = {}
    if not args.skip_baselines:
        print("measuring in-process replay_files of the same lines (reference) ...", flush=True)
        ref, reference = replay_reference(lines, logdir)
        results.append(ref)
    lat: Latency | None = None
    lat_raw: Latency | None = None
    lat_stats: dict[str, Any] = {}
    if args.latency_seconds > 0 and not args.skip_baselines:
        print(f"measuring raw passthrough latency at {args.rate:,.0f} events/s for {args.latency_seconds:g} s ...")
        with broker("raw-latency") as bootstrap:
            lat_raw, child = await bench_latency_raw(
                bootstrap, run_id, args.rate, args.latency_seconds, args.seed, logdir
            )
        children.append(child)
    if args.latency_seconds > 0:
        print(f"measuring wismo latency at {args.rate:,.0f} events/s for {args.latency_seconds:g} s ...", flush=True)
        with broker("latency") as bootstrap:
            lat, child = await bench_latency(
                bootstrap,
                redis_url,
                run_id,
                args.rate,
                args.latency_seconds,
                args.seed,
                logdir,
                mix_sweeps=not args.no_mix_sweeps,
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
        print("  wismo worker stats: " + fmt_stats(wismo_stats))
    if reference:
        print("  replay_files stats (same lines): " + fmt_stats(reference))
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
            f"(offered {args.rate:,.0f}/s for {args.latency_seconds:g} s"
            + (", without the mix's sweep ticks" if args.no_mix_sweeps else "")
            + "):"
        )
        print_latency("wismo worker", lat, "worker", "had a decision (the rest: duplicates, bad input, no evaluation)")
        if lat_stats:
            print("  worker stats: " + fmt_stats(lat_stats))
        if lat_raw is not None:
            print_latency("raw aiokafka passthrough, same load", lat_raw, "passthrough", "came through")
            if lat_raw.millis and lat.millis:
                print(
                    f"  wismo / raw passthrough: p50 {lat.pct(0.5) / lat_raw.pct(0.5):.1f}x   "
                    f"p99 {lat.pct(0.99) / lat_raw.pct(0.99):.1f}x"
                )
        verdict = "meets" if lat.millis and lat.pct(0.99) < TARGET_P99_MS else "ABOVE"
        print(f"  wismo p99 target < {TARGET_P99_MS:g} ms: {verdict}")
    print()
    print("child logs:")
    for c in children:
        report_child(c)
    print(f"total {time.perf_counter() - t0:.0f} s")
    ok = all(r.complete for r in results) and all(x is None or x.complete for x in (lat, lat_raw))
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="wismo streaming throughput and latency benchmark")
    ap.add_argument("--events", type=int, default=40_000, help="backlog size for the throughput runs (40000)")
    ap.add_argument("--rate", type=float, default=2000.0, help="offered load for the latency run, events/s (2000)")
    ap.add_argument("--latency-seconds", type=float, default=15.0, help="length of the latency run; 0 skips it (15)")
    ap.add_argument(
        "--no-mix-sweeps",
        action="store_true",
        help="leave the mix's sweep ticks out of the latency run: the mix packs a day of event time into ~1,000 "
        "events, so at 2,000 events/s it sweeps every in-progress order about every 1.5 s, where a live worker "
        "sweeps every 900 s (WISMO_SWEEP_INTERVAL_SECONDS)",
    )
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
        redis_url = stack.enter_context(local_redis(args.redis))
        code = asyncio.run(measure(args, broker_for(args.bootstrap, logdir), redis_url, logdir))
        if not args.logs:
            print("(pass --logs DIR to keep the child logs)")
    print(f"wall time {time.perf_counter() - t0:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
