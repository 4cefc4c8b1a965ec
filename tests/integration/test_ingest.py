"""The webhook ingest (``wismo.streams.ingest``) end to end: the real aiohttp app on a loopback port, the session's
Kafka broker and Redis. Every test gets its own topic prefix and Redis key prefix and reads back every topic of that
prefix, so "nothing published" means nothing on any topic.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # type: ignore[import-untyped,unused-ignore]
from conftest import run_async
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from redis.asyncio import Redis
from shared_payloads import PAYLOADS
from wismo.processors.signatures import (
    aftership_signature,
    easypost_signature,
    shopify_signature,
    slack_signature,
    zendesk_signature,
)
from wismo.streams import progress
from wismo.streams.ingest import build_app
from wismo.streams.ingest_metrics import OUTCOMES
from wismo.streams.metrics import EXPORTED
from wismo.streams.topics import create_topics, load_topics

from wismo.ingest_settings import IngestSettings
from wismo.records import TOPIC_DLQ
from wismo.state_keys import INGEST_CLAIM_SECONDS, INGEST_DEDUPE_TTL, Keys, tracking_ref

PAYLOADS = PAYLOADS
SECRETS = {
    "shopify": "shpss_test-secret",
    "easypost": "sécret",
    "aftership": "aftership-test-secret",
    "zendesk": "zendesk-test-secret",
    "slack": "slack-test-signing-secret",
}
READ_DEADLINE_S = 30.0


# ---- the deployment under test ------------------------------------------------------------------------------


@dataclass
class Ingest:
    """One running ingest app with its own topics and Redis keys."""

    url: str
    prefix: str
    bootstrap: str
    redis: Redis
    keys: Keys
    http: aiohttp.ClientSession

    async def post(
        self, provider: str, body: bytes, headers: dict[str, str], *, content_type: str = "application/json"
    ) -> tuple[int, bytes]:
        async with self.http.post(
            f"{self.url}/webhooks/{provider}", data=body, headers={"Content-Type": content_type, **headers}
        ) as resp:
            return resp.status, await resp.read()

    async def signed(self, provider: str, body: bytes, **extra: str) -> tuple[int, bytes]:
        if provider == "slack":
            return await self.post(
                provider,
                body,
                {**sign(provider, body), **extra},
                content_type="application/x-www-form-urlencoded",
            )
        return await self.post(provider, body, {**sign(provider, body), **extra})

    async def link(self, tracking_number: str, order_id: str, shipment_id: str) -> None:
        """What the worker writes when a label is created."""
        value = tracking_ref(order_id, shipment_id)
        await self.redis.set(self.keys.by_tracking(tracking_number), value)

    async def records(self) -> dict[str, list[tuple[bytes | None, dict[str, Any]]]]:
        """Every record (key, decoded value) on every topic of this prefix, by canonical topic name."""
        return await read_topics(self.bootstrap, self.prefix)

    async def redis_keys(self) -> list[bytes]:
        found = await self.redis.keys(f"{self.keys.prefix}:*")
        return sorted(k.encode() if isinstance(k, str) else k for k in found)


def settings_for(bootstrap: str, redis_url: str, prefix: str, /, **overrides: Any) -> IngestSettings:
    secrets = {
        "shopify_webhook_secret": SecretStr(SECRETS["shopify"]),
        "easypost_webhook_secret": SecretStr(SECRETS["easypost"]),
        "aftership_webhook_secret": SecretStr(SECRETS["aftership"]),
        "zendesk_webhook_secret": SecretStr(SECRETS["zendesk"]),
        "slack_signing_secret": SecretStr(SECRETS["slack"]),
    }
    fields: dict[str, Any] = {
        "kafka_bootstrap": bootstrap,
        "redis_url": redis_url,
        "topic_prefix": prefix,
        "key_prefix": f"{prefix}wismo",
        **secrets,
        **overrides,
    }
    return IngestSettings(**fields)


async def create_prefixed_topics(bootstrap: str, prefix: str) -> None:
    specs = [replace(s, name=prefix + s.name) for s in load_topics(None)]
    report = await create_topics(bootstrap, specs)
    assert report.ok, report.table()


@asynccontextmanager
async def running_ingest(
    bootstrap: str,
    redis_url: str,
    *,
    producer: Any = None,
    prefix: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> AsyncIterator[Ingest]:
    """The ingest app on a free loopback port; ``overrides`` are :class:`IngestSettings` fields."""
    prefix = prefix or f"ing{uuid.uuid4().hex[:8]}."
    if producer is None:
        await create_prefixed_topics(bootstrap, prefix)
    settings = settings_for(bootstrap, redis_url, prefix, **(overrides or {}))
    server = TestServer(build_app(settings, producer=producer), host="127.0.0.1", port=0)
    await server.start_server()
    redis = Redis.from_url(redis_url)
    http = aiohttp.ClientSession()
    try:
        yield Ingest(str(server.make_url("")).rstrip("/"), prefix, bootstrap, redis, Keys(settings.key_prefix), http)
    finally:
        await http.close()
        await redis.aclose()
        await server.close()


def run_ingest(kafka_bootstrap: str, redis_url: str, scenario: Callable[[Ingest], Any], /, **overrides: Any) -> None:
    """Run ``scenario`` against a fresh ingest; ``overrides`` are :class:`IngestSettings` fields."""

    async def main() -> None:
        async with running_ingest(kafka_bootstrap, redis_url, overrides=overrides) as ingest:
            await scenario(ingest)

    run_async(main())


async def read_topics(bootstrap: str, prefix: str) -> dict[str, list[tuple[bytes | None, dict[str, Any]]]]:
    """Every record of every ``<prefix>*`` topic up to its true end, within a deadline."""
    names = [prefix + s.name for s in load_topics(None)]
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
    await reader.start()
    out: dict[str, list[tuple[bytes | None, dict[str, Any]]]] = {n[len(prefix) :]: [] for n in names}
    try:
        await reader.topics()
        tps = [TopicPartition(t, p) for t in names for p in sorted(reader.partitions_for_topic(t) or ())]
        ends = await progress.true_end_offsets(reader, tps, timeout=READ_DEADLINE_S)
        todo = [tp for tp in tps if ends[tp] > 0]
        if not todo:
            return out
        reader.assign(todo)
        await reader.seek_to_beginning(*todo)
        deadline = time.monotonic() + READ_DEADLINE_S
        remaining = set(todo)
        while remaining:
            got = await reader.getmany(*remaining, timeout_ms=200)
            for tp, msgs in got.items():
                for m in msgs:
                    if m.offset < ends[tp]:
                        out[tp.topic[len(prefix) :]].append((m.key, orjson.loads(m.value)))
            for tp in list(remaining):
                if await reader.position(tp) >= ends[tp]:
                    remaining.discard(tp)
            assert not remaining or time.monotonic() < deadline, f"could not read {sorted(remaining)}"
    finally:
        await reader.stop()
    return out


def published(records: dict[str, list[tuple[bytes | None, dict[str, Any]]]]) -> int:
    return sum(len(v) for v in records.values())


# ---- signing, as the providers do it ------------------------------------------------------------------------


def sign(provider: str, body: bytes, *, secret: str | None = None, ts: str | None = None) -> dict[str, str]:
    secret = SECRETS[provider] if secret is None else secret
    if provider == "shopify":
        return {"X-Shopify-Hmac-Sha256": shopify_signature(secret, body)}
    if provider == "easypost":
        return {"X-Hmac-Signature": easypost_signature(secret, body)}
    if provider == "aftership":
        return {"aftership-hmac-sha256": aftership_signature(secret, body)}
    if provider == "zendesk":
        ts = ts or "2026-11-02T14:05:00Z"
        return {
            "X-Zendesk-Webhook-Signature": zendesk_signature(secret, ts, body),
            "X-Zendesk-Webhook-Signature-Timestamp": ts,
        }
    ts = ts or str(int(time.time()))
    return {"X-Slack-Signature": slack_signature(secret, ts, body), "X-Slack-Request-Timestamp": ts}


def slack_form(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": orjson.dumps(payload).decode()}).encode()


# ---- refusals: nothing published, nothing written -----------------------------------------------------------

ANY_JSON = b'{"id": "evt_1", "description": "tracker.updated", "result": {"tracking_code": "EZ2000000002"}}'


def test_health_answers_200(kafka_bootstrap: str, redis_url: str) -> None:
    async def scenario(ingest: Ingest) -> None:
        async with ingest.http.get(f"{ingest.url}/health") as resp:
            assert resp.status == 200
            assert set((await resp.json())["providers"]) == set(SECRETS)

    run_ingest(kafka_bootstrap, redis_url, scenario)


@pytest.mark.parametrize("provider", sorted(SECRETS))
def test_bad_signature_is_401_and_nothing_published(kafka_bootstrap: str, redis_url: str, provider: str) -> None:
    body = slack_form({"type": "block_actions"}) if provider == "slack" else ANY_JSON

    async def scenario(ingest: Ingest) -> None:
        ctype = "application/x-www-form-urlencoded" if provider == "slack" else "application/json"
        wrong = sign(provider, body, secret="not the secret")
        assert (await ingest.post(provider, body, wrong, content_type=ctype))[0] == 401
        tampered = body.replace(b"EZ2000000002", b"EZ4000000004").replace(b"block", b"BLOCK")
        assert tampered != body
        assert (await ingest.post(provider, tampered, sign(provider, body), content_type=ctype))[0] == 401
        assert (await ingest.post(provider, body, {}, content_type=ctype))[0] == 401
        assert published(await ingest.records()) == 0
        assert await ingest.redis_keys() == []

    run_ingest(kafka_bootstrap, redis_url, scenario)


def test_stale_slack_timestamp_is_401(kafka_bootstrap: str, redis_url: str) -> None:
    body = slack_form({"type": "block_actions"})

    async def scenario(ingest: Ingest) -> None:
        stale = str(int(time.time()) - 6 * 60)
        status, text = await ingest.post(
            "slack", body, sign("slack", body, ts=stale), content_type="application/x-www-form-urlencoded"
        )
        assert status == 401, text
        assert b"clock" in text
        assert published(await ingest.records()) == 0

    run_ingest(kafka_bootstrap, redis_url, scenario)


def test_oversize_body_is_413_before_parsing(kafka_bootstrap: str, redis_url: str) -> None:
    async def scenario(ingest: Ingest) -> None:
        big = b'{"pad": "' + b"x" * 2048 + b'"}'
        assert (await ingest.signed("easypost", big))[0] == 413
        # Chunked upload (no Content-Length): cut off while reading.

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(8):
                yield b"x" * 512

        async with ingest.http.post(
            f"{ingest.url}/webhooks/shopify", data=chunks(), headers=sign("shopify", b"x" * 4096)
        ) as resp:
            assert resp.status == 413
        assert published(await ingest.records()) == 0
        assert await ingest.redis_keys() == []
        # Exactly at the limit is accepted (a tracker with nothing to say: answered, nothing published).
        event = {**EASYPOST_EVENT, "result": {**EASYPOST_EVENT["result"], "status": "unknown"}, "pad": ""}
        event["pad"] = "x" * (1024 - len(orjson.dumps(event)))
        at_limit = orjson.dumps(event)
        assert len(at_limit) == 1024
        assert (await ingest.signed("easypost", at_limit))[0] == 202

    run_ingest(kafka_bootstrap, redis_url, scenario, ingest_max_body_bytes=1024)


@pytest.mark.parametrize(
    ("provider", "body"),
    [
        ("shopify", b'{"id": 1,'),
        ("easypost", b"not json"),
        ("aftership", b'["a JSON array, not an object"]'),
        ("zendesk", b"\xff\xfe"),
        ("slack", b"payload=%7Bnot-json"),
        ("slack", b"no_payload_field=1"),
    ],
)
def test_bad_json_is_400_and_nothing_published(
    kafka_bootstrap: str, redis_url: str, provider: str, body: bytes
) -> None:
    async def scenario(ingest: Ingest) -> None:
        status, text = await ingest.signed(provider, body)
        assert status == 400, text
        assert published(await ingest.records()) == 0
        assert await ingest.redis_keys() == []

    run_ingest(kafka_bootstrap, redis_url, scenario)


def test_provider_without_secret_is_disabled(kafka_bootstrap: str, redis_url: str) -> None:
    async def scenario(ingest: Ingest) -> None:
        body = b'{"event_id": "e1", "msg": {}}'
        assert (await ingest.signed("aftership", body))[0] == 404
        assert (await ingest.post("aftership", body, {}))[0] == 404
        async with ingest.http.post(f"{ingest.url}/webhooks/stripe", data=body) as resp:
            assert resp.status == 404
        async with ingest.http.get(f"{ingest.url}/health") as resp:
            assert "aftership" not in (await resp.json())["providers"]
        assert published(await ingest.records()) == 0

    run_ingest(kafka_bootstrap, redis_url, scenario, aftership_webhook_secret=SecretStr(""))


# ---- de-duplication and failure handling (whatever the adapter makes of the delivery) ------------------------

EASYPOST_EVENT: dict[str, Any] = {
    "id": "evt_dedupe_1",
    "object": "Event",
    "description": "tracker.updated",
    "mode": "test",
    "created_at": "2026-11-02T14:05:00Z",
    "result": {
        "id": "trk_1",
        "object": "Tracker",
        "tracking_code": "EZ2000000002",
        "status": "in_transit",
        "carrier": "USPS",
        "updated_at": "2026-11-02T14:05:00Z",
    },
}


def test_same_delivery_twice_is_published_once(kafka_bootstrap: str, redis_url: str) -> None:
    body = orjson.dumps(EASYPOST_EVENT)

    async def scenario(ingest: Ingest) -> None:
        await ingest.link("EZ2000000002", "A1001", "S1")
        first, _ = await ingest.signed("easypost", body)
        assert first == 202
        assert len(only_topic(await ingest.records(), "wismo.in.carrier")) == 1
        second, text = await ingest.signed("easypost", body)
        assert second == 202
        assert orjson.loads(text)["status"] == "duplicate"
        assert len(only_topic(await ingest.records(), "wismo.in.carrier")) == 1
        key = ingest.keys.ingest_delivery("easypost", "evt_dedupe_1")
        assert await ingest.redis.get(key) == b"done"
        assert INGEST_DEDUPE_TTL - 60 < await ingest.redis.ttl(key) <= INGEST_DEDUPE_TTL

    run_ingest(kafka_bootstrap, redis_url, scenario)


def test_delivery_claimed_by_another_request_is_503_and_not_published(kafka_bootstrap: str, redis_url: str) -> None:
    body = orjson.dumps(EASYPOST_EVENT)

    async def scenario(ingest: Ingest) -> None:
        await ingest.link("EZ2000000002", "A1001", "S1")
        key = ingest.keys.ingest_delivery("easypost", "evt_dedupe_1")
        await ingest.redis.set(key, b"claimed", px=int(INGEST_CLAIM_SECONDS * 1000))
        async with ingest.http.post(
            f"{ingest.url}/webhooks/easypost", data=body, headers=sign("easypost", body)
        ) as resp:
            assert resp.status == 503
            assert resp.headers["Retry-After"] == str(int(INGEST_CLAIM_SECONDS))
        assert published(await ingest.records()) == 0
        assert await ingest.redis.get(key) == b"claimed", "another request's claim is left alone"
        await ingest.redis.delete(key)  # that request failed and released it: the retry goes through
        assert (await ingest.signed("easypost", body))[0] == 202
        assert len(only_topic(await ingest.records(), "wismo.in.carrier")) == 1

    run_ingest(kafka_bootstrap, redis_url, scenario)


def test_publish_failure_is_503_and_releases_the_claim(kafka_bootstrap: str, redis_url: str) -> None:
    body = orjson.dumps(EASYPOST_EVENT)
    prefix = f"ing{uuid.uuid4().hex[:8]}."

    async def main() -> None:
        await create_prefixed_topics(kafka_bootstrap, prefix)
        broken = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await broken.start()
        await broken.stop()  # a producer that can no longer reach the broker
        async with running_ingest(kafka_bootstrap, redis_url, producer=broken, prefix=prefix) as ingest:
            await ingest.link("EZ2000000002", "A1001", "S1")
            status, text = await ingest.signed("easypost", body)
            assert status == 503, text
            assert await ingest.redis.get(ingest.keys.ingest_delivery("easypost", "evt_dedupe_1")) is None
            assert published(await ingest.records()) == 0
        async with running_ingest(kafka_bootstrap, redis_url, prefix=prefix) as ingest:
            assert (await ingest.signed("easypost", body))[0] == 202, "the provider's retry is accepted"
            assert len(only_topic(await ingest.records(), "wismo.in.carrier")) == 1

    run_async(main())


def test_redis_unreachable_is_503_and_nothing_published(kafka_bootstrap: str, redis_url: str) -> None:
    body = orjson.dumps(EASYPOST_EVENT)

    async def scenario(ingest: Ingest) -> None:
        status, text = await ingest.signed("easypost", body)
        assert status == 503, text
        assert published(await ingest.records()) == 0

    from wismo.local_servers import free_port

    run_ingest(
        kafka_bootstrap,
        redis_url,
        scenario,
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
    )


# ---- wismo ingest -------------------------------------------------------------------------------------------


def test_wismo_ingest_serves_and_stops_on_sigterm(kafka_bootstrap: str, redis_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WISMO_")}
    env.update(
        WISMO_KAFKA_BOOTSTRAP=kafka_bootstrap,
        WISMO_REDIS_URL=redis_url,
        WISMO_SHOPIFY_WEBHOOK_SECRET=SECRETS["shopify"],
        PYTHONUNBUFFERED="1",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "wismo.cli", "ingest", "--host", "127.0.0.1", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, line + proc.stderr.read() if proc.stderr else line
        base = line.split("listening on ")[1].split("/webhooks")[0]

        async def check() -> None:
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{base}/health") as resp:
                    assert resp.status == 200
                    assert (await resp.json())["providers"] == ["shopify"]
                async with http.post(f"{base}/webhooks/easypost", data=b"{}") as resp:
                    assert resp.status == 404, "no EasyPost secret: disabled"

        run_async(check())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# ---- signed deliveries: the canonical event on the right input topic, keyed like `wismo publish` keys it ---

# Shopify samples: Shopify/shopify_python_api (MIT, Copyright (c) 2011 "JadedPixel inc.") @ 307fa92c92e0, files
# test/fixtures/order.json and test/fixtures/fulfillment.json, saved in ../shared/payloads/shopify/ (SOURCES.md).
SHOPIFY_ORDER = PAYLOADS / "shopify" / "order_1001_authorized_with_failed_fulfillment.json"
SHOPIFY_FULFILLMENT = PAYLOADS / "shopify" / "fulfillment_pending_with_tracking.json"
# EasyPost/examples (MIT, "Copyright (c) 2022 EasyPost (Simpler Postage, Inc)") @ 112a6d19063a,
# official/fixtures/event-body.json, saved in ../shared/payloads/easypost/; its published signature for the
# secret "sécret" (official/fixtures/client-library-fixtures.json) is sent as-is.
EASYPOST_EVENT_FILE = PAYLOADS / "easypost" / "event_tracker_updated_in_transit_webhook_body.json"
EASYPOST_VECTOR_SIGNATURE = "hmac-sha256-hex=38f3f53c103713df81616a0a186d77141957323ec21d5fe9363db93840f527db"
# AfterShip/aftership-sdk-java (MIT-style, "Copyright (c) 2016 AfterShip") @ 3e4b84083247,
# aftership-sdk/src/test/resources/endpoint/tracking/MarkAsCompletedResult.json, saved in ../shared/payloads/aftership/.
AFTERSHIP_LOST_TRACKING = PAYLOADS / "aftership" / "tracking_exception_013_shipment_lost.json"


def only_topic(records: dict[str, list[tuple[bytes | None, dict[str, Any]]]], topic: str) -> list[Any]:
    """The records of ``topic``, asserting that no other topic got any."""
    others = {t: len(v) for t, v in records.items() if v and t != topic}
    assert not others, f"unexpected records on {others}"
    return records[topic]


def test_shopify_order_created_goes_to_oms_keyed_by_order_id(kafka_bootstrap: str, redis_url: str) -> None:
    body = SHOPIFY_ORDER.read_bytes()

    async def scenario(ingest: Ingest) -> None:
        status, text = await ingest.signed(
            "shopify", body, **{"X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "b54557e4-1"}
        )
        assert status == 202, text
        [(key, event)] = only_topic(await ingest.records(), "wismo.in.oms")
        assert key == b"450789469"
        assert (event["type"], event["order_id"], event["payload"]["order_number"]) == (
            "order.placed",
            "450789469",
            "#1001",
        )

    run_ingest(kafka_bootstrap, redis_url, scenario)


def test_shopify_fulfillment_goes_to_wms(kafka_bootstrap: str, redis_url: str) -> None:
    body = SHOPIFY_FULFILLMENT.read_bytes()

    async def scenario(ingest: Ingest) -> None:
        status, text = await ingest.signed(
            "shopify", body, **{"X-Shopify-Topic": "fulfillments/create", "X-Shopify-Webhook-Id": "b54557e4-2"}
        )
        assert status == 202, text
        got = only_topic(await ingest.records(), "wismo.in.wms")
        assert {key for key, _ in got} == {b"450789469"}
        labels = [e for _, e in got if e["type"] == "label.created"]
        assert [e["payload"]["tracking_number"] for e in labels] == ["1Z2345"]
        assert "fulfillment.created" in {e["type"] for _, e in got}

    run_ingest(kafka_bootstrap, redis_url, scenario)


def test_easypost_delivery_with_the_published_signature_goes_to_carrier(kafka_bootstrap: str, redis_url: str) -> None:
    body = EASYPOST_EVENT_FILE.read_bytes().removesuffix(b"\n")  # the signed body had no final newline
    tracking_code = orjson.loads(body)["result"]["tracking_code"]

    async def scenario(ingest: Ingest) -> None:
        await ingest.link(tracking_code, "A1001", "S1")
        status, text = await ingest.post("easypost", body, {"X-Hmac-Signature": EASYPOST_VECTOR_SIGNATURE})
        assert status == 202, text
        [(key, event)] = only_topic(await ingest.records(), "wismo.in.carrier")
        assert key == b"A1001"
        assert event["type"] == "tracking.updated"
        assert (event["payload"]["shipment_id"], event["payload"]["status"]) == ("S1", "in_transit")

    run_ingest(kafka_bootstrap, redis_url, scenario)


def test_aftership_delivery_goes_to_carrier(kafka_bootstrap: str, redis_url: str) -> None:
    tracking = orjson.loads(AFTERSHIP_LOST_TRACKING.read_bytes())["data"]["tracking"]
    envelope = {"event": "tracking_update", "event_id": "ev-aftership-1", "msg": tracking, "ts": 1790000000}
    body = orjson.dumps(envelope)

    async def scenario(ingest: Ingest) -> None:
        await ingest.link(tracking["tracking_number"], "A2002", "S7")
        status, text = await ingest.signed("aftership", body)
        assert status == 202, text
        [(key, event)] = only_topic(await ingest.records(), "wismo.in.carrier")
        assert key == b"A2002"
        assert (event["payload"]["shipment_id"], event["payload"]["status"]) == ("S7", "exception")
        assert event["payload"].get("detail") == "lost"

    run_ingest(kafka_bootstrap, redis_url, scenario)


ZENDESK_COMMENT = {
    "type": "zen:event-type:ticket.comment_added",
    "id": "01JCZ8W3K2ZENDESKEVENT",
    "time": "2026-11-02T14:05:00Z",
    "account_id": 1,
    "zendesk_event_version": "2022-11-06",
    "subject": "zen:ticket:8868",
    "detail": {"id": "8868", "requester_id": "555", "via": {"channel": "web_form"}},
    "event": {
        "comment": {
            "id": "9001",
            "body": "Where is my order #1001?",
            "is_public": True,
            "author": {"id": "555", "is_staff": False, "name": "Pat"},
        }
    },
}


def test_zendesk_comment_goes_to_ticket_keyed_by_ticket(kafka_bootstrap: str, redis_url: str) -> None:
    body = orjson.dumps(ZENDESK_COMMENT)

    async def scenario(ingest: Ingest) -> None:
        status, text = await ingest.signed("zendesk", body)
        assert status == 202, text
        [(key, event)] = only_topic(await ingest.records(), "wismo.in.ticket")
        assert key == b"8868", "a ticket message without an order id is keyed by its ticket, as wismo publish does"
        assert (event["type"], event["payload"]["text"]) == ("ticket.message", "Where is my order #1001?")

    run_ingest(kafka_bootstrap, redis_url, scenario)


def slack_click(action_id: str = "wismo_review:approved", value: str = "esc_1|A1001") -> dict[str, Any]:
    return {
        "type": "block_actions",
        "trigger_id": f"{uuid.uuid4().int % 10**9}.123.abc",
        "user": {"id": "U123", "name": "sam"},
        "container": {"type": "message", "message_ts": "1790000000.000100"},
        "actions": [{"action_id": action_id, "value": value, "action_ts": "1790000100.123456", "type": "button"}],
    }


def test_slack_click_goes_to_review_and_answers_200(kafka_bootstrap: str, redis_url: str) -> None:
    body = slack_form(slack_click())

    async def scenario(ingest: Ingest) -> None:
        status, text = await ingest.signed("slack", body)
        assert (status, text) == (200, b""), "Slack expects 200 (not 202)"
        [(key, event)] = only_topic(await ingest.records(), "wismo.in.review")
        assert key == b"A1001"
        assert (event["type"], event["payload"]["decision"]) == ("review.decision", "approved")
        assert (await ingest.signed("slack", body)) == (200, b""), "a duplicate also gets Slack's 200"
        assert len((await ingest.records())["wismo.in.review"]) == 1

    run_ingest(kafka_bootstrap, redis_url, scenario)


# ---- what cannot be mapped goes to the dead-letter topic with the raw payload --------------------------------


def test_unmapped_status_is_dead_lettered_with_the_raw_payload(kafka_bootstrap: str, redis_url: str) -> None:
    event = {**EASYPOST_EVENT, "id": "evt_unmapped", "result": {**EASYPOST_EVENT["result"], "status": "teleported"}}
    body = orjson.dumps(event)

    async def scenario(ingest: Ingest) -> None:
        await ingest.link("EZ2000000002", "A1001", "S1")
        status, text = await ingest.signed("easypost", body)
        assert status == 202, text
        [(_, dl)] = only_topic(await ingest.records(), TOPIC_DLQ)
        assert dl["original"] == body.decode()
        assert "teleported" in dl["reason"]
        assert (dl["error_type"], dl["source_name"]) == ("invalid_event", "webhook:easypost")

    run_ingest(kafka_bootstrap, redis_url, scenario)


def test_unlinked_tracking_is_dead_lettered(kafka_bootstrap: str, redis_url: str) -> None:
    body = EASYPOST_EVENT_FILE.read_bytes().removesuffix(b"\n")

    async def scenario(ingest: Ingest) -> None:
        status, text = await ingest.post("easypost", body, {"X-Hmac-Signature": EASYPOST_VECTOR_SIGNATURE})
        assert status == 202, text
        [(_, dl)] = only_topic(await ingest.records(), TOPIC_DLQ)
        assert dl["original"] == body.decode()
        assert dl["error_type"] == "unknown_reference"
        assert "unlinked_tracking" in dl["reason"]

    run_ingest(kafka_bootstrap, redis_url, scenario)


def test_slack_click_wismo_did_not_write_is_dead_lettered(kafka_bootstrap: str, redis_url: str) -> None:
    payload = slack_click(action_id="some_other_app:approve")

    async def scenario(ingest: Ingest) -> None:
        status, _ = await ingest.signed("slack", slack_form(payload))
        assert status == 200
        [(_, dl)] = only_topic(await ingest.records(), TOPIC_DLQ)
        assert orjson.loads(dl["original"]) == payload, "the interaction JSON, not the URL-encoded form"
        assert "bad_button" in dl["reason"]

    run_ingest(kafka_bootstrap, redis_url, scenario)


def test_delivery_that_means_nothing_is_accepted_and_not_published(kafka_bootstrap: str, redis_url: str) -> None:
    event = {**EASYPOST_EVENT, "id": "evt_unknown", "result": {**EASYPOST_EVENT["result"], "status": "unknown"}}

    async def scenario(ingest: Ingest) -> None:
        status, text = await ingest.signed("easypost", orjson.dumps(event))
        assert status == 202, text
        assert orjson.loads(text)["status"] == "ignored"
        assert published(await ingest.records()) == 0

    run_ingest(kafka_bootstrap, redis_url, scenario)


# ---- /metrics: every delivery counted once, by provider and outcome -----------------------------------------


async def scrape_webhooks(ingest: Ingest) -> dict[tuple[str, str], float]:
    """``wismo_webhooks_total`` of the ingest's own ``/metrics``, by (provider, outcome); also checks that the
    page shows no family outside the catalogue."""
    async with ingest.http.get(f"{ingest.url}/metrics") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = await resp.text()
    families = list(text_string_to_metric_families(text))
    assert {f"{f.name}_total" for f in families} <= EXPORTED, [f.name for f in families]
    return {
        (s.labels["provider"], s.labels["outcome"]): s.value
        for f in families
        for s in f.samples
        if s.name == "wismo_webhooks_total"
    }


def test_metrics_count_every_delivery_by_provider_and_outcome(kafka_bootstrap: str, redis_url: str) -> None:
    accepted = orjson.dumps(EASYPOST_EVENT)
    unmapped = orjson.dumps(
        {**EASYPOST_EVENT, "id": "evt_unmapped", "result": {**EASYPOST_EVENT["result"], "status": "teleported"}}
    )
    meaningless = orjson.dumps(
        {**EASYPOST_EVENT, "id": "evt_unknown", "result": {**EASYPOST_EVENT["result"], "status": "unknown"}}
    )
    claimed = orjson.dumps({**EASYPOST_EVENT, "id": "evt_claimed"})

    async def scenario(ingest: Ingest) -> None:
        before = await scrape_webhooks(ingest)
        assert set(before) == {(p, o) for p in SECRETS for o in OUTCOMES}, "enabled providers start at zero"
        assert not any(before.values())

        await ingest.link("EZ2000000002", "A1001", "S1")
        assert (await ingest.signed("easypost", accepted))[0] == 202
        assert (await ingest.signed("easypost", accepted))[0] == 202  # the provider's retry: duplicate
        assert (await ingest.signed("easypost", unmapped))[0] == 202  # dead-lettered
        assert (await ingest.signed("easypost", meaningless))[0] == 202  # ignored
        await ingest.redis.set(ingest.keys.ingest_delivery("easypost", "evt_claimed"), b"claimed", px=60_000)
        assert (await ingest.signed("easypost", claimed))[0] == 503  # claimed by another request
        wrong = sign("shopify", ANY_JSON, secret="not the secret")
        assert (await ingest.post("shopify", ANY_JSON, {"X-Shopify-Topic": "orders/create", **wrong}))[0] == 401
        assert (await ingest.post("shopify", ANY_JSON, {}))[0] == 401
        assert (await ingest.signed("zendesk", b'{"pad": "' + b"x" * 5000 + b'"}'))[0] == 413
        assert (await ingest.signed("aftership", b"not json"))[0] == 400
        async with ingest.http.post(f"{ingest.url}/webhooks/stripe", data=b"{}") as resp:
            assert resp.status == 404
        async with ingest.http.post(f"{ingest.url}/webhooks/stripe-{uuid.uuid4().hex}", data=b"{}") as resp:
            assert resp.status == 404

        after = await scrape_webhooks(ingest)
        assert {k: v for k, v in after.items() if v} == {
            ("easypost", "accepted"): 1,
            ("easypost", "duplicate"): 1,
            ("easypost", "dead_lettered"): 1,
            ("easypost", "ignored"): 1,
            ("easypost", "unavailable"): 1,
            ("shopify", "bad_signature"): 2,
            ("zendesk", "too_large"): 1,
            ("aftership", "bad_json"): 1,
            ("unknown", "not_found"): 2,
        }
        # What the counters say went out is what is on the topics: one event, one dead letter.
        records = await ingest.records()
        assert (len(records["wismo.in.carrier"]), len(records[TOPIC_DLQ]), published(records)) == (1, 1, 2)

    run_ingest(kafka_bootstrap, redis_url, scenario, ingest_max_body_bytes=4096)


def test_each_app_counts_only_its_own_deliveries(kafka_bootstrap: str, redis_url: str) -> None:
    async def main() -> None:
        async with (
            running_ingest(kafka_bootstrap, redis_url) as first,
            running_ingest(kafka_bootstrap, redis_url) as second,
        ):
            assert (await first.post("shopify", b"{}", {}))[0] == 401
            assert (await scrape_webhooks(first))[("shopify", "bad_signature")] == 1
            assert (await scrape_webhooks(second))[("shopify", "bad_signature")] == 0

    run_async(main())
