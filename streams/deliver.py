"""``wismo deliver``: the delivery sinks' consumer loop (action topics in; Zendesk, Slack, webhook out).

An aiokafka consumer in its own group (``<group_id>-deliver``) reads the action topics that have an enabled
target (:mod:`wismo.sinks.routing`). Per batch (``getmany``):

1. records are grouped by key (order id); groups run concurrently (``delivery_concurrency``), the records of
   one order one after another, in their order on the topic (merged across topics by timestamp);
2. each record goes to each of its targets through :class:`~wismo.sinks.delivery.Delivery` (idempotent by
   action id per target; retried; reconciled after a crash; dead-lettered, never dropped). A record that is not
   a valid action record is dead-lettered without trying any target;
3. the audit records (``wismo.deliveries``) and dead letters are acknowledged by the broker, then each
   partition's offset is committed up to its first record not finished. Unfinished records (a stop request, an
   unexpected error) are fetched again: the partition is rewound to them.

At least once: a crash anywhere re-reads uncommitted records, and the idempotency records turn what was already
delivered into ``duplicate`` and what was in flight into a reconciliation. SIGTERM/SIGINT: deliveries waiting to
retry stop at once (left in flight for the next owner), calls in progress finish, finished records are committed.

``wismo deliver`` serves ``/metrics`` (attempts by target and outcome, dead letters by target: the same counts as
the audit records) and ``/health`` on ``delivery_web_port`` (:mod:`wismo.streams.deliver_web`).

Test hook: ``WISMO_DELIVERY_FAULT=after_call:<n>`` kills the process (SIGKILL) right after the n-th successful
call to a target, before it is recorded: the crash between call and record.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import signal
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError
from redis.asyncio import Redis
from wismo.processors.intake import dead_letter
from wismo.sinks.audit import TOPIC_DELIVERIES, DeliveryAudit, DeliveryStats
from wismo.sinks.backoff import BackoffPolicy
from wismo.sinks.base import DeliveryJob, Sink, Target
from wismo.sinks.delivery import Delivery, Interrupted
from wismo.sinks.delivery_ledger import DeliveryLedger, LostLease
from wismo.sinks.routing import Routing
from wismo.sinks.signed_webhook import SignedWebhookSink
from wismo.sinks.slack import SlackSink
from wismo.sinks.zendesk import ZendeskSink
from wismo.streams.deliver_web import WebPortUnavailable, start_web
from wismo.streams.delivery_demotion import DeliveryDemotion

from wismo.delivery_settings import DeliverySettings
from wismo.policy import load_policy
from wismo.records import (
    TOPIC_ACTIONS,
    TOPIC_DLQ,
    TOPIC_ESCALATIONS,
    ActionDraftRecord,
    ActionRecord,
    DeadLetter,
    EscalationRecord,
    record_json,
)
from wismo.state_keys import DELIVERY_INTERNAL_ERROR_LIMIT, DELIVERY_MAX_POLL_INTERVAL_MS, Keys

log = logging.getLogger(__name__)

FAULT_ENV = "WISMO_DELIVERY_FAULT"
EXIT_OK = 0
EXIT_USAGE = 2

_MODELS: dict[str, type[ActionRecord]] = {TOPIC_ESCALATIONS: EscalationRecord, TOPIC_ACTIONS: ActionDraftRecord}


def parse_job(topic: str, message: ConsumerRecord[bytes, bytes]) -> DeliveryJob | DeadLetter:
    """The record of ``message`` (on canonical ``topic``), or a dead letter saying why it is not one. Fields this
    version does not know are ignored (producers may add optional fields)."""
    raw = message.value or b""
    source = f"{message.topic}[{message.partition}]"
    model = _MODELS.get(topic, ActionRecord)
    text = raw.decode("utf-8", "replace")
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return dead_letter(
            text, f"not JSON: {exc} (delivery sinks)", "malformed_json", source_name=source, line=message.offset
        )
    if not isinstance(obj, dict):
        return dead_letter(
            text, "not a JSON object (delivery sinks)", "malformed_json", source_name=source, line=message.offset
        )
    try:
        record = model.model_validate({k: v for k, v in obj.items() if k in model.model_fields})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        reason = f"not a valid {model.__name__} on {topic}: {problems} (delivery sinks)"
        return dead_letter(text, reason, "invalid_event", obj=obj, source_name=source, line=message.offset)
    return DeliveryJob(topic=topic, record=record, raw=raw, source=source, offset=message.offset)


def merge_by_time(runs: Iterable[list[ConsumerRecord[bytes, bytes]]]) -> list[ConsumerRecord[bytes, bytes]]:
    """Merge per-topic-partition runs (each in offset order, kept) by record timestamp; ties by topic name."""
    heads = [list(r) for r in runs if r]
    out: list[ConsumerRecord[bytes, bytes]] = []
    while heads:
        i = min(range(len(heads)), key=lambda n: (heads[n][0].timestamp or 0, heads[n][0].topic))
        out.append(heads[i].pop(0))
        if not heads[i]:
            heads.pop(i)
    return out


def build_sinks(settings: DeliverySettings, redis: Redis, keys: Keys) -> dict[Target, Sink]:
    """One sink per configured target."""
    timeout = settings.delivery_timeout_seconds
    sinks: dict[Target, Sink] = {}
    if settings.zendesk_url and settings.zendesk_email and settings.zendesk_api_token:
        sinks["zendesk"] = ZendeskSink(
            settings.zendesk_url,
            settings.zendesk_email,
            settings.zendesk_api_token.get_secret_value(),
            redis=redis,
            keys=keys,
            timeout=timeout,
        )
    if settings.slack_bot_token and settings.slack_channel:
        sinks["slack"] = SlackSink(
            settings.slack_api_url, settings.slack_bot_token.get_secret_value(), settings.slack_channel, timeout=timeout
        )
    if settings.webhook_url and settings.webhook_secret:
        sinks["webhook"] = SignedWebhookSink(
            settings.webhook_url, settings.webhook_secret.get_secret_value(), timeout=timeout
        )
    return sinks


class KafkaDeliveryOutput:
    """Audit records and dead letters to Kafka (``<prefix>wismo.deliveries``, ``<prefix>wismo.dlq``)."""

    def __init__(
        self, producer: AIOKafkaProducer, topic_prefix: str, observe: Callable[[DeliveryAudit], None] | None = None
    ) -> None:
        self.producer = producer
        self.prefix = topic_prefix
        self.observe = observe
        self._pending: list[asyncio.Future[Any]] = []

    async def audit(self, record: DeliveryAudit) -> None:
        if self.observe is not None:
            self.observe(record)
        key = record.order_id.encode() if record.order_id else None
        self._pending.append(await self.producer.send(self.prefix + TOPIC_DELIVERIES, record_json(record), key=key))

    async def dead_letter(self, record: DeadLetter) -> None:
        key = record.order_id.encode() if record.order_id else None
        await self.producer.send_and_wait(self.prefix + TOPIC_DLQ, record_json(record), key=key)

    async def flush(self) -> None:
        """Wait for every queued audit record's acknowledgement."""
        pending, self._pending = self._pending, []
        if pending:
            await asyncio.gather(*pending)


class DeliveryWorker:
    """One delivery process: ``start()``, then ``run()`` until ``stop()``. ``sinks`` defaults to the configured
    targets; tests may pass their own."""

    def __init__(
        self,
        settings: DeliverySettings,
        *,
        sinks: dict[Target, Sink] | None = None,
        redis: Redis | None = None,
        client_id: str | None = None,
        fault: Callable[[str], None] | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self.keys = Keys(settings.key_prefix)
        self.redis = redis or Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2)
        self.sinks = sinks if sinks is not None else build_sinks(settings, self.redis, self.keys)
        self.routing = Routing(frozenset(self.sinks), frozenset(settings.webhook_topics))
        self.client_id = client_id or f"wismo-deliver-{os.getpid()}"
        self.owner = f"{self.client_id}-{uuid.uuid4().hex[:8]}"
        self.stats = DeliveryStats()
        limits = load_policy(settings.policy_file).rollout.demotion
        self.demotion = DeliveryDemotion(self.redis, self.keys, limits, self.client_id)
        self._stopping = asyncio.Event()
        self._lock = asyncio.Lock()
        self._progress = asyncio.Condition()
        self._errors: Counter[tuple[str, str]] = Counter()
        self.committed: dict[TopicPartition, int] = {}
        self.finished = asyncio.Event()
        self.rand = rand
        self.fault = fault if fault is not None else _env_fault(os.environ.get(FAULT_ENV))
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.output: KafkaDeliveryOutput | None = None
        self.delivery: Delivery | None = None

    @property
    def topics(self) -> list[str]:
        """The configured names of the topics this process consumes."""
        return [self.settings.topic_prefix + t for t in self.routing.topics()]

    async def start(self) -> None:
        s = self.settings
        if not self.topics:
            raise ValueError("no delivery target configured (Zendesk, Slack or webhook)")
        self.producer = AIOKafkaProducer(
            bootstrap_servers=s.kafka_bootstrap, client_id=self.client_id, acks="all", linger_ms=2
        )
        await self.producer.start()
        self.output = KafkaDeliveryOutput(self.producer, s.topic_prefix, self.demotion.observe)
        self.delivery = Delivery(
            DeliveryLedger(self.redis, self.keys, self.owner),
            self.sinks,
            self.output,
            max_attempts=s.delivery_max_attempts,
            backoff=BackoffPolicy(s.delivery_backoff_initial_seconds, s.delivery_backoff_max_seconds),
            lease_seconds=s.delivery_lease_seconds,
            stats=self.stats,
            stopping=self._stopping,
            rand=self.rand,
            fault=self.fault,
        )
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=s.kafka_bootstrap,
            client_id=self.client_id,
            group_id=s.consumer_group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=s.delivery_poll_timeout_ms,
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=s.heartbeat_interval_ms,
            max_poll_interval_ms=DELIVERY_MAX_POLL_INTERVAL_MS,
        )
        await self.consumer.start()
        self.consumer.subscribe(self.topics, listener=_Rebalance(self))

    def stop(self) -> None:
        """Request a graceful stop (safe from a signal handler)."""
        self._stopping.set()

    async def close(self) -> None:
        try:
            if self.consumer is not None:
                await self.consumer.stop()
            if self.producer is not None:
                await self.producer.stop()
            for sink in self.sinks.values():
                await sink.aclose()
        finally:
            await self.redis.aclose()

    async def run(self) -> None:
        """Consume until :meth:`stop`. Bad records are dead-lettered; a target outage is retried, then
        dead-lettered; a Redis outage pauses delivery (never loses a record)."""
        assert self.consumer is not None
        try:
            while not self._stopping.is_set():
                fetched = await self.consumer.getmany(
                    timeout_ms=self.settings.delivery_poll_timeout_ms,
                    max_records=self.settings.delivery_batch_max_records,
                )
                if not fetched:
                    continue
                async with self._lock:
                    await self.process(fetched)
        finally:
            try:
                await self.close()
            finally:
                self.finished.set()

    async def process(self, fetched: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> None:
        """One batch: deliver, flush the audit, commit what finished, rewind what did not."""
        assert self.consumer is not None and self.output is not None
        by_key: dict[bytes, dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]] = {}
        for tp, msgs in fetched.items():
            for m in msgs:
                key = m.key if m.key else f"\x00{tp.topic}:{tp.partition}".encode()
                by_key.setdefault(key, {}).setdefault(tp, []).append(m)
        finished: set[tuple[TopicPartition, int]] = set()
        gate = asyncio.Semaphore(self.settings.delivery_concurrency)

        async def run_chain(msgs: list[ConsumerRecord[bytes, bytes]]) -> None:
            async with gate:
                for m in msgs:
                    await self._handle(m)
                    finished.add((TopicPartition(m.topic, m.partition), m.offset))

        results = await asyncio.gather(
            *(run_chain(merge_by_time(runs.values())) for runs in by_key.values()), return_exceptions=True
        )
        await self.output.flush()
        await self.demotion.check()
        for r in results:
            if isinstance(r, BaseException) and not isinstance(r, Exception):
                raise r  # a simulated crash (tests) or a KeyboardInterrupt: nothing is committed
            if isinstance(r, LostLease):
                log.warning("%s; its record is fetched again", r)
            elif isinstance(r, Exception) and not isinstance(r, Interrupted):
                log.error("delivery failed unexpectedly; the record is fetched again", exc_info=r)
        await self._commit(fetched, finished)

    async def _commit(
        self,
        fetched: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]],
        finished: set[tuple[TopicPartition, int]],
    ) -> None:
        assert self.consumer is not None
        offsets: dict[TopicPartition, int] = {}
        for tp, msgs in fetched.items():
            done_upto = None
            for m in msgs:
                if (tp, m.offset) not in finished:
                    if not self._stopping.is_set():
                        self.consumer.seek(tp, m.offset)  # fetch the unfinished record again
                    break
                done_upto = m.offset + 1
            if done_upto is not None:
                offsets[tp] = done_upto
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except CommitFailedError:
            log.warning("offset commit failed after a rebalance; the new owner finds these deliveries done")
            return
        async with self._progress:
            self.committed.update(offsets)
            self._progress.notify_all()

    async def _handle(self, message: ConsumerRecord[bytes, bytes]) -> None:
        assert self.delivery is not None and self.output is not None
        topic = message.topic[len(self.settings.topic_prefix) :]
        job = parse_job(topic, message)
        if isinstance(job, DeadLetter):
            self.stats.invalid_records += 1
            log.error(
                "invalid record dead-lettered: %s[%d]@%d: %s",
                message.topic,
                message.partition,
                message.offset,
                job.reason,
            )
            await self.output.dead_letter(job)
            return
        results = await asyncio.gather(
            *(self._deliver(job, t) for t in self.routing.targets_for(topic)), return_exceptions=True
        )
        for r in results:
            if isinstance(r, BaseException):
                raise r

    async def _deliver(self, job: DeliveryJob, target: Target) -> None:
        assert self.delivery is not None
        try:
            await self.delivery.deliver(job, target)
        except (Interrupted, LostLease):
            raise
        except Exception as exc:
            key = (target, job.action_id)
            self._errors[key] += 1
            if self._errors[key] < DELIVERY_INTERNAL_ERROR_LIMIT:
                raise
            log.exception("%s delivery of %s failed %d times unexpectedly", target, job.action_id, self._errors[key])
            del self._errors[key]
            await self.delivery.give_up(job, target, f"internal error {type(exc).__name__}: {exc}")

    # ---- test support ---------------------------------------------------------------------------------

    async def wait_committed(self, offsets: dict[TopicPartition, int], timeout: float = 30.0) -> None:
        """Wait until every partition's committed offset reached the given one."""

        def reached() -> bool:
            return all(self.committed.get(tp, 0) >= off for tp, off in offsets.items())

        async with self._progress:
            await asyncio.wait_for(self._progress.wait_for(reached), timeout)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: DeliveryWorker) -> None:
        self.worker = worker

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self.worker._lock:  # waits for the batch in flight (committed before it releases the lock)
            pass

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        return None


def _env_fault(spec: str | None) -> Callable[[str], None] | None:
    if not spec:
        return None
    point, _, n = spec.partition(":")
    seen = Counter[str]()
    limit = int(n or "1")

    def fault(at: str) -> None:
        seen[at] += 1
        if at == point and seen[at] == limit:
            log.error("fault injection: SIGKILL %s #%d", at, limit)
            os.kill(os.getpid(), signal.SIGKILL)

    return fault


# ---- CLI ----------------------------------------------------------------------------------------------------

_LEVELS = {"crit": logging.CRITICAL, "error": logging.ERROR, "warn": logging.WARNING, "info": logging.INFO}
_LEVELS["debug"] = logging.DEBUG


def settings_from_args(args: argparse.Namespace) -> DeliverySettings:
    overrides: dict[str, Any] = {
        "kafka_bootstrap": getattr(args, "bootstrap", None),
        "redis_url": getattr(args, "redis", None),
        "group_id": getattr(args, "group", None),
        "topic_prefix": getattr(args, "topic_prefix", None),
    }
    return DeliverySettings(**{k: v for k, v in overrides.items() if v is not None})


async def serve(settings: DeliverySettings) -> DeliveryStats:
    """Run one delivery process until SIGTERM/SIGINT, with ``/metrics`` and ``/health`` on
    ``delivery_web_port`` (unless 0). Raises :class:`~wismo.streams.deliver_web.WebPortUnavailable` before
    anything is consumed when that port cannot be opened."""
    worker = DeliveryWorker(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.stop)
    runner: web.AppRunner | None = None
    try:
        if settings.delivery_web_port:
            runner, port = await start_web(worker, settings.delivery_web_host, settings.delivery_web_port)
            log.info("metrics on http://%s:%d/metrics", settings.delivery_web_host, port)
        await worker.start()
        log.info("delivering %s to %s", ", ".join(worker.topics), ", ".join(sorted(worker.sinks)))
        await worker.run()
    finally:
        if runner is not None:
            await runner.cleanup()
    return worker.stats


def cmd_deliver(args: argparse.Namespace) -> int:
    """``wismo deliver``: exit 0 after a graceful stop, 2 on a configuration error."""
    try:
        settings = settings_from_args(args)
    except ValidationError as exc:
        print(f"wismo deliver: error: {_settings_error(exc)}", file=sys.stderr)
        return EXIT_USAGE
    if not Routing.from_settings(settings).topics():
        print(
            "wismo deliver: error: no delivery target configured: set WISMO_ZENDESK_URL, WISMO_SLACK_BOT_TOKEN "
            "and WISMO_SLACK_CHANNEL, or WISMO_WEBHOOK_URL",
            file=sys.stderr,
        )
        return EXIT_USAGE
    logging.basicConfig(level=_LEVELS[args.loglevel], format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        stats = asyncio.run(serve(settings))
    except WebPortUnavailable as exc:
        print(f"wismo deliver: error: {exc} (WISMO_DELIVERY_WEB_PORT; 0 turns it off)", file=sys.stderr)
        return EXIT_USAGE
    print(
        f"wismo deliver: stopped; delivered {sum(stats.delivered.values())}, reconciled "
        f"{sum(stats.reconciled.values())}, dead-lettered {sum(stats.dead_lettered.values())}",
        file=sys.stderr,
    )
    return EXIT_OK


def _settings_error(exc: ValidationError) -> str:
    return "; ".join(
        (f"{'.'.join(str(p) for p in e['loc'])}: " if e["loc"] else "") + str(e["msg"]).removeprefix("Value error, ")
        for e in exc.errors()
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``wismo deliver`` to the ``wismo`` command line."""
    dp = sub.add_parser(
        "deliver",
        help="deliver the action topics to Zendesk, Slack and a signed webhook",
        description="Consume wismo.replies, wismo.notes, wismo.escalations and wismo.actions and deliver them "
        "to the configured targets, idempotently by action id (audit on wismo.deliveries, failures on "
        "wismo.dlq). Targets and retries from WISMO_* environment variables (see wismo/delivery_settings.py).",
    )
    dp.add_argument("--bootstrap", metavar="HOSTS", help="Kafka bootstrap servers ($WISMO_KAFKA_BOOTSTRAP)")
    dp.add_argument("--redis", metavar="URL", help="Redis URL ($WISMO_REDIS_URL)")
    dp.add_argument("--group", metavar="ID", help="deployment group; the sinks use <ID>-deliver ($WISMO_GROUP_ID)")
    dp.add_argument("--topic-prefix", metavar="P", help="prefix of every topic name ($WISMO_TOPIC_PREFIX)")
    dp.add_argument("--loglevel", default="warn", choices=tuple(_LEVELS))
    dp.set_defaults(func=cmd_deliver)


__all__ = ["DeliveryWorker", "KafkaDeliveryOutput", "build_sinks", "cmd_deliver", "parse_job", "register"]
