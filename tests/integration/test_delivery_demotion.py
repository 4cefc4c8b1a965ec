"""Automatic demotion by delivery errors (``wismo deliver``, real Kafka, Redis and a failing stand-in Zendesk):
when a condition's live replies fail to deliver too often, the condition is demoted to testing mode in the
control hash every worker reads, with an ALERT log line; testing-mode notes do not count."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml
from conftest import run_async
from delivery_standins import Fail
from redis.asyncio import Redis
from test_delivery import Env, action, start_worker, stop_worker
from wismo.streams.controls import read_controls

from wismo.records import TOPIC_NOTES, TOPIC_REPLIES
from wismo.state_keys import Keys


def test_failing_deliveries_demote_their_condition(
    kafka_bootstrap: str, redis_url: str, unique_name: Any, tmp_path: Path, caplog: Any
) -> None:
    caplog.set_level(logging.ERROR)
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump({"rollout": {"demotion": {"min_deliveries": 4, "max_delivery_error_rate": 0.5}}}))

    async def main() -> None:
        async with Env(kafka_bootstrap, redis_url, unique_name("dem") + ".") as env:
            failing = [action(f"act_f{i}", "reply", f"O{i}", "101", condition_type="delivery_failed") for i in range(3)]
            notes = [
                action(f"act_n{i}", "internal_note", f"P{i}", "102", condition_type="partial_shipment", mode="testing")
                for i in range(4)
            ]
            env.zendesk.script("put", *[Fail(500)] * 6)  # the three replies fail twice each (2 attempts)
            items = [(TOPIC_REPLIES, r, r.order_id or "") for r in failing]
            await env.publish(*items)
            settings = env.settings(webhook_url=None, webhook_secret=None, delivery_max_attempts=2, policy_file=policy)
            worker, task = await start_worker(env, settings=settings)
            await env.finished({(r.action_id, "zendesk") for r in failing})
            # Testing-mode notes that fail do not count: partial_shipment stays live.
            env.zendesk.script("put", *[Fail(500)] * 8)
            await env.publish(*[(TOPIC_NOTES, n, n.order_id or "") for n in notes])
            await env.finished({(n.action_id, "zendesk") for n in notes})
            await worker.wait_committed(env.ends)
            await stop_worker(worker, task)
            redis = Redis.from_url(redis_url)
            try:
                _, demoted = await read_controls(redis, Keys(env.prefix + "k"))
            finally:
                await redis.aclose()
            assert set(demoted) == {"delivery_failed"}
            assert "delivery error rate 100.0% (6 of 6)" in demoted["delivery_failed"]["reason"]
            assert "automatic" in demoted["delivery_failed"]["by"]

    run_async(main())
    assert any("ALERT: condition delivery_failed demoted to testing mode" in r.getMessage() for r in caplog.records)
    assert not any("partial_shipment demoted" in r.getMessage() for r in caplog.records)
