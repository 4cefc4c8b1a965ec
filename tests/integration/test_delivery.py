"""``wismo deliver`` end to end: real Kafka, real Redis, real HTTP stand-ins for Zendesk, Slack and a webhook.

What a user would notice is checked at the stand-ins (comments on tickets, messages in the channel, deliveries the
receiver processed) and on the topics (``wismo.deliveries`` audit, ``wismo.dlq``): nothing lost, nothing twice,
in the right place, under rate limits, server errors, timeouts, crashes and restarts.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from conftest import FAST_GROUP, run_async
from delivery_standins import (
    SLACK_CHANNEL,
    SLACK_TOKEN,
    WEBHOOK_SECRET,
    ZENDESK_EMAIL,
    ZENDESK_TOKEN,
    Fail,
    SlackError,
    SlackStandIn,
    Slow,
    WebhookReceiver,
    ZendeskStandIn,
)
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from wismo.processors.adapters.base import REVIEW_ACTION_PREFIX, REVIEW_DECISIONS, comment_marker
from wismo.sinks.audit import TOPIC_DELIVERIES
from wismo.sinks.zendesk import NO_TICKET_NO_EMAIL
from wismo.streams.deliver import DeliveryWorker
from wismo.streams.deliver_metrics import AUDIT_OUTCOMES
from wismo.streams.metrics import DELIVERY_COUNTERS, EXPORTED, PREFIX
from wismo.streams.topics import create_topics, load_topics

from wismo.delivery_settings import DeliverySettings
from wismo.local_servers import free_port
from wismo.records import (
    TOPIC_ACTIONS,
    TOPIC_DLQ,
    TOPIC_ESCALATIONS,
    TOPIC_NOTES,
    TOPIC_REPLIES,
    ActionDraftRecord,
    ActionRecord,
    EscalationRecord,
)
from wismo.state_keys import Keys

TOPICS = (TOPIC_REPLIES, TOPIC_NOTES, TOPIC_ESCALATIONS, TOPIC_ACTIONS, TOPIC_DLQ, TOPIC_DELIVERIES)
TERMINAL = {"success", "reconciled", "dead_lettered", "duplicate", "no_ticket"}
T0_MS = 1_793_600_000_000


class SimulatedCrash(BaseException):
    """Raised by the fault hook: the process 'dies' right after a successful call, before recording it."""


# ---- records ------------------------------------------------------------------------------------------------

_BASE: dict[str, Any] = {
    "mode": "live",
    "condition_type": "standard_in_transit",
    "recommended_action": "answer",
    "escalation_reasons": [],
    "caused_by": "ev-1",
    "created_at": "2026-11-02T10:00:00Z",
    "customer_safe_summary": "On its way.",
    "internal_summary": "In transit, last scan 2 h ago.",
    "customer_options": [],
    "follow_up_reason": None,
    "next_follow_up_due_at": None,
    "confidence": "high",
}


def action(aid: str, kind: str, order: str, ticket: str | None, **extra: Any) -> ActionRecord:
    text = extra.pop("text", f"Hi Ann,\n\nAn update on order {order}: it is on its way ({aid}).\n\n— Support")
    obj = {**_BASE, "action_id": aid, "kind": kind, "case_id": f"WC-{order}-1", "order_id": order}
    obj.update({"ticket_id": ticket, "text": text, **extra})
    return ActionRecord.model_validate(obj)


def escalation(aid: str, order: str) -> EscalationRecord:
    base = action(aid, "escalation", order, None, recommended_action="escalate", escalation_reasons=["high_value"])
    return EscalationRecord.model_validate(
        {
            **base.model_dump(),
            "escalation_id": aid,
            "team": "cx",
            "priority": "high",
            "order_facts": {"order_id": order, "order_number": order[1:], "order_value": "900", "currency": "USD"},
            "customer_impact": "The customer is waiting for an accurate answer.",
            "requested_decision": "Approve a replacement.",
            "decision_options": list(REVIEW_DECISIONS),
            "deadline": "2026-11-03T10:00:00Z",
            "answer_via": f"review.decision event on wismo.in.review with escalation_id={aid}",
        }
    )


def draft(aid: str, order: str) -> ActionDraftRecord:
    base = action(aid, "action_draft", order, None)
    return ActionDraftRecord.model_validate(
        {
            **base.model_dump(),
            "action_type": "replacement",
            "approval_state": "pending_approval",
            "eligible": True,
            "eligibility_reasons": [],
            "requires_approval": True,
            "write_enabled": False,
        }
    )


# ---- harness ------------------------------------------------------------------------------------------------


class TopicTail:
    """Reads one topic from the beginning and keeps every record; :meth:`until` waits for a condition."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self.records: list[dict[str, Any]] = []
        self.consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50
        )
        await self.consumer.start()
        await self.consumer.topics()
        tps = [TopicPartition(self.topic, p) for p in sorted(self.consumer.partitions_for_topic(self.topic) or ())]
        self.consumer.assign(tps)
        await self.consumer.seek_to_beginning(*tps)

    async def poll(self) -> None:
        assert self.consumer is not None
        got = await self.consumer.getmany(timeout_ms=100)
        for msgs in got.values():
            self.records += [orjson.loads(m.value) for m in msgs]

    async def until(self, cond: Callable[[list[dict[str, Any]]], bool], timeout: float = 45.0) -> list[dict[str, Any]]:
        deadline = asyncio.get_running_loop().time() + timeout
        while not cond(self.records):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{self.topic}: condition not met within {timeout}s; have {self.records}")
            await self.poll()
        return self.records

    async def stop(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()


@dataclass
class Env:
    bootstrap: str
    redis_url: str
    prefix: str
    zendesk: ZendeskStandIn = field(default_factory=lambda: ZendeskStandIn(existing=(101, 102)))
    slack: SlackStandIn = field(default_factory=SlackStandIn)
    hook: WebhookReceiver = field(default_factory=WebhookReceiver)
    published: dict[str, bytes] = field(default_factory=dict)
    """action id -> the exact bytes published"""
    ends: dict[TopicPartition, int] = field(default_factory=dict)
    audit: TopicTail | None = None
    dlq: TopicTail | None = None
    _n: int = 0

    async def __aenter__(self) -> Env:
        specs = [replace(s, name=self.prefix + s.name) for s in load_topics() if s.name in TOPICS]
        report = await create_topics(self.bootstrap, specs)
        assert report.ok, report.table()
        for server in (self.zendesk, self.slack, self.hook):
            await server.start()
        self.audit = TopicTail(self.bootstrap, self.prefix + TOPIC_DELIVERIES)
        self.dlq = TopicTail(self.bootstrap, self.prefix + TOPIC_DLQ)
        await self.audit.start()
        await self.dlq.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for tail in (self.audit, self.dlq):
            if tail is not None:
                await tail.stop()
        for server in (self.zendesk, self.slack, self.hook):
            await server.stop()

    def settings(self, **over: Any) -> DeliverySettings:
        base: dict[str, Any] = {
            "kafka_bootstrap": self.bootstrap,
            "redis_url": self.redis_url,
            "topic_prefix": self.prefix,
            "group_id": self.prefix + "grp",
            "key_prefix": self.prefix + "k",
            "delivery_timeout_seconds": 0.5,
            "delivery_lease_seconds": 1.0,
            "delivery_backoff_initial_seconds": 0.01,
            "delivery_backoff_max_seconds": 0.5,
            "delivery_max_attempts": 4,
            "delivery_poll_timeout_ms": 50,
            "zendesk_url": self.zendesk.url,
            "zendesk_email": ZENDESK_EMAIL,
            "zendesk_api_token": ZENDESK_TOKEN,
            "slack_bot_token": SLACK_TOKEN,
            "slack_channel": SLACK_CHANNEL,
            "slack_api_url": self.slack.url + "/api",
            "webhook_url": self.hook.url + "/hook",
            "webhook_secret": WEBHOOK_SECRET,
            **FAST_GROUP,
        }
        return DeliverySettings(**{**base, **over})

    def env_vars(self, **over: str) -> dict[str, str]:
        s = self.settings()
        names = [
            "kafka_bootstrap",
            "redis_url",
            "topic_prefix",
            "group_id",
            "key_prefix",
            "zendesk_url",
            "zendesk_email",
        ]
        names += ["slack_channel", "slack_api_url", "webhook_url", "delivery_timeout_seconds", "delivery_lease_seconds"]
        names += ["delivery_backoff_initial_seconds", "delivery_backoff_max_seconds", "delivery_poll_timeout_ms"]
        names += ["session_timeout_ms", "heartbeat_interval_ms"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("WISMO_")}
        env.update({f"WISMO_{n.upper()}": str(getattr(s, n)) for n in names})
        env.update(
            WISMO_ZENDESK_API_TOKEN=ZENDESK_TOKEN,
            WISMO_SLACK_BOT_TOKEN=SLACK_TOKEN,
            WISMO_WEBHOOK_SECRET=WEBHOOK_SECRET,
            WISMO_DELIVERY_WEB_PORT="0",  # no /metrics unless a test asks (the default port may be taken)
        )
        env.update(over)
        return env

    async def publish(self, *items: tuple[str, ActionRecord | bytes, str]) -> None:
        """``(topic, record or raw bytes, key)`` in order, with strictly increasing timestamps."""
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await producer.start()
        try:
            for topic, rec, key in items:
                value = rec if isinstance(rec, bytes) else rec.model_dump_json().encode()
                if not isinstance(rec, bytes):
                    self.published[rec.action_id] = value
                self._n += 1
                md = await producer.send_and_wait(
                    self.prefix + topic, value, key=key.encode(), timestamp_ms=T0_MS + 10 * self._n
                )
                tp = TopicPartition(md.topic, md.partition)
                self.ends[tp] = max(self.ends.get(tp, 0), md.offset + 1)
        finally:
            await producer.stop()

    async def finished(self, expected: set[tuple[str, str]], timeout: float = 45.0) -> list[dict[str, Any]]:
        """Wait until every (action id, target) has a terminal audit outcome."""
        assert self.audit is not None

        def done(recs: list[dict[str, Any]]) -> bool:
            return expected <= {(r["action_id"], r["target"]) for r in recs if r["outcome"] in TERMINAL}

        return list(await self.audit.until(done, timeout))


async def start_worker(env: Env, **kw: Any) -> tuple[DeliveryWorker, asyncio.Task[None]]:
    settings = kw.pop("settings", None) or env.settings()
    worker = DeliveryWorker(settings, rand=lambda: 0.5, **kw)
    await worker.start()
    return worker, asyncio.create_task(worker.run())


async def stop_worker(worker: DeliveryWorker, task: asyncio.Task[None]) -> None:
    worker.stop()
    await asyncio.wait_for(task, 30)


def attempts_by_key(audit: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    out: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in audit:
        out[(r["action_id"], r["target"])].append(r)
    return out


def _outcomes(recs: list[dict[str, Any]]) -> list[str]:
    return [r["outcome"] for r in recs]


def writes(env: Env) -> int:
    return (
        len(env.zendesk.of("put"))
        + len(env.zendesk.of("create"))
        + len(env.slack.of("post"))
        + len(env.hook.of("hook"))
    )


# ---- tests --------------------------------------------------------------------------------------------------


def test_no_loss_and_no_duplicate_under_rate_limits_errors_and_timeouts(kafka_bootstrap, redis_url, unique_name):
    async def main() -> None:
        async with Env(kafka_bootstrap, redis_url, unique_name("dlv") + ".") as env:
            r1 = action("act_r1", "reply", "O1", "101")
            r2 = action("act_r2", "internal_note", "O1", "101", text="Carrier trace opened.")
            r3 = action("act_r3", "reply", "O2", "102")
            r4 = action("act_r4", "reply", "O1", "101")
            r5 = action("act_r5", "internal_note", "O2", "102", mode="testing", draft=True, draft_kind="reply")
            e1, e2, a1 = escalation("act_e1", "O1"), escalation("act_e2", "O3"), draft("act_a1", "O2")
            env.zendesk.script("put", Fail(429, {"Retry-After": "0.3"}), Fail(500), Slow(1.5))
            env.slack.script("post", Fail(429, {"Retry-After": "0.3"}), SlackError("internal_error"))
            env.hook.script("hook", Fail(503), Slow(1.5))
            await env.publish(
                (TOPIC_REPLIES, r1, "O1"),
                (TOPIC_NOTES, r2, "O1"),
                (TOPIC_REPLIES, r3, "O2"),
                (TOPIC_REPLIES, r4, "O1"),
                (TOPIC_NOTES, r5, "O2"),
                (TOPIC_ESCALATIONS, e1, "O1"),
                (TOPIC_ESCALATIONS, e2, "O3"),
                (TOPIC_ACTIONS, a1, "O2"),
            )
            zendesk_ids = ["act_r1", "act_r2", "act_r3", "act_r4", "act_r5"]
            expected = {(a, "zendesk") for a in zendesk_ids} | {("act_e1", "slack"), ("act_e2", "slack")}
            expected |= {(a, "webhook") for a in env.published}
            worker, task = await start_worker(env)
            audit = await env.finished(expected)
            await worker.wait_committed(env.ends)
            await stop_worker(worker, task)

            # Zendesk: every record exactly once, in the right place, one order's replies in order.
            for aid in zendesk_ids:
                found = env.zendesk.comments_with(comment_marker(aid))
                assert len(found) == 1, (aid, found)
            placement = {aid: env.zendesk.comments_with(comment_marker(aid))[0] for aid in zendesk_ids}
            assert {a: (t, c["public"]) for a, (t, c) in placement.items()} == {
                "act_r1": (101, True),
                "act_r2": (101, False),
                "act_r3": (102, True),
                "act_r4": (101, True),
                "act_r5": (102, False),
            }
            assert placement["act_r5"][1]["body"].startswith("Draft reply by wismo, NOT sent to the customer")
            bodies_101 = [c["body"] for c in env.zendesk.tickets[101]["comments"]]
            assert [i for i, b in enumerate(bodies_101) if "act_r1" in b] < [
                i for i, b in enumerate(bodies_101) if "act_r4" in b
            ]

            # Slack: one message per escalation, with the four review buttons.
            posted = env.slack.messages[SLACK_CHANNEL]
            assert Counter(m["metadata"]["event_payload"]["action_id"] for m in posted) == {"act_e1": 1, "act_e2": 1}
            for m in posted:
                buttons = [b for block in m["blocks"] if block["type"] == "actions" for b in block["elements"]]
                assert [b["action_id"] for b in buttons] == [REVIEW_ACTION_PREFIX + d for d in REVIEW_DECISIONS]

            # Webhook: every record processed once, byte for byte as published, every request properly signed.
            assert env.hook.processed == env.published
            assert env.hook.bad_signatures == 0

            # Audit: one record per attempt, numbered 1..n, failures then one terminal outcome.
            by_key = attempts_by_key(audit)
            assert set(by_key) == expected
            for key, recs in by_key.items():
                assert [r["attempt"] for r in recs] == list(range(1, len(recs) + 1)), key
                assert all(r["outcome"] in ("error", "timeout") for r in recs[:-1]), recs
                assert recs[-1]["outcome"] in ("success", "reconciled"), recs
            outcomes = Counter((r["target"], r["outcome"]) for r in audit)
            assert outcomes[("zendesk", "error")] == 2 and outcomes[("zendesk", "timeout")] == 1
            # The slow answer was applied by the stand-in: the next attempt found it instead of posting again.
            (slow,) = [recs for k, recs in by_key.items() if k[1] == "zendesk" and "timeout" in _outcomes(recs)]
            assert _outcomes(slow)[_outcomes(slow).index("timeout") + 1 :] == ["reconciled"]
            zendesk_attempts = sum(1 for r in audit if r["target"] == "zendesk")
            assert len(env.zendesk.of("put")) == zendesk_attempts - outcomes[("zendesk", "reconciled")]
            assert outcomes[("slack", "error")] == 2 and len(env.slack.of("post")) == 4
            assert len(env.slack.of("history")) == 1  # only after internal_error, which may have posted
            assert len(env.hook.of("hook")) == len(env.published) + 2  # the 503 and the timeout were re-sent

            # Retry-After honoured: the retry after a 429 came no sooner than the server asked.
            for server, kind in ((env.zendesk, "put"), (env.slack, "post")):
                seen = server.of(kind)
                i = next(n for n, r in enumerate(seen) if r.answer == 429)
                retry = next(r for r in seen[i + 1 :] if r.path == seen[i].path and r.body == seen[i].body)
                assert retry.at - seen[i].at >= 0.29

            # Redelivery of everything (a new consumer group, same Redis): all duplicates, nothing sent again.
            before = writes(env)
            again, task = await start_worker(env, settings=env.settings(delivery_group_id=env.prefix + "again"))
            assert env.audit is not None
            await env.audit.until(lambda recs: sum(r["outcome"] == "duplicate" for r in recs) == len(expected))
            await again.wait_committed(env.ends)
            await stop_worker(again, task)
            assert writes(env) == before

    run_async(main())


def test_proactive_update_opens_a_ticket_and_the_next_one_lands_on_it(kafka_bootstrap, redis_url, unique_name, caplog):
    caplog.set_level(logging.ERROR)

    async def main() -> None:
        async with Env(kafka_bootstrap, redis_url, unique_name("dlv") + ".") as env:
            p1 = action("act_p1", "proactive_update", "O5", None, channel="proactive", customer_email="ann@shop.test")
            p2 = action("act_p2", "proactive_update", "O5", None, channel="proactive", customer_email="ann@shop.test")
            p3 = action("act_p3", "proactive_update", "O6", None, channel="proactive", customer_email=None)
            n1 = action("act_n1", "internal_note", "O7", None, text="Watching the carrier.")
            await env.publish(
                (TOPIC_REPLIES, p1, "O5"),
                (TOPIC_REPLIES, b"{not json", "O8"),
                (TOPIC_REPLIES, p2, "O5"),
                (TOPIC_REPLIES, p3, "O6"),
                (TOPIC_NOTES, n1, "O7"),
            )
            worker, task = await start_worker(env, settings=env.settings(webhook_url=None, webhook_secret=None))
            audit = await env.finished({(a, "zendesk") for a in ("act_p1", "act_p2", "act_p3", "act_n1")})
            assert env.dlq is not None
            dlq = await env.dlq.until(lambda recs: len(recs) >= 2)
            await worker.wait_committed(env.ends)
            await stop_worker(worker, task)

            created = env.zendesk.of("create")
            assert len(created) == 1 and created[0].headers["Idempotency-Key"] == "act_p1"
            (opened,) = [t for t in env.zendesk.tickets.values() if t["external_id"] == "act_p1"]
            assert opened["requester"] == "ann@shop.test"
            assert opened["subject"] == "An update on order O5: it is on its way (act_p1)"
            assert [(("act_p1" in c["body"]), ("act_p2" in c["body"]), c["public"]) for c in opened["comments"]] == [
                (True, False, True),
                (False, True, True),
            ]
            redis = Redis.from_url(env.redis_url)
            try:
                assert await redis.get(Keys(env.prefix + "k").proactive_ticket("O5")) == str(opened["id"]).encode()
            finally:
                await redis.aclose()

            outcome = {r["action_id"]: (r["attempt"], r["outcome"]) for r in audit}
            assert outcome == {
                "act_p1": (1, "success"),
                "act_p2": (1, "success"),
                "act_p3": (0, "dead_lettered"),
                "act_n1": (0, "no_ticket"),
            }
            (letter,) = [d for d in dlq if d["order_id"] == "O6"]
            assert NO_TICKET_NO_EMAIL in letter["reason"] and "act_p3" in letter["reason"]
            assert letter["original"].encode() == env.published["act_p3"]
            (bad,) = [d for d in dlq if d["error_type"] == "malformed_json"]
            assert bad["original"] == "{not json"
            assert worker.stats.dead_lettered["zendesk"] == 1 and worker.stats.invalid_records == 1
            assert len(env.zendesk.of("put")) == 1  # p2 only: nothing else reached Zendesk

    run_async(main())
    alerts = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("target=zendesk" in m and "act_p3" in m for m in alerts), alerts


CRASH_CASES = {
    "zendesk_comment": (TOPIC_REPLIES, lambda: action("act_c1", "reply", "O1", "101"), "zendesk"),
    "zendesk_new_ticket": (
        TOPIC_REPLIES,
        lambda: action("act_c1", "proactive_update", "O1", None, customer_email="ann@shop.test"),
        "zendesk",
    ),
    "slack_message": (TOPIC_ESCALATIONS, lambda: escalation("act_c1", "O1"), "slack"),
    "webhook": (TOPIC_ACTIONS, lambda: draft("act_c1", "O1"), "webhook"),
}


@pytest.mark.parametrize("case", list(CRASH_CASES))
def test_crash_between_call_and_record_is_reconciled_not_repeated(kafka_bootstrap, redis_url, unique_name, case):
    topic, make, target = CRASH_CASES[case]

    def crash(point: str) -> None:
        if point == "after_call":
            raise SimulatedCrash

    async def main() -> None:
        async with Env(kafka_bootstrap, redis_url, unique_name("dlv") + ".") as env:
            only = {k: None for k in ("zendesk_url", "slack_bot_token", "slack_channel", "webhook_url")}
            keep = {
                "zendesk": ("zendesk_url",),
                "slack": ("slack_bot_token", "slack_channel"),
                "webhook": ("webhook_url",),
            }[target]
            settings = env.settings(**{k: v for k, v in only.items() if k not in keep})
            await env.publish((topic, make(), "O1"))

            worker, task = await start_worker(env, settings=settings, fault=crash)
            with pytest.raises(SimulatedCrash):
                await asyncio.wait_for(task, 30)
            assert writes(env) == 1  # the call happened ...
            redis = Redis.from_url(env.redis_url)
            try:
                record = await redis.hgetall(Keys(env.prefix + "k").delivery(target, "act_c1"))
            finally:
                await redis.aclose()
            assert record[b"state"] == b"in_flight" and record[b"attempt"] == b"1"  # ... and was not recorded

            worker, task = await start_worker(env, settings=settings)
            audit = await env.finished({("act_c1", target)})
            await worker.wait_committed(env.ends)
            await stop_worker(worker, task)
            final = audit[-1]
            if target == "webhook":  # a receiver cannot be asked: sent again, and it de-duplicates
                assert (final["attempt"], final["outcome"]) == (2, "success")
                assert len(env.hook.of("hook")) == 2 and list(env.hook.processed) == ["act_c1"]
            else:
                assert (final["attempt"], final["outcome"]) == (2, "reconciled")
                assert writes(env) == 1  # found at the target, never sent twice
            if case == "zendesk_new_ticket":  # the ticket found by reconciliation is remembered for the order
                follow = action("act_c2", "proactive_update", "O1", None, customer_email="ann@shop.test")
                await env.publish((TOPIC_REPLIES, follow, "O1"))
                worker, task = await start_worker(env, settings=settings)
                await env.finished({("act_c2", "zendesk")})
                await stop_worker(worker, task)
                (second,) = env.zendesk.tickets[int(final["remote_id"])]["comments"][1:]
                assert "act_c2" in second["body"] and len(env.zendesk.of("create")) == 1

    run_async(main())


def test_last_attempt_and_refusals_are_dead_lettered_and_alerted(kafka_bootstrap, redis_url, unique_name, caplog):
    caplog.set_level(logging.ERROR)

    async def main() -> None:
        async with Env(kafka_bootstrap, redis_url, unique_name("dlv") + ".") as env:
            x1 = action("act_x1", "reply", "O9", "101")  # Zendesk keeps failing
            x2 = action("act_x2", "reply", "O9", "999")  # no such ticket: 404, not retried
            x3 = escalation("act_x3", "O9")  # Slack channel_not_found: not retried
            env.zendesk.script("put", Fail(500), Fail(500), Fail(500))
            await env.publish((TOPIC_REPLIES, x1, "O9"), (TOPIC_REPLIES, x2, "O9"), (TOPIC_ESCALATIONS, x3, "O9"))
            settings = env.settings(
                webhook_url=None, webhook_secret=None, delivery_max_attempts=3, slack_channel="C0NOPE"
            )
            worker, task = await start_worker(env, settings=settings)
            audit = await env.finished({("act_x1", "zendesk"), ("act_x2", "zendesk"), ("act_x3", "slack")})
            assert env.dlq is not None
            dlq = await env.dlq.until(lambda recs: len(recs) >= 3)
            await worker.wait_committed(env.ends)
            await stop_worker(worker, task)

            by_key = attempts_by_key(audit)
            assert [r["outcome"] for r in by_key[("act_x1", "zendesk")]] == ["error", "error", "dead_lettered"]
            assert [r["http_status"] for r in by_key[("act_x1", "zendesk")]] == [500, 500, 500]
            assert [(r["attempt"], r["outcome"], r["http_status"]) for r in by_key[("act_x2", "zendesk")]] == [
                (1, "dead_lettered", 404)
            ]
            assert [(r["attempt"], r["outcome"]) for r in by_key[("act_x3", "slack")]] == [(1, "dead_lettered")]
            puts = Counter(r.path for r in env.zendesk.of("put"))
            assert puts == {"/api/v2/tickets/101.json": 3, "/api/v2/tickets/999.json": 1}
            assert len(env.zendesk.of("comments")) == 2  # a 5xx may have been applied: checked before each retry
            letters = {orjson.loads(d["original"])["action_id"]: d for d in dlq}
            assert set(letters) == {"act_x1", "act_x2", "act_x3"}
            assert "gave up after 3 attempts" in letters["act_x1"]["reason"]
            assert "HTTP 404" in letters["act_x2"]["reason"]
            assert "channel_not_found" in letters["act_x3"]["reason"]
            assert all(letters[a]["original"].encode() == env.published[a] for a in letters)
            assert worker.stats.dead_lettered == {"zendesk": 2, "slack": 1}
            assert env.zendesk.tickets[101]["comments"] == []

    run_async(main())
    alerts = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    for target, aid in (("zendesk", "act_x1"), ("zendesk", "act_x2"), ("slack", "act_x3")):
        assert any(f"target={target}" in m and aid in m for m in alerts), (target, aid, alerts)


def test_cli_process_killed_after_the_call_then_restarted_and_stopped(kafka_bootstrap, redis_url, unique_name):
    """``wismo deliver`` for real: SIGKILL between call and record, a restart reconciles, SIGTERM stops it."""

    async def main() -> None:
        async with Env(kafka_bootstrap, redis_url, unique_name("dlv") + ".") as env:
            await env.publish((TOPIC_REPLIES, action("act_k1", "reply", "O1", "101"), "O1"))
            cmd = [sys.executable, "-m", "wismo.cli", "deliver", "--loglevel", "warn"]
            zendesk_only = {"WISMO_WEBHOOK_URL": "", "WISMO_SLACK_BOT_TOKEN": "", "WISMO_SLACK_CHANNEL": ""}
            first = await asyncio.create_subprocess_exec(
                *cmd,
                env=env.env_vars(WISMO_DELIVERY_FAULT="after_call:1", **zendesk_only),
                stderr=asyncio.subprocess.PIPE,
            )
            _, err = await asyncio.wait_for(first.communicate(), 60)
            assert first.returncode == -signal.SIGKILL, err.decode()
            assert len(env.zendesk.comments_with(comment_marker("act_k1"))) == 1

            second = await asyncio.create_subprocess_exec(
                *cmd, env=env.env_vars(**zendesk_only), stderr=asyncio.subprocess.PIPE
            )
            try:
                audit = await env.finished({("act_k1", "zendesk")}, timeout=60)
            finally:
                second.send_signal(signal.SIGTERM)
                _, err = await asyncio.wait_for(second.communicate(), 30)
            assert second.returncode == 0, err.decode()
            assert "reconciled 1" in err.decode()
            assert [(r["target"], r["attempt"], r["outcome"]) for r in audit] == [("zendesk", 2, "reconciled")]
            assert len(env.zendesk.of("put")) == 1

    run_async(main())


# ---- wismo deliver's /metrics -------------------------------------------------------------------------------

DELIVER = [sys.executable, "-m", "wismo.cli", "deliver", "--loglevel", "warn"]
ZENDESK_AND_WEBHOOK = {"WISMO_SLACK_BOT_TOKEN": "", "WISMO_SLACK_CHANNEL": ""}
Samples = dict[str, dict[tuple[str, ...], float]]
LABELS = {PREFIX + name: labels for name, (_, labels) in DELIVERY_COUNTERS.items()}


async def scrape(http: aiohttp.ClientSession, base: str) -> Samples:
    """Every sample of ``/metrics`` by name and label values (in the catalogue's label order); checks that only
    catalogued families appear."""
    async with http.get(f"{base}/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    families = list(text_string_to_metric_families(text))
    assert {f"{f.name}_total" for f in families} <= EXPORTED, [f.name for f in families]
    out: Samples = {}
    for f in families:
        for s in f.samples:
            out.setdefault(s.name, {})[tuple(s.labels[n] for n in LABELS[s.name])] = s.value
    return out


async def scrape_when_up(
    http: aiohttp.ClientSession, base: str, proc: asyncio.subprocess.Process, timeout: float = 30.0
) -> Samples:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        assert proc.returncode is None, "wismo deliver exited before serving /metrics"
        try:
            return await scrape(http, base)
        except aiohttp.ClientConnectionError:
            assert asyncio.get_running_loop().time() < deadline, f"{base}/metrics not up within {timeout}s"
            await asyncio.sleep(0.05)


def test_cli_metrics_equal_the_audit_records(kafka_bootstrap, redis_url, unique_name):
    """A 500 then success (webhook) and a delivery that fails its last attempt (Zendesk): /metrics of the running
    ``wismo deliver`` counts exactly the audit records on wismo.deliveries, and the dead letter by target."""

    async def main() -> None:
        async with Env(kafka_bootstrap, redis_url, unique_name("dlv") + ".") as env, aiohttp.ClientSession() as http:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            env.zendesk.script("put", Fail(500), Fail(500), Fail(500))  # m1: every attempt fails
            env.hook.script("hook", Fail(500))  # m1: first call fails, the retry succeeds
            proc = await asyncio.create_subprocess_exec(
                *DELIVER,
                env=env.env_vars(
                    WISMO_DELIVERY_MAX_ATTEMPTS="3",
                    WISMO_DELIVERY_WEB_HOST="127.0.0.1",
                    WISMO_DELIVERY_WEB_PORT=str(port),
                    **ZENDESK_AND_WEBHOOK,
                ),
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                before = await scrape_when_up(http, base, proc)
                targets = ("webhook", "zendesk")
                assert before["wismo_delivery_attempts_total"] == {
                    (t, o): 0 for t in targets for o in AUDIT_OUTCOMES
                }, "every configured target and outcome is shown from the start, at zero"
                assert before["wismo_delivery_dead_letters_total"] == {(t,): 0 for t in targets}

                m1 = action("act_m1", "reply", "O1", "101")
                m2 = action("act_m2", "reply", "O1", "102")
                await env.publish((TOPIC_REPLIES, m1, "O1"), (TOPIC_REPLIES, m2, "O1"))
                audit = await env.finished({(a, t) for a in ("act_m1", "act_m2") for t in targets}, timeout=60)
                after = await scrape(http, base)
                async with http.get(f"{base}/health") as resp:
                    assert resp.status == 200
                    assert (await resp.json())["targets"] == list(targets)
            finally:
                proc.send_signal(signal.SIGTERM)
                _, err = await asyncio.wait_for(proc.communicate(), 30)
            assert proc.returncode == 0, err.decode()

            by_key = attempts_by_key(audit)
            assert _outcomes(by_key[("act_m1", "zendesk")]) == ["error", "error", "dead_lettered"]
            assert _outcomes(by_key[("act_m1", "webhook")]) == ["error", "success"]
            assert _outcomes(by_key[("act_m2", "zendesk")]) == ["success"]
            assert _outcomes(by_key[("act_m2", "webhook")]) == ["success"]

            audited = Counter((r["target"], r["outcome"]) for r in audit)
            exported = after["wismo_delivery_attempts_total"]
            assert {k: v for k, v in exported.items() if v} == dict(audited)
            assert set(exported) == {(t, o) for t in targets for o in AUDIT_OUTCOMES}
            dead = Counter(r["target"] for r in audit if r["outcome"] == "dead_lettered")
            assert after["wismo_delivery_dead_letters_total"] == {(t,): dead[t] for t in targets}
            assert dead == {"zendesk": 1}

    run_async(main())


def test_cli_refuses_to_start_when_the_metrics_port_is_taken(kafka_bootstrap, redis_url, unique_name):
    async def main() -> None:
        async with Env(kafka_bootstrap, redis_url, unique_name("dlv") + ".") as env:
            taken = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
            port = taken.sockets[0].getsockname()[1]
            try:
                proc = await asyncio.create_subprocess_exec(
                    *DELIVER,
                    env=env.env_vars(WISMO_DELIVERY_WEB_HOST="127.0.0.1", WISMO_DELIVERY_WEB_PORT=str(port)),
                    stderr=asyncio.subprocess.PIPE,
                )
                _, err = await asyncio.wait_for(proc.communicate(), 30)
            finally:
                taken.close()
                await taken.wait_closed()
            assert proc.returncode == 2, err.decode()
            assert f"cannot serve /metrics on 127.0.0.1:{port}" in err.decode()
            assert "WISMO_DELIVERY_WEB_PORT" in err.decode()
            assert env.zendesk.requests == [] and env.hook.requests == []

    run_async(main())
