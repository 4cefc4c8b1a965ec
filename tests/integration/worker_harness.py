"""Test support for running ``wismo worker`` processes against a real broker and Redis.

A :class:`Deployment` is one prefixed set of topics (created up front: Tansu auto-creates unknown topics on a
Metadata request), one consumer group and one Redis key prefix. It starts worker subprocesses
(``python -m wismo.cli worker``) with the fast-group settings Tansu needs, each logging to its own file, and
always leaves no process behind (:meth:`Deployment.close`, called from a ``finally``).

Publishing for exact comparisons (:func:`publish_to_one_topic`): every line goes to ONE input topic in file
order, keyed like :func:`wismo.streams.publisher.route` keys it (a key-less ``clock.tick`` sweep to every
partition), with strictly increasing record timestamps. The pipeline does not care which input topic carries an
event, and one topic makes each partition's processing order the file order.

Input for exact comparisons (:func:`generated_lines`): ``bench/replay_bench.py``'s event mix without order-less
tickets and with clock anchors (see there). Comparison (:func:`output_ids`, :func:`assert_exactly_once`): the id of
every record on the output topics -- ``action_id`` on replies, notes, escalations and actions, ``decision_id`` on
decisions, ``(error_type, original)`` on dead letters -- against ``wismo replay`` of the same lines.

Waiting (:func:`settle`): until the group committed every input partition's true end (Tansu answers ListOffsets
"latest" short of a partition's last record batch, so ends come from a fetch's high watermark), no outbox is
pending and no follow-up is due or in flight. ``WISMO_TEST_LOGLEVEL=info`` makes the worker processes log more.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from conftest import run_async
from redis.asyncio import Redis
from wismo.streams import progress
from wismo.streams.partition_batch import partition_for
from wismo.streams.publisher import needs_forward_hop, route
from wismo.streams.topics import create_topics, load_topics
from wismo.streams.worker import INPUT_TOPICS, Worker

from wismo.local_servers import free_port
from wismo.policy import load_policy
from wismo.records import OUTPUT_TOPICS, TOPIC_DLQ, Mode
from wismo.replay import replay_to_memory
from wismo.settings import WorkerSettings
from wismo.state_keys import Keys

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
ONE_INPUT = "wismo.in.oms"
MODE: Mode = "live"
"""Every channel live, so customer replies are written too (``wismo.replies``), not only notes."""
WORKER_CMD = [sys.executable, "-m", "wismo.cli", "worker", "--loglevel", os.environ.get("WISMO_TEST_LOGLEVEL", "warn")]

T = TypeVar("T")
Ids = dict[str, Counter[Any]]
"""output topic -> how many times each record id was written"""


# ---- events -------------------------------------------------------------------------------------------------


def generated_lines(
    orders: int,
    seed: int = 11,
    *,
    sweep_hours: float = 24.0,
    partitions: int = 4,
    anchors: bool = True,
    bad_every: int = 0,
) -> list[bytes]:
    """``bench/replay_bench.py``'s deterministic event mix for ``orders`` orders (duplicates, re-sent statuses,
    sweeps every ``sweep_hours``, malformed lines), made exact to compare with a file replay when the partitions are
    consumed unevenly:

    * without the ticket messages that lack an order id (the worker forwards those between partitions: an extra
      hop that can reorder them);
    * with ``bad_every``, more dead letters (see :func:`_with_bad_lines`);
    * with a clock *anchor* on every partition just before each sweep and after the last event: a repeated
      ``order.placed`` (no output) of a cancelled order of that partition, at the sweep's time (at the end: the
      latest event time). A file replay fires a follow-up as soon as the latest event of ANY order passes its due
      time; a worker knows the time only from the events of its partitions. Between two events of a partition
      that is the same as far as the partition's orders can tell, except where the replay's clock reaches a due
      time that the partition's own events never reach: before a sweep (the replay fires a follow-up due before
      the previous event of the file as a follow-up, and leaves one due after it to the sweep) and at the end.
      The anchors put every partition's clock where the replay's is at those points."""
    spec = importlib.util.spec_from_file_location("wismo_replay_bench", ROOT / "bench" / "replay_bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    lines: list[bytes] = module.Generator(orders=orders, seed=seed, sweep_hours=sweep_hours).build()
    lines = [line for line in lines if not needs_forward_hop(line)]
    if bad_every:
        lines = _with_bad_lines(lines, bad_every)
    if not anchors:
        return lines
    ids = anchor_orders(partitions)
    times = [t for line in lines if (t := _time(line)) is not None]

    def anchor(oid: str, suffix: str, at: datetime, kind: str = "placed") -> bytes:
        return event_line(
            event_id=f"anchor-{oid}-{suffix}",
            source="oms",
            type=f"order.{kind}",
            order_id=oid,
            occurred_at=at.isoformat().replace("+00:00", "Z"),
            payload=_ANCHOR_PAYLOAD[kind],
        )

    out = [anchor(oid, kind, min(times), kind) for oid in ids for kind in ("placed", "cancelled")]
    for n, line in enumerate(lines):
        at = _time(line)
        if route(line).broadcast and at is not None:
            out += [anchor(oid, str(n), at) for oid in ids]
        out.append(line)
    out += [anchor(oid, "end", max(times)) for oid in ids]
    return out


_ANCHOR_PAYLOAD: dict[str, dict[str, Any]] = {
    "placed": {
        "order_number": "ANCHOR",
        "customer": {"id": "anchor", "email": "anchor@example.com", "name": "Anchor"},
        "items": [{"sku": "ANCHOR", "title": "Anchor", "qty": 1, "unit_price": 1.0}],
        "order_value": 1.0,
        "currency": "USD",
    },
    "cancelled": {"reason": "customer_request"},
}


def _with_bad_lines(lines: list[bytes], every: int) -> list[bytes]:
    """After every ``every``-th line of an order, the same event without its payload: a dead letter (a validation
    error) on that order's partition, so that the dead letters are spread over every partition and batch."""
    out = []
    for n, line in enumerate(lines):
        out.append(line)
        obj = orjson.loads(line) if n % every == every - 1 and line.startswith(b"{") else None
        if isinstance(obj, dict) and obj.get("order_id") and isinstance(obj.get("payload"), dict):
            out.append(orjson.dumps({**obj, "event_id": f"{obj['event_id']}-bad", "payload": None}))
    return out


def anchor_orders(partitions: int) -> list[str]:
    """One order id per partition (in partition order), as the default partitioner places them."""
    found: dict[int, str] = {}
    n = 0
    while len(found) < partitions:
        oid = f"ANCHOR{n}"
        found.setdefault(partition_for(oid, partitions), oid)
        n += 1
    return [found[p] for p in range(partitions)]


def _time(line: bytes) -> datetime | None:
    """The event time of a line (None for a line without a valid one)."""
    try:
        obj = orjson.loads(line)
        at = datetime.fromisoformat(obj["occurred_at"])
    except (orjson.JSONDecodeError, TypeError, KeyError, ValueError):
        return None
    return at if at.tzinfo is not None else None


def event_line(**fields: Any) -> bytes:
    return orjson.dumps(fields)


# ---- the file replay (the reference) ------------------------------------------------------------------------


def replay_outputs(lines: list[bytes], tmp: Path) -> dict[str, list[dict[str, Any]]]:
    """``wismo replay`` of ``lines``: the default policy in :data:`MODE`, as :class:`Deployment` runs the workers."""
    path = tmp / f"replay-{time.monotonic_ns()}.ndjson"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return replay_to_memory([path], load_policy(None).with_mode_override(MODE))


def record_id(topic: str, rec: dict[str, Any]) -> Any:
    if topic == "wismo.decisions":
        return rec["decision_id"]
    if topic == TOPIC_DLQ:
        return (rec["error_type"], rec["original"])
    return rec["action_id"]


def output_ids(outputs: dict[str, list[dict[str, Any]]]) -> Ids:
    return {t: Counter(record_id(t, r) for r in outputs.get(t, [])) for t in OUTPUT_TOPICS}


def assert_exactly_once(got: Ids, expected: Ids, *, min_records: dict[str, int]) -> None:
    """Every record id the workers wrote appears once, and the ids are the file replay's (all topics reported)."""
    problems = []
    for topic in OUTPUT_TOPICS:
        assert sum(expected[topic].values()) == len(expected[topic]), f"{topic}: the replay itself repeats an id"
        dups = {k: n for k, n in got[topic].items() if n > 1}
        mine, theirs = set(got[topic]), set(expected[topic])
        if dups:
            problems.append(f"{topic}: {len(dups)} ids written more than once, e.g. {list(dups.items())[:5]}")
        if mine - theirs or theirs - mine:
            lost, extra = sorted(theirs - mine, key=str), sorted(mine - theirs, key=str)
            problems.append(f"{topic}: lost {len(lost)} {lost[:8]}, extra {len(extra)} {extra[:8]}")
    assert not problems, "\n".join(problems)
    for topic, n in min_records.items():
        assert len(expected[topic]) >= n, f"{topic}: only {len(expected[topic])} records, the check is too weak"


# ---- worker processes ---------------------------------------------------------------------------------------


@dataclass
class WorkerProcess:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    web_port: int = 0

    def health(self) -> dict[str, Any] | None:
        """The worker's ``/health`` (batches, messages, outputs, redis_failures), or None while it is not up."""
        assert self.web_port, "started without web=True"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/health", timeout=2) as resp:
                data: dict[str, Any] = orjson.loads(resp.read())
                return data
        except OSError:
            return None

    def messages(self) -> int:
        """Messages consumed so far (0 while the web endpoint is not up)."""
        h = self.health()
        return int(h["messages"]) if h else 0

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill9(self) -> None:
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM and wait for the exit code. (faust's shutdown may cut a batch in flight short: its outbox is left
        for the partition's next owner.)"""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise AssertionError(f"{self.name} did not stop within {timeout}s on SIGTERM\n{self.log_tail()}") from None

    def wait_exit(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} still running after {timeout}s\n{self.log_tail()}") from None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return f"--- {self.name} log tail ---\n" + "\n".join(text[-lines:])


@dataclass
class Deployment:
    """Topics ``<prefix>wismo.*``, group ``<prefix>wismo``, Redis keys ``<prefix>wismo:*``; its worker processes."""

    bootstrap: str
    redis_url: str
    prefix: str
    log_dir: Path
    settings: dict[str, str] = field(default_factory=dict)
    workers: list[WorkerProcess] = field(default_factory=list)

    @property
    def group(self) -> str:
        return f"{self.prefix}wismo"

    @property
    def inputs(self) -> list[str]:
        return [self.prefix + t for t in INPUT_TOPICS]

    def create_topics(self) -> None:
        specs = [replace(s, name=self.prefix + s.name) for s in load_topics(None)]
        report = run_async(create_topics(self.bootstrap, specs))
        assert report.ok, report.table()

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WISMO_")}
        env.update(
            WISMO_KAFKA_BOOTSTRAP=self.bootstrap,
            WISMO_REDIS_URL=self.redis_url,
            WISMO_GROUP_ID=self.group,
            WISMO_TOPIC_PREFIX=self.prefix,
            WISMO_KEY_PREFIX=f"{self.prefix}wismo",
            WISMO_CLOCK="event",
            WISMO_MODE=MODE,
            WISMO_SESSION_TIMEOUT_MS="3000",
            WISMO_HEARTBEAT_INTERVAL_MS="500",
            WISMO_WEB_PORT="0",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.settings)
        env.update(extra)
        return env

    def start_worker(self, *, web: bool = False, **extra: str) -> WorkerProcess:
        """Start one ``wismo worker`` process; ``extra`` are more ``WISMO_*`` variables (e.g. ``WISMO_FAULT``);
        ``web`` turns on its ``/health`` endpoint (:meth:`WorkerProcess.health`) on a free port."""
        name = f"worker{len(self.workers) + 1}"
        log = self.log_dir / f"{name}.log"
        port = free_port() if web else 0
        with open(log, "wb") as fh:
            proc = subprocess.Popen(
                WORKER_CMD,
                env=self.env(WISMO_WEB_PORT=str(port), **extra),
                stdout=fh,
                stderr=subprocess.STDOUT,
                cwd=self.log_dir,
            )
        w = WorkerProcess(name, proc, log, port)
        self.workers.append(w)
        return w

    def close(self) -> None:
        """Kill every worker still running (SIGKILL: a test's end needs no graceful shutdown)."""
        for w in self.workers:
            if w.alive():
                w.kill9()

    def logs(self) -> str:
        return "\n".join(w.log_tail() for w in self.workers)

    def in_process_worker(self, **settings: Any) -> InProcessWorker:
        """A :class:`~wismo.streams.worker.Worker` in this process (its own event loop thread), configured like
        the worker processes; for tests that look inside it. ``start()`` it; ``close()`` it in a ``finally``."""
        base: dict[str, Any] = {
            "kafka_bootstrap": self.bootstrap,
            "redis_url": self.redis_url,
            "group_id": self.group,
            "topic_prefix": self.prefix,
            "key_prefix": f"{self.prefix}wismo",
            "clock": "event",
            "session_timeout_ms": 3000,
            "heartbeat_interval_ms": 500,
        }
        if "WISMO_BATCH_MAX_RECORDS" in self.settings:
            base["batch_max_records"] = int(self.settings["WISMO_BATCH_MAX_RECORDS"])
        base.update(settings)
        return InProcessWorker(WorkerSettings(**base))

    # ---- Kafka -------------------------------------------------------------------------------------------

    def publish(self, lines: Iterable[bytes]) -> dict[TopicPartition, int]:
        return run_async(publish_to_one_topic(self.bootstrap, list(lines), self.prefix + ONE_INPUT))

    def settle(self, *, timeout: float = 90, alive: Iterable[WorkerProcess] = ()) -> None:
        """Until the workers are done with everything published so far: see :func:`settle`."""
        watched = list(alive)

        def check() -> None:
            for w in watched:
                if not w.alive():
                    raise AssertionError(f"{w.name} exited with {w.proc.returncode}\n{w.log_tail()}")

        run_async(settle(self.bootstrap, self.redis_url, self.group, self.prefix, timeout=timeout, check=check))

    def input_total(self) -> int:
        """Messages on the input topics (their true ends)."""
        return run_async(input_total(self.bootstrap, self.inputs))

    def committed(self) -> int:
        """Sum of the group's committed offsets over the input topics."""
        return run_async(committed_total(self.bootstrap, self.group, self.inputs))

    def outputs(self, extra_topics: Iterable[str] = ()) -> dict[str, list[dict[str, Any]]]:
        return run_async(read_outputs(self.bootstrap, self.prefix, tuple(extra_topics)))

    def wait_until(self, what: str, cond: Callable[[], bool], timeout: float, *, poll: float = 0.05) -> None:
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{self.logs()}")
            time.sleep(poll)


_last_ts = 0
"""The last record timestamp given: timestamps increase across calls too (the worker orders a partition's records
of a batch by timestamp, so a later call must not restart below an earlier one that ran ahead of the clock)."""


class InProcessWorker:
    """A worker running on a background event loop of this process (no faust app: no monitor, no web)."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.worker = Worker(settings, load_policy(None).with_mode_override(MODE))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="in-process-worker", daemon=True)
        self.thread.start()
        self.task: Any = None

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> None:
        async def start() -> None:
            await self.worker.start()
            self.task = asyncio.ensure_future(self.worker.run())

        self.call(start())

    def close(self) -> None:
        async def stop() -> None:
            await self.worker.stop()
            if self.task is not None:
                await asyncio.wait_for(self.task, 30)
            else:
                await self.worker.close()

        try:
            self.call(stop(), timeout=40)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
            if not self.thread.is_alive():
                self.loop.close()


async def publish_to_one_topic(bootstrap: str, lines: list[bytes], topic: str) -> dict[TopicPartition, int]:
    """Every line to ``topic`` in order, keyed as :func:`route` keys it; a sweep (a key-less ``clock.tick``) to every
    partition. Strictly increasing record timestamps, across calls too. Returns the end offset per partition written."""
    global _last_ts
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        partitions = sorted(await producer.partitions_for(topic))
        futures = []
        for line in lines:
            r = route(line)
            _last_ts = ts = max(_last_ts + 1, int(time.time() * 1000))
            if r.broadcast:
                for p in partitions:
                    futures.append(await producer.send(topic, line, partition=p, timestamp_ms=ts))
            else:
                futures.append(await producer.send(topic, line, key=r.key, timestamp_ms=ts))
        ends: dict[TopicPartition, int] = {}
        for md in await asyncio.gather(*futures):
            tp = TopicPartition(md.topic, md.partition)
            ends[tp] = max(ends.get(tp, 0), md.offset + 1)
        return ends
    finally:
        await producer.stop()


async def true_end_offsets(bootstrap: str, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    """:func:`wismo.streams.progress.true_end_offsets` with a consumer of its own (Tansu under-reports ends)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
    await consumer.start()
    try:
        return await progress.true_end_offsets(consumer, tps, timeout=30)
    finally:
        await consumer.stop()


async def input_partitions(bootstrap: str, topics: list[str]) -> list[TopicPartition]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
    await consumer.start()
    try:
        await consumer.topics()
        return [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
    finally:
        await consumer.stop()


async def settle(
    bootstrap: str,
    redis_url: str,
    group: str,
    prefix: str,
    *,
    timeout: float,
    check: Callable[[], None] | None = None,
) -> None:
    """Return once, twice in a row with the same input ends: the group committed the end of every input partition
    (including what the workers published to them: forwarded tickets, follow-up ticks), no outbox is pending, and no
    follow-up is due at or before the watermark nor in flight (with ``WISMO_CLOCK=event`` the monitor fires the
    follow-ups due at the end of the input a monitor pass after the last batch). Raises AssertionError with what is
    still pending after ``timeout`` seconds; ``check`` is called on every round (e.g. a worker died)."""
    inputs = [prefix + t for t in INPUT_TOPICS]
    keys = Keys(f"{prefix}wismo")
    tps = await input_partitions(bootstrap, inputs)
    partitions = sorted({tp.partition for tp in tps})
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    redis = Redis.from_url(redis_url)
    await admin.start()
    deadline = time.monotonic() + timeout
    previous: dict[TopicPartition, int] | None = None
    pending: dict[str, Any] = {}
    try:
        while True:
            if check is not None:
                check()
            ends = await true_end_offsets(bootstrap, tps)
            committed = await admin.list_consumer_group_offsets(group, partitions=tps)
            lag = {tp: end - max(committed[tp].offset if tp in committed else 0, 0) for tp, end in ends.items()}
            pending = {"lag": {f"{tp.topic}[{tp.partition}]": n for tp, n in lag.items() if n > 0}}
            if not pending["lag"]:
                pipe = redis.pipeline(transaction=False)
                pipe.zrange(keys.watermark(), 0, -1, withscores=True)
                for p in partitions:
                    pipe.zrange(keys.follow_ups(p), 0, 0, withscores=True)
                    pipe.zcard(keys.follow_ups_inflight(p))
                    pipe.exists(keys.outbox(p))
                res = await pipe.execute()
                # The clock a partition's follow-ups are due against: its own watermark (member = partition
                # number), or the one global watermark (member "w") of a worker that keeps only that.
                wms = {m.decode(): float(score) for m, score in res[0]}
                for i, p in enumerate(partitions):
                    first, inflight, outbox = res[1 + 3 * i : 4 + 3 * i]
                    wm = wms.get(str(p), wms.get("w", float("-inf")))
                    if first and first[0][1] <= wm:
                        pending[f"due follow-up in partition {p}"] = first[0][0]
                    if inflight:
                        pending[f"in-flight follow-ups in partition {p}"] = inflight
                    if outbox:
                        pending[f"outbox of partition {p}"] = True
                if len(pending) == 1:
                    if ends == previous:
                        return
                    previous = ends
                    continue
            previous = None
            if time.monotonic() > deadline:
                raise AssertionError(f"group {group} not settled after {timeout:.0f}s: {pending}")
            await asyncio.sleep(0.1)
    finally:
        await admin.close()
        await redis.aclose()


async def input_total(bootstrap: str, topics: list[str]) -> int:
    return sum((await true_end_offsets(bootstrap, await input_partitions(bootstrap, topics))).values())


async def committed_total(bootstrap: str, group: str, topics: list[str]) -> int:
    tps = await input_partitions(bootstrap, topics)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group, partitions=tps)
        return sum(max(o.offset, 0) for o in offsets.values())
    finally:
        await admin.close()


async def read_outputs(
    bootstrap: str, prefix: str, extra_topics: tuple[str, ...] = ()
) -> dict[str, list[dict[str, Any]]]:
    """Every record on the output topics (and ``extra_topics``; canonical name -> decoded records), up to their
    true ends."""
    topics = (*OUTPUT_TOPICS, *extra_topics)
    tps = await input_partitions(bootstrap, [prefix + t for t in topics])
    ends = await true_end_offsets(bootstrap, tps)
    out: dict[str, list[dict[str, Any]]] = {t: [] for t in topics}
    todo = [tp for tp in tps if ends[tp] > 0]
    if not todo:
        return out
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
    await reader.start()
    try:
        reader.assign(todo)
        await reader.seek_to_beginning(*todo)
        deadline = time.monotonic() + 60
        remaining = set(todo)
        while remaining:
            got = await reader.getmany(*remaining, timeout_ms=500)
            for tp, msgs in got.items():
                for m in msgs:
                    if m.offset < ends[tp]:
                        out[tp.topic[len(prefix) :]].append(orjson.loads(m.value))
            for tp in list(remaining):
                if await reader.position(tp) >= ends[tp]:
                    remaining.discard(tp)
            if remaining and time.monotonic() > deadline:
                raise TimeoutError(f"could not read to the end of {sorted(remaining)}")
    finally:
        await reader.stop()
    return out
