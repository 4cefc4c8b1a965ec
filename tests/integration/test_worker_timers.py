"""Time-based conditions fire with no new input event: a ``wismo worker`` on the wall clock fires its due
follow-ups and sweeps its own orders, so a label printed 30 hours ago with no carrier scan becomes
``label_created_no_pickup`` (SPEC §3: first scan 24 h) and one customer update is drafted, although nothing
was published after the label; later sweeps find no change and send nothing more."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from wismo.streams.publisher import publish_lines
from wismo.streams.topics import create_topics, load_topics


def _event(event_id: str, etype: str, source: str, at: datetime, payload: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {
            "event_id": event_id,
            "source": source,
            "type": etype,
            "order_id": "T9001",
            "occurred_at": at.isoformat(),
            "payload": payload,
        }
    )


async def _publish(bootstrap: str, prefix: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    lines = [
        _event(
            "t-oms-1",
            "order.placed",
            "oms",
            now - timedelta(hours=40),
            {
                "order_number": "9001",
                "customer": {"id": "c-9001", "email": "ana@example.com", "name": "Ana"},
                "items": [{"sku": "LAMP", "title": "Desk lamp", "qty": 1, "unit_price": 40}],
                "order_value": 40,
                "currency": "USD",
            },
        ),
        _event(
            "t-wms-1",
            "fulfillment.created",
            "wms",
            now - timedelta(hours=39),
            {"shipment_id": "S1", "items": [{"sku": "LAMP", "qty": 1}]},
        ),
        _event("t-wms-2", "pick.completed", "wms", now - timedelta(hours=38), {"shipment_id": "S1"}),
        _event(
            "t-wms-3",
            "label.created",
            "wms",
            now - timedelta(hours=30),
            {"shipment_id": "S1", "carrier": "UPS", "tracking_number": "1Z9001"},
        ),
    ]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await publish_lines(producer, lines, topic_prefix=prefix)
    finally:
        await producer.stop()


async def _collect(bootstrap: str, prefix: str, worker: subprocess.Popen[bytes]) -> list[dict[str, Any]]:
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
    await reader.start()
    decisions: list[dict[str, Any]] = []
    try:
        await reader.topics()
        topic = prefix + "wismo.decisions"
        tps = [TopicPartition(topic, p) for p in sorted(reader.partitions_for_topic(topic) or ())]
        reader.assign(tps)
        await reader.seek_to_beginning(*tps)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert worker.poll() is None, "the worker exited"
            got = await reader.getmany(timeout_ms=500)
            decisions += [orjson.loads(m.value) for msgs in got.values() for m in msgs]
            timed = [d for d in decisions if d["caused_by"].startswith(("sweep:", "followup:"))]
            if any(d["action_ids"] for d in timed) and any(d["caused_by"].startswith("sweep:") for d in timed):
                break
    finally:
        await reader.stop()
    return decisions


def test_time_threshold_fires_without_an_input_event(kafka_bootstrap: str, redis_url: str) -> None:
    prefix = f"tmr{uuid.uuid4().hex[:8]}."
    specs = [replace(s, name=prefix + s.name) for s in load_topics(None)]
    assert asyncio.run(create_topics(kafka_bootstrap, specs)).ok
    env = {
        **os.environ,
        "WISMO_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "WISMO_REDIS_URL": redis_url,
        "WISMO_GROUP_ID": f"{prefix}wismo",
        "WISMO_TOPIC_PREFIX": prefix,
        "WISMO_CLOCK": "wall",
        "WISMO_SWEEP_INTERVAL_SECONDS": "1",
        "WISMO_MONITOR_INTERVAL_SECONDS": "0.5",
        "WISMO_SESSION_TIMEOUT_MS": "3000",
        "WISMO_HEARTBEAT_INTERVAL_MS": "500",
        "WISMO_WEB_PORT": "0",
    }
    asyncio.run(_publish(kafka_bootstrap, prefix))  # then nothing more is published
    worker = subprocess.Popen(
        [sys.executable, "-m", "wismo.cli", "worker", "--loglevel", "warn"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        decisions = asyncio.run(_collect(kafka_bootstrap, prefix, worker))
    finally:
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
    by_event = {d["caused_by"]: d for d in decisions}
    assert by_event["t-wms-3"]["condition_type"] != "label_created_no_pickup", "not yet at the label's own time"
    timed = [d for d in decisions if d["caused_by"].startswith(("sweep:", "followup:"))]
    assert any(d["caused_by"].startswith("sweep:") for d in timed), "the worker swept its own orders"
    assert {d["condition_type"] for d in timed} == {"label_created_no_pickup"}
    updates = [d for d in decisions if d["action_ids"] and d["condition_type"] == "label_created_no_pickup"]
    assert len(updates) == 1, f"one proactive update (a testing-mode draft), not one per evaluation: {timed}"
    assert updates[0]["caused_by"].startswith(("sweep:", "followup:")) and updates[0]["trigger"]
