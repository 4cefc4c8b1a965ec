"""The worker's hot path: an aiokafka consumer driving :class:`~wismo.pipeline.Pipeline` in batches.

Why aiokafka directly and not a faust agent: faust's per-event stream machinery (one event object, one
ack, one offset bookkeeping step per message) costs more than the whole decision engine on this path: on the
2-core development machine a bare faust forwarding agent does 2.2-3k msg/s where a raw aiokafka
consume->produce loop does 45-50k (``bench/stream_bench.py``, same broker, same run). So the batch loop
here takes up to ``batch_max_records`` messages per poll (what faust's ``take()`` does, without the
per-event cost), with concurrency one (one loop per process; scale by partitions), and faust keeps what it
is good at: the worker process, web endpoint, timers and CLI (see :mod:`wismo.streams.app`).

Per batch (guarantees in brackets):

1. poll; merge each partition number's input topics in record-timestamp order (one worker owns the same
   partition of every input topic: the range assignor, equal partition counts), waiting briefly for a topic
   that has not been fetched up to date (see :meth:`Worker._take_in_time_order`);
2. read state from Redis: two pipelined round trips, no per-message call;
3. run the pipeline (bad input -> ``wismo.dlq``; an unexpected error -> the batch is retried message by
   message and only the failing message is dead-lettered);
4. write state, dedupe marks (with their claimant), follow-ups and the batch's outputs (the *outbox*) in
   one atomic Lua call [all or nothing; retried with back-off while Redis is down, never dropped];
5. publish the outputs and wait for the broker's acknowledgement [at least once];
6. delete the outbox, then commit the offsets.

Steps 5-6 of a batch run while the next batch is polled, read and computed (steps 1-3); the next batch's write
(step 4) waits for them, so the durable steps keep their order across batches: write N, publish N, clear N,
commit N, write N+1. Overlapping only the steps that touch nothing durable of the next batch takes the
publish and commit round trips (a quarter of a batch's time at 2,000 events/s) off the critical path.

Batches and rebalances never overlap (one lock): a revocation waits for the batch in flight, and no batch
runs while a crashed owner's outbox is being published. Decoded state is reused between batches while Redis
holds the same bytes (:mod:`wismo.streams.state_cache`).

A crash anywhere leaves either nothing (before 4: the batch is redelivered and recomputed, deterministic
ids make it identical) or an outbox (after 4: the redelivered messages are recognised by their claimant
and skipped, and the outbox is published by whichever worker gets the partition, skipping records a scan
of the output topics shows were already published before the crash). So no output is lost and none is
published twice, without Kafka transactions.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import CommitFailedError
from aiokafka.structs import ConsumerRecord
from redis.asyncio import Redis
from wismo.processors.intake import dead_letter
from wismo.streams.controls import RuntimeControls
from wismo.streams.gc_policy import GcPolicy
from wismo.streams.live_lookups import LiveLookupClient
from wismo.streams.metrics import WorkerMetrics
from wismo.streams.partition_batch import SWEEP_SLICE, BatchStats, InRecord, OutRecord, PartitionBatch, partition_of
from wismo.streams.progress import true_end_offsets
from wismo.streams.redis_state import Loaded, LoadRequest, RedisState, StateWrite, retry_redis
from wismo.streams.state_cache import DecodedCache

from wismo.pipeline import FORWARD_TICKET, Pipeline
from wismo.policy import Policy, load_policy
from wismo.records import (
    TOPIC_ACTIONS,
    TOPIC_DECISIONS,
    TOPIC_DLQ,
    TOPIC_ESCALATIONS,
    TOPIC_NOTES,
    TOPIC_REPLIES,
    record_json,
)
from wismo.settings import WorkerSettings
from wismo.shadow import TOPIC_SHADOW, ShadowStats, compare
from wismo.state_keys import OUTBOX_SCAN_SLACK_SECONDS, Keys

log = logging.getLogger(__name__)

INPUT_TOPICS = (
    "wismo.in.ticket",
    "wismo.in.oms",
    "wismo.in.wms",
    "wismo.in.supplier",
    "wismo.in.carrier",
    "wismo.in.review",
    "wismo.in.clock",
)
TICKET_TOPIC = "wismo.in.ticket"
CLOCK_TOPIC = "wismo.in.clock"
_FORWARDED_TO = {FORWARD_TICKET: TICKET_TOPIC, SWEEP_SLICE: CLOCK_TOPIC}
"""Where the pseudo-topics of re-published input go: a ticket to its order's worker, a deferred sweep slice."""

FAULT_ENV = "WISMO_FAULT"
"""Test hook: ``<point>:<n>`` kills the process with SIGKILL at ``point`` of the n-th batch (1-based).
Points: ``after_run``, ``after_write``, ``mid_publish``, ``after_publish``, ``after_clear``."""


@dataclass
class WorkerStats:
    batches: int = 0
    messages: int = 0
    outputs: int = 0
    redis_failures: int = 0
    recovered_outboxes: int = 0
    recovered_skipped: int = 0
    batch_fallbacks: int = 0
    batch: BatchStats = field(default_factory=BatchStats)
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    """Time spent per batch phase (read, pipeline, write, publish, clear, commit), cumulative."""


class Worker:
    """One worker process's consumer loop. ``start()``, then ``run()`` until ``stop()``."""

    def __init__(
        self,
        settings: WorkerSettings,
        policy: Policy,
        *,
        redis: Redis | None = None,
        client_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.pipeline = Pipeline(policy)
        lk = policy.lookups
        self.lookups = LiveLookupClient(lk) if lk.oms is not None or lk.carrier is not None else None
        self.keys = Keys(settings.key_prefix)
        self.redis = redis or Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2)
        self.state = RedisState(self.redis, self.keys)
        self.client_id = client_id or f"wismo-{os.getpid()}"
        self.stats = WorkerStats()
        self.metrics = WorkerMetrics(self)
        self.controls = RuntimeControls(self.redis, self.keys, self.pipeline, self.client_id)
        self.shadow = Pipeline(load_policy(settings.shadow_policy_file)) if settings.shadow_policy_file else None
        self.shadow_stats = ShadowStats()
        self.cache = DecodedCache(settings.state_cache_entries)
        self.gc = GcPolicy(settings.gc_full_collect_seconds)
        self.partitions = 0
        self.committed: dict[TopicPartition, int] = {}
        self.forwarded: dict[TopicPartition, int] = {}
        """Per input partition, the offset after the last ticket this worker forwarded there (tests, demo)."""
        self._progress = asyncio.Condition()
        self._stopping = asyncio.Event()
        self.finished = asyncio.Event()
        """Set when :meth:`run` has returned (the consumer left the group)."""
        self._fault = _parse_fault(os.environ.get(FAULT_ENV))
        self._buffers: dict[TopicPartition, deque[ConsumerRecord[bytes, bytes]]] = {}
        self._partition_counts: dict[str, int] = {}
        self._assigned = asyncio.Event()
        self._lock = asyncio.Lock()
        self._tail: asyncio.Task[None] | None = None
        """The previous batch's publish, outbox clear and commit, overlapping this batch's read and pipeline
        (see :meth:`process`)."""
        self._generation = 0
        """Set once the current assignment's outboxes are recovered; cleared while partitions are revoked."""
        self._empty_since: dict[TopicPartition, float] = {}
        self._order = {self.topic(t): i for i, t in enumerate(INPUT_TOPICS)}
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None

    # ---- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        s = self.settings
        self.producer = AIOKafkaProducer(
            bootstrap_servers=s.kafka_bootstrap,
            client_id=self.client_id,
            acks="all",
            linger_ms=2,
            max_batch_size=1 << 20,
        )
        await self.producer.start()
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=s.kafka_bootstrap,
            client_id=self.client_id,
            group_id=s.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            partition_assignment_strategy=(RangePartitionAssignor,),
            max_partition_fetch_bytes=4 << 20,
            fetch_max_wait_ms=s.poll_timeout_ms,
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=s.heartbeat_interval_ms,
        )
        await self.consumer.start()
        self.consumer.subscribe([self.topic(t) for t in INPUT_TOPICS], listener=_Rebalance(self))

    async def stop(self) -> None:
        self._stopping.set()

    async def close(self) -> None:
        await self.settle_tail()
        if self.consumer is not None:
            await self.consumer.stop()
        if self.producer is not None:
            await self.producer.stop()
        if self.lookups is not None:
            await self.lookups.aclose()
        await self.redis.aclose()

    async def run(self) -> None:
        """Consume until :meth:`stop`. Never returns early on bad input or a Redis outage."""
        assert self.consumer is not None
        limit = self.settings.batch_max_records
        try:
            while not self._stopping.is_set():
                if self._tail is not None and self._tail.done():
                    await self._await_tail()  # a failed publish or commit stops the worker, idle or not
                # Everything fetched so far, so that each topic-partition's buffer shows what the broker sent
                # (the merge below relies on it; flow control bounds the buffers).
                fetched = await self.consumer.getmany(timeout_ms=self.settings.poll_timeout_ms)
                for tp, msgs in fetched.items():
                    self._buffers.setdefault(tp, deque()).extend(msgs)
                self._flow_control()
                generation = self._generation
                batch = await self._take_in_time_order(limit)
                if not batch:
                    continue
                # A batch and a rebalance never overlap: the rebalance listener takes the same lock and waits for
                # the batch in flight (its publish, clear and commit included), and no batch runs while a crashed
                # owner's outbox is recovered (it would write, then clear, the same outbox key). A batch taken
                # before a rebalance is dropped: every partition restarts from its committed offset.
                async with self._lock:
                    if generation == self._generation and self._assigned.is_set():
                        await self.process(batch)
                self.gc.after_batch()
        finally:
            try:
                await self.close()
            finally:
                self.finished.set()

    def _flow_control(self) -> None:
        """Stop fetching a partition whose buffer holds more than two batches; resume when it drained."""
        assert self.consumer is not None
        full = [tp for tp, buf in self._buffers.items() if len(buf) > 2 * self.settings.batch_max_records]
        drained = [
            tp for tp in self.consumer.paused() if len(self._buffers.get(tp, ())) <= self.settings.batch_max_records
        ]
        if full:
            self.consumer.pause(*full)
        if drained:
            self.consumer.resume(*drained)

    async def _take_in_time_order(self, limit: int) -> dict[int, list[ConsumerRecord[bytes, bytes]]]:
        """Up to ``limit`` buffered messages, grouped by partition number, each group merged across that
        partition's input topics in record-timestamp order (as Kafka Streams synchronises a task's
        partitions); ties go by topic order.

        A topic-partition with nothing buffered holds its partition's merge back unless it is caught up
        (position at the high watermark) or has been empty for ``max_idle_ms``: otherwise a backlog fetched
        faster on one topic (say the warehouse's) would run ahead of the others, and event time with it,
        firing follow-ups before the events that precede them were seen."""
        assert self.consumer is not None
        by_partition: dict[int, list[TopicPartition]] = defaultdict(list)
        for tp in self.consumer.assignment():
            by_partition[tp.partition].append(tp)
        now = time.monotonic()
        out: dict[int, list[ConsumerRecord[bytes, bytes]]] = defaultdict(list)
        taken = 0
        for partition, tps in by_partition.items():
            if not any(self._buffers.get(tp) for tp in tps):
                continue
            if await self._held_back(tps, now):
                continue
            while taken < limit:
                heads = [
                    (buf[0].timestamp, self._order.get(tp.topic, 99), tp)
                    for tp in tps
                    if (buf := self._buffers.get(tp))
                ]
                if not heads:
                    break
                _, _, tp = min(heads, key=lambda h: (h[0], h[1]))
                buf = self._buffers[tp]
                out[partition].append(buf.popleft())
                taken += 1
                if not buf and await self._held_back([tp], now):
                    break
        for tp, buf in self._buffers.items():
            if buf:
                self._empty_since.pop(tp, None)
        return out

    async def _held_back(self, tps: list[TopicPartition], now: float) -> bool:
        """Whether an empty, not caught-up topic-partition among ``tps`` (empty for less than the idle limit)
        must hold the merge back."""
        assert self.consumer is not None
        for tp in tps:
            if self._buffers.get(tp):
                continue
            highwater = self.consumer.highwater(tp)
            if highwater is not None and await self.consumer.position(tp) >= highwater:
                continue  # caught up: nothing to wait for
            since = self._empty_since.setdefault(tp, now)
            if (now - since) * 1000 < self.settings.max_idle_ms:
                return True
        return False

    # ---- one batch ------------------------------------------------------------------------------------

    async def process(self, batch: dict[int, list[ConsumerRecord[bytes, bytes]]]) -> None:
        """One batch: per partition number, the messages in the order :meth:`_take_in_time_order` merged."""
        self.stats.batches += 1
        started = time.perf_counter()
        by_partition = {
            p: [InRecord(m.topic, m.partition, m.offset, m.value or b"", m.timestamp or 0) for m in msgs]
            for p, msgs in batch.items()
        }
        offsets: dict[TopicPartition, int] = {}
        for msgs in batch.values():
            for m in msgs:  # in offset order within each topic-partition
                offsets[TopicPartition(m.topic, m.partition)] = m.offset + 1
            self.stats.messages += len(msgs)
        try:
            outputs = await self._run_batch([self._batch(p, recs) for p, recs in by_partition.items()])
        except _TailFailed:
            raise
        except Exception:
            self.cache.clear()  # objects may have been changed by the failed batch
            log.exception("batch failed; retrying its messages one by one")
            self.stats.batch_fallbacks += 1
            outputs = []
            for p, recs in by_partition.items():
                for rec in recs:
                    outputs += await self._run_single(p, rec)
        self._maybe_fault("after_write")
        self._tail = asyncio.ensure_future(self._finish(self.stats.batches, outputs, by_partition, offsets, started))

    async def _finish(
        self,
        batch_no: int,
        outputs: list[OutRecord],
        by_partition: dict[int, list[InRecord]],
        offsets: dict[TopicPartition, int],
        started: float,
    ) -> None:
        """Steps 5-6 of a batch whose state and outbox are written: publish, clear the outbox, commit. Runs while
        the next batch is read and computed; the next batch's write waits for it (:meth:`_await_tail`)."""
        t = time.perf_counter()
        await self._publish(outputs, batch_no)
        self._maybe_fault("after_publish", batch_no)
        t = self._phase("publish", t)
        await retry_redis(
            lambda: self.state.clear_outbox(set(by_partition)), what="clear outbox", on_failure=self._redis_failed
        )
        self._maybe_fault("after_clear", batch_no)
        t = self._phase("clear", t)
        assert self.consumer is not None
        try:
            await self.consumer.commit(offsets)
        except CommitFailedError:
            # The group rebalanced meanwhile: the new owner redelivers these messages, recognises them by
            # their claimant (already applied) and publishes nothing twice (the outbox is already cleared).
            log.warning("offset commit failed after a rebalance; the new owner skips the applied messages")
            return
        self._phase("commit", t)
        async with self._progress:
            self.committed.update(offsets)
            self._progress.notify_all()
        now_ms = time.time() * 1000
        self.metrics.observe_batch(
            time.perf_counter() - started,
            ((now_ms - r.timestamp_ms) / 1000 for recs in by_partition.values() for r in recs if r.timestamp_ms),
            self.pipeline.stats.exception_to_update_seconds,
        )

    async def _await_tail(self) -> None:
        """Wait for the previous batch's publish, clear and commit: its outbox must be gone before this batch
        writes its own, and its records published before this batch's. Raises :class:`_TailFailed` if it
        failed (the worker stops, as it did when publishing inline; the outbox stays for recovery)."""
        tail, self._tail = self._tail, None
        if tail is not None:
            try:
                await tail
            except Exception as exc:
                raise _TailFailed(f"finishing the previous batch failed: {exc!r}") from exc

    async def settle_tail(self) -> None:
        """Wait for the batch in flight to finish (a revocation, :meth:`close`); a failure is logged, not
        raised: the outbox it left is published by the partition's next owner."""
        try:
            await self._await_tail()
        except _TailFailed:
            log.exception("the last batch did not finish; its outbox stays for the partition's next owner")

    async def _run_single(self, partition: int, rec: InRecord) -> list[OutRecord]:
        try:
            return await self._run_batch([self._batch(partition, [rec])])
        except _TailFailed:
            raise
        except Exception as exc:
            self.cache.clear()
            log.exception("message %s failed; dead-lettered", rec.claimant)
            text = rec.value.decode("utf-8", "replace")
            dl = dead_letter(
                text,
                f"internal error {type(exc).__name__}: {exc} (in the worker's batch stage)",
                "internal_error",
                source_name=f"{rec.topic}[{rec.partition}]",
                line=rec.offset,
            )
            self.pipeline.stats.dead_letters += 1
            self.pipeline.stats.dead_letter_types["internal_error"] += 1
            return [OutRecord(TOPIC_DLQ, None, record_json(dl))]

    def _batch(self, partition: int, records: list[InRecord]) -> PartitionBatch:
        return PartitionBatch(partition, self._n(), records, sweep_inline=self.settings.sweep_inline_orders)

    def _phase(self, name: str, since: float) -> float:
        now = time.perf_counter()
        self.stats.seconds[name] += now - since
        return now

    async def _run_batch(self, parts: list[PartitionBatch]) -> list[OutRecord]:
        t = time.perf_counter()
        req1 = LoadRequest()
        for pb in parts:
            pb.first_request(req1)
        first = await retry_redis(lambda: self.state.load(req1), what="load", on_failure=self._redis_failed)
        req2 = LoadRequest()
        for pb in parts:
            pb.second_request(first, req2)
        req2.contexts -= req1.contexts
        req2.cases -= req1.cases
        req2.seen -= req1.seen
        if req2:
            second = await retry_redis(lambda: self.state.load(req2), what="load", on_failure=self._redis_failed)
            first.merge(second)
        if self.lookups is not None:
            await self._look_up(parts, first)
        t = self._phase("read", t)
        write = StateWrite(outbox_since_ms=int(time.time() * 1000))
        outputs: list[OutRecord] = []
        for pb in parts:
            outs = pb.run(self.pipeline, first, write, self.stats.batch, self.cache)
            if self.shadow is not None:
                outs += self._shadow(pb, first, outs)
            if outs:
                write.outbox[pb.partition] = {o.digest(): o.encode() for o in outs}
            outputs += outs
        self._maybe_fault("after_run")
        t = self._phase("pipeline", t)
        await self._await_tail()
        await retry_redis(lambda: self.state.write(write), what="write", on_failure=self._redis_failed)
        self._phase("write", t)
        return outputs

    def _shadow(self, pb: PartitionBatch, loaded: Loaded, live: list[OutRecord]) -> list[OutRecord]:
        """Run the candidate policy on the same records and state (decoded afresh, written nowhere); return
        the comparison records of the evaluations where it differs. A failure of the candidate is logged and
        counted (``candidate_failed``) and never affects the live batch."""
        assert self.shadow is not None
        try:
            candidate = pb.run(self.shadow, loaded, StateWrite(), BatchStats())
        except Exception:  # the candidate must never hold up the live policy: counted, logged, skipped
            self.shadow_stats.compared["candidate_failed"] += 1
            log.exception("shadow policy failed on a batch of partition %d; comparison skipped", pb.partition)
            return []
        self.shadow.stats.exception_to_update_seconds.clear()

        def decoded(outs: list[OutRecord]) -> list[dict[str, Any]]:
            return [orjson.loads(o.value) for o in outs if o.topic in SHADOW_COMPARED_TOPICS]

        diffs = compare(decoded(live), decoded(candidate), self.shadow_stats)
        return [OutRecord(TOPIC_SHADOW, _key(d.get("order_id")), orjson.dumps(d)) for d in diffs]

    async def _look_up(self, parts: list[PartitionBatch], loaded: Loaded) -> None:
        """Live look-ups for contacts about orders whose context lacks a source (policy ``lookups``): the
        answers join the batch before the contact; failures route it to missing_order_data. Only batches
        with such a contact pay for this."""
        assert self.lookups is not None
        oms, carrier = self.lookups.source("oms") is not None, self.lookups.source("carrier") is not None
        asked = [(pb, pb.lookup_requests(loaded, oms, carrier)) for pb in parts]
        todo = [r for _, reqs in asked for r in reqs]
        if not todo:
            return
        results = dict(zip(todo, await self.lookups.fetch_all(todo), strict=True))
        extra = LoadRequest()
        for pb, reqs in asked:
            extra.seen.update(pb.add_lookup_results([results[r] for r in reqs]))
        if extra.seen:
            more = await retry_redis(lambda: self.state.load(extra), what="load", on_failure=self._redis_failed)
            loaded.merge(more)

    async def _publish(self, outputs: Iterable[OutRecord], batch_no: int | None = None) -> None:
        """Send and wait for every acknowledgement (acks=all)."""
        outs = list(outputs)
        if self._fault is not None and self._fault[0] == "mid_publish":
            half = len(outs) // 2
            await self._send(outs[:half])
            self._maybe_fault("mid_publish", batch_no)
            await self._send(outs[half:])
        else:
            await self._send(outs)
        self.stats.outputs += len(outs)

    async def _send(self, outs: list[OutRecord]) -> None:
        """Publish and wait for the broker's acknowledgements. Records are grouped into one record batch per
        topic-partition (partitioned as Kafka's default partitioner does: murmur2 of the key), which costs
        far less than one ``send`` per record; forwarded tickets go one by one, to learn their offsets."""
        assert self.producer is not None
        futures = []
        forwards = [o for o in outs if o.topic == FORWARD_TICKET]
        by_tp: dict[tuple[str, int], list[OutRecord]] = defaultdict(list)
        for o in outs:
            if o.topic != FORWARD_TICKET:
                topic = self.topic(o.topic)
                n = self._partition_counts.get(topic) or await self._partition_count(topic)
                by_tp[(topic, partition_of(o.key, n))].append(o)
        for (topic, partition), records in by_tp.items():
            batch = self.producer.create_batch()
            for o in records:
                if batch.append(timestamp=None, key=o.key, value=o.value) is None:
                    futures.append(await self.producer.send_batch(batch, topic, partition=partition))
                    batch = self.producer.create_batch()
                    batch.append(timestamp=None, key=o.key, value=o.value)
            futures.append(await self.producer.send_batch(batch, topic, partition=partition))
        sent = [await self.producer.send(self.topic(o.topic), o.value, key=o.key) for o in forwards]
        if futures:
            await asyncio.gather(*futures)
        for md in await asyncio.gather(*sent):
            tp = TopicPartition(md.topic, md.partition)
            self.forwarded[tp] = max(self.forwarded.get(tp, 0), md.offset + 1)

    async def _partition_count(self, topic: str) -> int:
        assert self.producer is not None
        n = len(await self.producer.partitions_for(topic))
        self._partition_counts[topic] = n
        return n

    def assigned_partitions(self) -> set[TopicPartition]:
        return set(self.consumer.assignment()) if self.consumer is not None else set()

    def lag_by_topic(self) -> dict[tuple[str], int]:
        """Per input topic (configured name), messages between the committed offset and the high watermark of
        the last fetch, summed over this worker's partitions (a partition with no commit yet counts whole)."""
        lag: dict[tuple[str], int] = {}
        if self.consumer is None:
            return lag
        for tp in self.consumer.assignment():
            high = self.consumer.highwater(tp)
            if high is None:
                continue
            key = (tp.topic,)
            lag[key] = lag.get(key, 0) + max(0, high - self.committed.get(tp, 0))
        return lag

    def topic(self, canonical: str) -> str:
        """The configured name of a canonical topic (a forwarded ticket goes to the ticket topic)."""
        return self.settings.topic_prefix + _FORWARDED_TO.get(canonical, canonical)

    async def clock_now(self, partitions: int) -> list[float]:
        """What each partition's follow-ups are due against (epoch s): the newest event time processed on
        it, or with ``clock=wall`` the later of that and the wall clock."""
        scores = await self.redis.zmscore(self.keys.watermark(), [str(p) for p in range(partitions)])
        wms = [float(s) if s is not None else 0.0 for s in scores]
        if self.settings.clock == "wall":
            wall = time.time()
            return [max(wm, wall) for wm in wms]
        return wms

    def _n(self) -> int:
        if not self.partitions:
            assert self.consumer is not None
            parts = self.consumer.partitions_for_topic(self.topic(TICKET_TOPIC))
            self.partitions = len(parts) if parts else 1
        return self.partitions

    def _redis_failed(self, exc: BaseException) -> None:
        self.stats.redis_failures += 1

    # ---- recovery -------------------------------------------------------------------------------------

    async def recover(self, partitions: set[int]) -> None:
        """Publish the outboxes a crashed owner left for ``partitions`` (skipping what it had published)."""
        for p in sorted(partitions):
            await self._recover_one(p)

    async def _recover_one(self, p: int) -> None:
        records, since = await retry_redis(
            lambda: self.state.outbox(p), what="read outbox", on_failure=self._redis_failed
        )
        if not records:
            return
        self.stats.recovered_outboxes += 1
        pending = [OutRecord.decode(v) for v in records.values()]
        published = await self._published_since(pending, since)
        todo = [o for o in pending if (self.topic(o.topic), o.key, o.value) not in published]
        self.stats.recovered_skipped += len(pending) - len(todo)
        log.warning(
            "partition %d: recovering an outbox of %d records (%d already published)",
            p,
            len(pending),
            len(pending) - len(todo),
        )
        await self._publish(todo)
        await retry_redis(lambda: self.state.clear_outbox({p}), what="clear outbox", on_failure=self._redis_failed)

    async def _published_since(
        self, pending: list[OutRecord], since_ms: int | None
    ) -> set[tuple[str, bytes | None, bytes]]:
        """Every (topic, key, value) on the topics ``pending`` targets, from ``since_ms`` minus the slack."""
        topics = sorted({self.topic(o.topic) for o in pending})
        reader = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10
        )
        await reader.start()
        found: set[tuple[str, bytes | None, bytes]] = set()
        try:
            tps = [TopicPartition(t, p) for t in topics for p in sorted(reader.partitions_for_topic(t) or ())]
            if not tps:
                return found
            try:
                end = await true_end_offsets(reader, tps)
            except TimeoutError:  # a partition did not answer: scan to the reported ends, best effort
                log.warning("outbox recovery: exact end offsets unavailable; scanning to the reported ends")
                end = await reader.end_offsets(tps)
            reader.assign(tps)
            start_ms = int((since_ms or 0) - OUTBOX_SCAN_SLACK_SECONDS * 1000)
            try:
                starts = await reader.offsets_for_times({tp: max(start_ms, 0) for tp in tps})
            except Exception:  # a broker without ListOffsets by time: scan everything retained
                starts = {}
            remaining = set()
            for tp in tps:
                st = starts.get(tp)
                # Tansu answers a time after its last record with offset 0 (not None): a full scan, still correct.
                if st is not None and 0 <= st.offset < end[tp]:
                    reader.seek(tp, st.offset)
                else:
                    await reader.seek_to_beginning(tp)
                if end[tp] > 0:
                    remaining.add(tp)
            while remaining:
                got = await reader.getmany(*remaining, timeout_ms=500)
                for tp, msgs in got.items():
                    for m in msgs:
                        found.add((tp.topic, m.key, m.value or b""))
                for tp in list(remaining):
                    if await reader.position(tp) >= end[tp]:
                        remaining.discard(tp)
        finally:
            await reader.stop()
        return found

    # ---- test support ---------------------------------------------------------------------------------

    async def wait_committed(self, offsets: dict[TopicPartition, int], timeout: float = 30.0) -> None:
        """Wait until every partition's committed offset reached the given one (for tests and the demo)."""

        def done() -> bool:
            return all(self.committed.get(tp, 0) >= off for tp, off in offsets.items())

        async with self._progress:
            await asyncio.wait_for(self._progress.wait_for(done), timeout)

    async def wait_idle(self, published: dict[TopicPartition, int], timeout: float = 30.0) -> None:
        """Wait until everything ``published`` and every ticket this worker forwarded meanwhile is committed."""
        while True:
            target = dict(published)
            for tp, off in self.forwarded.items():
                target[tp] = max(target.get(tp, 0), off)
            await self.wait_committed(target, timeout)
            if all(self.forwarded.get(tp, 0) <= target.get(tp, 0) for tp in self.forwarded):
                return

    def _maybe_fault(self, point: str, batch_no: int | None = None) -> None:
        if self._fault is None:
            return
        want, n = self._fault
        if want == point and (self.stats.batches if batch_no is None else batch_no) == n:
            log.error("fault injection: SIGKILL at %s of batch %d", point, n)
            os.kill(os.getpid(), signal.SIGKILL)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # Waits for the batch in flight (committed before it releases the lock). Buffered messages are
        # dropped: after the rebalance every partition restarts from its committed offset.
        async with self.worker._lock:
            await self.worker.settle_tail()
            self.worker._generation += 1
            self.worker._assigned.clear()
            self.worker._buffers.clear()
            self.worker._empty_since.clear()

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        async with self.worker._lock:
            await self.worker.settle_tail()
            self.worker.partitions = 0
            self.worker._n()
            self.worker._generation += 1
            self.worker._buffers.clear()
            try:
                await self.worker.recover({tp.partition for tp in assigned})
            finally:
                self.worker._assigned.set()


SHADOW_COMPARED_TOPICS = frozenset({TOPIC_DECISIONS, TOPIC_REPLIES, TOPIC_NOTES, TOPIC_ESCALATIONS, TOPIC_ACTIONS})


def _key(order_id: object) -> bytes | None:
    return order_id.encode() if isinstance(order_id, str) else None


class _TailFailed(Exception):
    """The previous batch's publish, outbox clear or commit failed (see :meth:`Worker._await_tail`)."""


def _parse_fault(spec: str | None) -> tuple[str, int] | None:
    if not spec:
        return None
    point, _, n = spec.partition(":")
    return point, int(n or "1")


__all__ = ["CLOCK_TOPIC", "INPUT_TOPICS", "TICKET_TOPIC", "Loaded", "Worker"]
