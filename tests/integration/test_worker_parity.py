"""Parity: for every scenario file, the worker's output topics (through Kafka and Redis) hold the same
records as ``wismo replay`` of the same file: same action ids, kinds and conditions, same decisions, same
dead letters.

One worker (in-process, on its own event loop) serves the whole module; Redis is flushed between scenarios
and each scenario's outputs are read from the offsets the output topics had before it. Lines are published
one at a time and the test waits until the worker has committed each (and any ticket it forwarded to itself
meanwhile), so events reach the pipeline in file order, as in a file replay.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import Counter
from collections.abc import Coroutine, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest
import redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from wismo.streams.progress import true_end_offsets
from wismo.streams.publisher import publish_lines
from wismo.streams.topics import create_topics, load_topics
from wismo.streams.worker import Worker

from wismo.policy import Policy, load_policy
from wismo.records import OUTPUT_TOPICS
from wismo.replay import replay_to_memory
from wismo.settings import WorkerSettings

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.ndjson"))
PARTITION_CLOCK = {
    "rts_customer_requests_are_drafted_when_asked": "B8841's checkpoints fall due only because B8842's later "
    "events move the file's single clock past them; the worker's clock is per partition (README: Follow-ups)",
    "replies_warehouse_delay_names_the_waiting_items": "O-1042's checkpoint falls due only because O-1043's "
    "later ticket moves the file's single clock past it",
}
"""Scenarios whose follow-ups fire in a file replay only because another order's events move time: the worker
must match every other record; the ``followup:`` ones are left out of the comparison."""
T = TypeVar("T")


class Harness:
    """A worker plus a producer and an output reader, on one background event loop."""

    def __init__(self, bootstrap: str, redis_url: str, policy: Policy | None = None, *, own_keys: bool = False) -> None:
        self.policy = policy or load_policy(None)
        self.own_keys = own_keys
        """True: Redis keys under this harness's own prefix (two harnesses alive at once do not share state)"""
        self.bootstrap = bootstrap
        self.redis_url = redis_url
        self.prefix = f"par{uuid.uuid4().hex[:8]}."
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def start(self) -> None:
        specs = [replace(s, name=self.prefix + s.name) for s in load_topics(None)]
        report = await create_topics(self.bootstrap, specs)
        assert report.ok, report.table()
        settings = WorkerSettings(
            kafka_bootstrap=self.bootstrap,
            redis_url=self.redis_url,
            group_id=f"{self.prefix}wismo",
            topic_prefix=self.prefix,
            clock="event",
            poll_timeout_ms=20,
            session_timeout_ms=3000,
            heartbeat_interval_ms=500,
            key_prefix=f"{self.prefix}wismo" if self.own_keys else "wismo",
        )
        self.worker = Worker(settings, self.policy)
        await self.worker.start()
        self.task = asyncio.ensure_future(self.worker.run())
        self.producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await self.producer.start()
        self.reader = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await self.reader.start()
        await self.reader.topics()
        self.outputs = [
            TopicPartition(self.prefix + t, p)
            for t in OUTPUT_TOPICS
            for p in sorted(self.reader.partitions_for_topic(self.prefix + t) or ())
        ]
        self.reader.assign(self.outputs)
        self.published: dict[TopicPartition, int] = {}
        self.ends_reader = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10
        )
        await self.ends_reader.start()

    async def scenario(self, lines: list[bytes]) -> dict[str, list[dict[str, Any]]]:
        start = await true_end_offsets(self.ends_reader, self.outputs)
        for line in lines:
            self.published.update(await publish_lines(self.producer, [line], topic_prefix=self.prefix))
            await self.worker.wait_idle(self.published)
        end = await true_end_offsets(self.ends_reader, self.outputs)
        got: dict[str, list[dict[str, Any]]] = {t: [] for t in OUTPUT_TOPICS}
        for tp in self.outputs:
            if end[tp] <= start[tp]:
                continue
            self.reader.seek(tp, start[tp])
            while await self.reader.position(tp) < end[tp]:
                batch = await self.reader.getmany(tp, timeout_ms=1000)
                for m in batch.get(tp, []):
                    if m.offset < end[tp]:
                        got[tp.topic[len(self.prefix) :]].append(orjson.loads(m.value))
        return got

    async def stop(self) -> None:
        await self.worker.stop()
        await self.task
        await self.producer.stop()
        await self.reader.stop()
        await self.ends_reader.stop()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="module")
def harness(kafka_bootstrap: str, redis_server: Any) -> Iterator[Harness]:
    h = Harness(kafka_bootstrap, redis_server.url)
    h.run(h.start())
    try:
        yield h
    finally:
        h.run(h.stop())
        h.close()


def _signature(topic: str, rec: dict[str, Any]) -> tuple[Any, ...]:
    if topic == "wismo.decisions":
        return (rec["decision_id"], rec["condition_type"], rec["handler"], tuple(rec["action_ids"]), rec["suppressed"])
    if topic == "wismo.dlq":
        # dlq_id, source_name and line name the file line or the Kafka position: they differ by design.
        return (rec["error_type"], rec["original"], rec["reason"])
    return (rec["action_id"], rec["kind"], rec["condition_type"], rec["mode"], rec["text"])


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_worker_matches_file_replay(harness: Harness, path: Path) -> None:
    redis.Redis.from_url(harness.redis_url).flushdb()
    lines = [line.strip() for line in path.read_bytes().splitlines() if line.strip()]
    got = harness.run(harness.scenario(lines))
    expected = replay_to_memory([path], load_policy(None))
    keep = (lambda r: not str(r.get("caused_by", "")).startswith("followup:")) if path.stem in PARTITION_CLOCK else None
    for topic in OUTPUT_TOPICS:
        mine = Counter(_signature(topic, r) for r in got[topic] if keep is None or keep(r))
        theirs = Counter(_signature(topic, r) for r in expected.get(topic, []) if keep is None or keep(r))
        assert mine == theirs, f"{topic}: worker-only {mine - theirs}, replay-only {theirs - mine}"
    assert got["wismo.decisions"], "every scenario evaluates something"


def test_every_state_key_expires_or_is_bounded(harness: Harness) -> None:
    """After a run, every Redis key has a TTL, except the per-partition follow-up and in-progress structures
    (members removed when their case closes) and the watermark; the outbox is empty once published; a
    delivered order's case and context carry the closed-case TTL."""
    from wismo.state_keys import CLOSED_TTL, OPEN_TTL

    r = redis.Redis.from_url(harness.redis_url)
    r.flushdb()
    delivered = SCENARIOS[0].parent / "proactive_delivered_on_open_case.ndjson"
    lines = [
        line.strip()
        for line in (SCENARIOS[0].parent / "batch_01_normal_eta_within_sla.ndjson").read_bytes().split(b"\n")
        if line.strip()
    ]
    lines += [line.strip() for line in delivered.read_bytes().split(b"\n") if line.strip()]
    harness.run(harness.scenario(lines))
    keys = [k.decode() for k in r.scan_iter("wismo:*")]
    assert any(k.startswith("wismo:ctx:") for k in keys) and any(k.startswith("wismo:seen:") for k in keys)
    unbounded = []
    for key in keys:
        if key.startswith(("wismo:fu:", "wismo:inprogress:")) or key == "wismo:watermark":
            continue
        if key.startswith("wismo:outbox"):
            unbounded.append(f"{key} (outbox not cleared)")
        elif r.ttl(key) <= 0:
            unbounded.append(key)
    assert not unbounded
    ttls = {k: r.ttl(k) for k in keys if k.startswith(("wismo:case:", "wismo:ctx:"))}
    assert any(0 < t <= CLOSED_TTL for t in ttls.values()), "a closed case expires sooner"
    assert any(CLOSED_TTL < t <= OPEN_TTL for t in ttls.values()), "an open case is kept longer"
    for key in keys:
        if key.startswith("wismo:inprogress:"):
            for member in r.smembers(key):
                name = member.decode() if isinstance(member, bytes) else str(member)
                case = r.get(f"wismo:case:{name}")
                assert case is not None


def test_labels_index_their_tracking_numbers(harness: Harness) -> None:
    """Every label the worker applied links its tracking number to the order and shipment, for the webhook
    ingest's carrier look-ups (EasyPost and AfterShip webhooks carry no order id)."""
    import json

    from wismo.state_keys import INDEX_TTL, Keys, parse_tracking_ref

    r = redis.Redis.from_url(harness.redis_url)
    r.flushdb()
    path = SCENARIOS[0].parent / "batch_01_normal_eta_within_sla.ndjson"
    lines = [line.strip() for line in path.read_bytes().splitlines() if line.strip()]
    labels = [e for e in map(json.loads, lines) if e.get("type") == "label.created"]
    assert labels, "the scenario creates a label"
    harness.run(harness.scenario(lines))
    for e in labels:
        key = Keys().by_tracking(e["payload"]["tracking_number"])
        value = r.get(key)
        assert isinstance(value, bytes), key
        assert parse_tracking_ref(value.decode()) == (e["order_id"], e["payload"]["shipment_id"])
        assert 0 < r.ttl(key) <= INDEX_TTL
