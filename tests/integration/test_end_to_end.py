"""The whole loop, as a retailer runs it: signed provider webhooks posted to ``wismo ingest`` become canonical
events on Kafka, a ``wismo worker`` process decides, and a ``wismo deliver`` process writes the reply on the
helpdesk (a stand-in Zendesk on loopback). Real broker, real Redis, real processes.

Shopify's order and fulfillment and EasyPost's tracker event are the saved public samples (attribution in
test_ingest.py and ../shared/payloads/SOURCES.md) with their timestamps moved to this week, so the customer's
question falls inside the order-matching window; the Zendesk comment is built from Zendesk's documented
event-subscription shape."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from delivery_standins import SLACK_CHANNEL, SLACK_TOKEN, ZENDESK_EMAIL, ZENDESK_TOKEN, SlackStandIn, ZendeskStandIn
from test_ingest import EASYPOST_EVENT_FILE, SHOPIFY_FULFILLMENT, SHOPIFY_ORDER, running_ingest, slack_form
from worker_harness import Deployment

from wismo.state_keys import Keys

TICKET = 5158
NOW = datetime.now(UTC).replace(microsecond=0)


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def shopify_order() -> bytes:
    doc = orjson.loads(SHOPIFY_ORDER.read_bytes())
    order = doc.get("order", doc)
    for key in ("created_at", "updated_at", "processed_at"):
        order[key] = iso(NOW - timedelta(days=2))
    order["fulfillments"] = []  # the sample's failed fulfillment is not part of this story
    order["fulfillment_status"] = None
    return orjson.dumps(doc)


def shopify_fulfillment() -> bytes:
    doc = orjson.loads(SHOPIFY_FULFILLMENT.read_bytes())
    f = doc.get("fulfillment", doc)
    f["created_at"] = f["updated_at"] = iso(NOW - timedelta(days=1, hours=6))
    f["tracking_company"] = "UPS"
    return orjson.dumps(f)


def easypost_in_transit(tracking: str) -> bytes:
    doc = orjson.loads(EASYPOST_EVENT_FILE.read_bytes())
    result = doc["result"]
    result["tracking_code"] = tracking
    result["est_delivery_date"] = iso((NOW + timedelta(days=2)).replace(hour=0, minute=0, second=0))
    details = result["tracking_details"]
    for i, d in enumerate(details):
        d["datetime"] = iso(NOW - timedelta(hours=30) + timedelta(hours=i))
    result["updated_at"] = details[-1]["datetime"]
    return orjson.dumps(doc)


def zendesk_customer_comment() -> bytes:
    return orjson.dumps(
        {
            "account_id": 22129848,
            "detail": {
                "id": str(TICKET),
                "requester_id": "9001",
                "status": "OPEN",
                "subject": "Order #1001",
                "created_at": iso(NOW - timedelta(minutes=5)),
                "updated_at": iso(NOW - timedelta(minutes=5)),
                "via": {"channel": "email"},
            },
            "event": {
                "comment": {
                    "author": {"id": "9001", "is_staff": False, "name": "Bob Norman"},
                    "body": "Hi, where is my order #1001? I haven't heard anything.",
                    "id": "20001",
                    "is_public": True,
                }
            },
            "id": "e2e-zendesk-event-1",
            "subject": f"zen:ticket:{TICKET}",
            "time": iso(NOW - timedelta(minutes=5)),
            "type": "zen:event-type:ticket.comment_added",
            "zendesk_event_version": "2022-11-06",
        }
    )


async def start_deliver(
    dep: Deployment, zendesk: ZendeskStandIn, slack: SlackStandIn | None = None
) -> asyncio.subprocess.Process:
    """``wismo deliver`` for ``dep``'s topics, writing to the stand-ins."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WISMO_")}
    env.update(
        WISMO_KAFKA_BOOTSTRAP=dep.bootstrap,
        WISMO_REDIS_URL=dep.redis_url,
        WISMO_TOPIC_PREFIX=dep.prefix,
        WISMO_GROUP_ID=dep.group,
        WISMO_KEY_PREFIX=f"{dep.prefix}wismo",
        WISMO_ZENDESK_URL=zendesk.url,
        WISMO_ZENDESK_EMAIL=ZENDESK_EMAIL,
        WISMO_ZENDESK_API_TOKEN=ZENDESK_TOKEN,
        WISMO_SESSION_TIMEOUT_MS="3000",
        WISMO_HEARTBEAT_INTERVAL_MS="500",
        WISMO_DELIVERY_WEB_PORT="0",
    )
    if slack is not None:
        env.update(
            WISMO_SLACK_BOT_TOKEN=SLACK_TOKEN, WISMO_SLACK_CHANNEL=SLACK_CHANNEL, WISMO_SLACK_API_URL=slack.url + "/api"
        )
    cmd = [sys.executable, "-m", "wismo.cli", "deliver", "--loglevel", "warn"]
    return await asyncio.create_subprocess_exec(*cmd, env=env, stderr=asyncio.subprocess.PIPE)


async def stop_deliver(deliver: asyncio.subprocess.Process | None) -> None:
    if deliver is not None and deliver.returncode is None:
        deliver.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(deliver.communicate(), 30)
        assert deliver.returncode == 0, err.decode()


async def until(what: str, cond: Callable[[], Any], dep: Deployment, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not await cond():
        assert all(w.alive() for w in dep.workers), dep.logs()
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{dep.logs()}"
        await asyncio.sleep(0.1)


def test_signed_webhooks_end_as_a_reply_on_the_helpdesk(
    kafka_bootstrap: str, redis_url: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    dep = Deployment(kafka_bootstrap, redis_url, unique_name("e2e") + ".", tmp_path)
    dep.create_topics()
    worker = dep.start_worker()
    keys = Keys(f"{dep.prefix}wismo")

    async def main() -> None:
        zendesk = ZendeskStandIn(existing=(TICKET,))
        await zendesk.start()
        deliver = None
        try:
            async with running_ingest(kafka_bootstrap, redis_url, prefix=dep.prefix, producer=None) as ingest:

                async def post(provider: str, body: bytes, **headers: str) -> None:
                    status, text = await ingest.signed(provider, body, **headers)
                    assert status == 202, (provider, status, text)

                async def context_of(order_id: str) -> Any:
                    return await ingest.redis.get(keys.context(order_id))

                await post(
                    "shopify", shopify_order(), **{"X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "e2e-1"}
                )
                await until("the order in Redis", lambda: context_of("450789469"), dep)
                await post(
                    "shopify",
                    shopify_fulfillment(),
                    **{"X-Shopify-Topic": "fulfillments/create", "X-Shopify-Webhook-Id": "e2e-2"},
                )

                async def linked() -> Any:
                    return await ingest.redis.get(keys.by_tracking("1Z2345"))

                await until("the label's tracking number linked to the order", linked, dep)
                await post("easypost", easypost_in_transit("1Z2345"))
                await asyncio.to_thread(dep.settle, alive=[worker])

                deliver = await start_deliver(dep, zendesk)

                await post("zendesk", zendesk_customer_comment())

                async def replied() -> bool:
                    return bool(zendesk.tickets[TICKET]["comments"])

                try:
                    await until("a comment on the customer's ticket", replied, dep, timeout=90)
                except AssertionError:
                    out = await asyncio.to_thread(dep.outputs)
                    summary = {
                        t: [
                            (r.get("kind"), r.get("caused_by"), r.get("condition_type"), r.get("ticket_id"))
                            for r in recs
                        ]
                        for t, recs in out.items()
                    }
                    raise AssertionError(
                        f"no reply on the helpdesk; outputs: {summary}; zendesk saw {zendesk.requests}"
                    ) from None
                await asyncio.to_thread(dep.settle, alive=[worker])
        finally:
            await stop_deliver(deliver)
            await zendesk.stop()
        comments = zendesk.tickets[TICKET]["comments"]
        assert len(comments) == 1, comments
        reply = comments[0]
        assert reply["public"] is True, "a live reply is a public comment, not an internal note"
        text = reply["body"]
        assert ("UPS" in text and "1Z2345" in text) or "in transit" in text.lower(), text
        out = dep.outputs()
        [sent] = [r for r in out["wismo.replies"] if r["ticket_id"] == str(TICKET)]
        assert sent["kind"] == "reply" and sent["order_id"] == "450789469" and sent["text"] in text
        assert not out["wismo.dlq"], out["wismo.dlq"]

    from conftest import run_async

    try:
        run_async(main())
    finally:
        dep.close()


REFUND_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "review_approved_refund_confirmed.ndjson"
REFUND_TICKET = 7001


def test_approval_round_trip_through_slack_resumes_the_case(
    kafka_bootstrap: str, redis_url: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    """A delivered parcel that never arrived, a refund request: the escalation reaches Slack with its buttons; a
    click by someone the policy does not entitle is refused (an internal note on the ticket), the senior
    reviewer's click approves, and the case resumes: the customer's ticket gets the approval reply."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "reviewers:\n  groups: {senior: [U0SAM]}\n  approve: {default: [senior]}\n  high_value: [senior]\n"
    )
    dep = Deployment(kafka_bootstrap, redis_url, unique_name("rt") + ".", tmp_path)
    dep.create_topics()
    worker = dep.start_worker(WISMO_POLICY_FILE=str(policy))
    lines = [
        line.replace(b'"CW-88531"', f'"{REFUND_TICKET}"'.encode())
        for line in REFUND_SCENARIO.read_bytes().splitlines()
        if line.strip() and b"review.decision" not in line
    ]

    async def main() -> None:
        zendesk, slack = ZendeskStandIn(existing=(REFUND_TICKET,)), SlackStandIn()
        await zendesk.start()
        await slack.start()
        deliver = await start_deliver(dep, zendesk, slack)
        try:
            async with running_ingest(kafka_bootstrap, redis_url, prefix=dep.prefix, producer=None) as ingest:
                # The order's history first: a ticket without an order id is matched through the indices the
                # worker writes, and may sit on another partition than its order.
                await asyncio.to_thread(dep.publish, lines[:-1])
                await asyncio.to_thread(dep.settle, alive=[worker])
                await asyncio.to_thread(dep.publish, lines[-1:])

                async def posted() -> bool:
                    return bool(slack.messages[SLACK_CHANNEL])

                await until("the escalation in Slack", posted, dep, timeout=90)
                [message] = slack.messages[SLACK_CHANNEL]
                buttons = {
                    e["action_id"]: e["value"]
                    for block in message["blocks"]
                    if block.get("type") == "actions"
                    for e in block["elements"]
                }
                assert set(buttons) == {
                    f"wismo_review:{d}" for d in ("approved", "denied", "changes_requested", "manual_takeover")
                }

                def click(user: str, n: int) -> bytes:
                    ts = f"{time.time():.6f}"
                    action = {
                        "action_id": "wismo_review:approved",
                        "value": buttons["wismo_review:approved"],
                        "action_ts": ts,
                        "type": "button",
                    }
                    return slack_form(
                        {
                            "type": "block_actions",
                            "trigger_id": f"{n}.123.abc",
                            "user": {"id": user, "name": user.lower()},
                            "container": {"type": "message", "message_ts": message["ts"], "channel_id": SLACK_CHANNEL},
                            "actions": [action],
                        }
                    )

                def comments() -> list[dict[str, Any]]:
                    return list(zendesk.tickets[REFUND_TICKET]["comments"])

                async def count(n: int) -> bool:
                    return len(comments()) >= n

                await until("the first reply on the ticket", lambda: count(1), dep, timeout=90)
                assert (await ingest.signed("slack", click("U0BOB", 1)))[0] == 200
                await until("the refusal note", lambda: count(2), dep, timeout=90)
                assert (await ingest.signed("slack", click("U0SAM", 2)))[0] == 200
                await until("the approval reply", lambda: count(4), dep, timeout=90)
                await asyncio.to_thread(dep.settle, alive=[worker])
        finally:
            await stop_deliver(deliver)
            await zendesk.stop()
            await slack.stop()
        first, refused, *after = comments()
        assert first["public"] and "passed your request to refund" in first["body"]
        assert not refused["public"] and "U0BOB" in refused["body"] and "Refused" in refused["body"]
        public_after = [c for c in after if c["public"]]
        private_after = [c for c in after if not c["public"]]
        assert len(public_after) == 1 and "your refund has been approved" in public_after[0]["body"]
        assert private_after and "U0SAM" in private_after[0]["body"]
        out = dep.outputs()
        approved = [r for r in out["wismo.actions"] if r["approval_state"] == "approved"]
        assert len(approved) == 1 and approved[0]["action_type"] == "refund"
        assert not out["wismo.dlq"], out["wismo.dlq"]

    from conftest import run_async

    try:
        run_async(main())
    finally:
        dep.close()
