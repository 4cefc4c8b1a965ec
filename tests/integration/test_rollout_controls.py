"""Rollout controls on running ``wismo worker`` processes (Kafka, Redis, /metrics): the kill switch set with
``wismo control`` holds every customer message back within seconds, without a restart, and lifts the same way;
a condition whose escalation rate crosses the policy's limit is demoted to testing mode automatically, on
every worker, with an alert line and the ``wismo_condition_demoted`` gauge."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import yaml
from test_metrics import scrape, scrape_when_up
from worker_harness import Deployment, WorkerProcess

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def order_lines(order_id: str, hours: float) -> list[bytes]:
    at = T0 + timedelta(hours=hours)

    def ev(n: int, etype: str, source: str, dh: float, payload: dict[str, Any]) -> bytes:
        return orjson.dumps(
            {
                "event_id": f"{order_id}-{n}",
                "source": source,
                "type": etype,
                "order_id": order_id,
                "occurred_at": (at + timedelta(hours=dh)).isoformat(),
                "payload": payload,
            }
        )

    placed = {
        "order_number": order_id,
        "customer": {"id": f"c-{order_id}", "email": f"{order_id.lower()}@example.com", "name": "Ana"},
        "items": [{"sku": "LAMP", "title": "Desk lamp", "qty": 1, "unit_price": 40}],
        "order_value": 40,
        "currency": "USD",
    }
    ticket = {
        "ticket_id": f"ZD-{order_id}",
        "channel": "email",
        "author": "customer",
        "public": True,
        "text": "Hi, where is my order?",
    }
    return [
        ev(1, "order.placed", "oms", 0, placed),
        ev(2, "fulfillment.created", "wms", 1, {"shipment_id": "S1", "items": [{"sku": "LAMP", "qty": 1}]}),
        ev(3, "label.created", "wms", 2, {"shipment_id": "S1", "carrier": "UPS", "tracking_number": f"1Z{order_id}"}),
        ev(4, "tracking.updated", "carrier", 3, {"shipment_id": "S1", "status": "in_transit", "location": "Reno"}),
        ev(5, "ticket.message", "ticket", 4, ticket),
    ]


def unknown_order_ticket(n: int) -> bytes:
    payload = {"ticket_id": f"ZD-U{n}", "channel": "chat", "author": "customer", "public": True, "text": "where is it?"}
    at = (T0 + timedelta(hours=n)).isoformat()
    return orjson.dumps(
        {
            "event_id": f"u-{n}",
            "source": "ticket",
            "type": "ticket.message",
            "order_id": f"NOPE{n}",
            "occurred_at": at,
            "payload": payload,
        }
    )


def control(dep: Deployment, *args: str) -> str:
    env = {**os.environ, "WISMO_REDIS_URL": dep.redis_url, "WISMO_KEY_PREFIX": f"{dep.prefix}wismo"}
    done = subprocess.run(
        [sys.executable, "-m", "wismo.cli", "control", *args], env=env, capture_output=True, timeout=30
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def wait_gauge(
    w: WorkerProcess, name: str, labels: tuple[tuple[str, str], ...], value: float, timeout: float = 15
) -> float:
    """Seconds until the worker's gauge showed ``value``."""
    t0 = time.monotonic()
    while scrape(w.web_port).get(name, {}).get(labels) != value:
        assert time.monotonic() - t0 < timeout, f"{name}{dict(labels)} never became {value}"
        assert w.alive(), w.log_tail()
        time.sleep(0.1)
    return time.monotonic() - t0


def replies_for(dep: Deployment, event_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    out = dep.outputs()
    return (
        [r for r in out["wismo.replies"] if r["caused_by"] == event_id],
        [r for r in out["wismo.notes"] if r["caused_by"] == event_id and r.get("draft")],
    )


def test_kill_switch_reaches_running_workers_within_seconds(
    kafka_bootstrap: str, redis_url: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    dep = Deployment(kafka_bootstrap, redis_url, unique_name("kill") + ".", tmp_path)
    dep.create_topics()
    workers = [dep.start_worker(web=True), dep.start_worker(web=True)]
    try:
        for w in workers:
            scrape_when_up(w.web_port)
        dep.publish(order_lines("K1", 0))
        dep.settle(alive=workers)
        sent, _ = replies_for(dep, "K1-5")
        assert sent, "live mode: the contact is answered"

        assert "kill switch: ON" in control(dep, "kill-switch", "on")
        for w in workers:
            assert wait_gauge(w, "wismo_kill_switch", (), 1.0) < 5
        dep.publish(order_lines("K2", 10))
        dep.settle(alive=workers)
        sent, drafts = replies_for(dep, "K2-5")
        assert not sent and drafts and drafts[0]["draft_kind"] == "reply", "held back as a draft note"

        assert "kill switch: off" in control(dep, "kill-switch", "off")
        for w in workers:
            wait_gauge(w, "wismo_kill_switch", (), 0.0)
        dep.publish(order_lines("K3", 20))
        dep.settle(alive=workers)
        assert replies_for(dep, "K3-5")[0], "answered again"
        assert all(w.alive() for w in workers), "no restart"
    finally:
        dep.close()


def test_a_condition_is_demoted_automatically_when_its_escalation_rate_crosses_the_limit(
    kafka_bootstrap: str, redis_url: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        yaml.safe_dump(
            {
                "modes": {"default": "live"},
                "rollout": {"demotion": {"min_evaluations": 3, "max_escalation_rate": 0.5}},
            }
        )
    )
    dep = Deployment(kafka_bootstrap, redis_url, unique_name("dem") + ".", tmp_path)
    dep.create_topics()
    w = dep.start_worker(web=True, WISMO_POLICY_FILE=str(policy))
    try:
        scrape_when_up(w.web_port)
        labels = (("condition", "missing_order_data"),)
        assert scrape(w.web_port)["wismo_condition_demoted"][labels] == 0.0
        dep.publish([unknown_order_ticket(n) for n in range(4)])  # every one escalates: rate 100%
        dep.settle(alive=[w])
        wait_gauge(w, "wismo_condition_demoted", labels, 1.0)
        shown = control(dep, "show")
        assert "missing_order_data: escalation rate 100.0%" in shown and "automatic" in shown
        assert "ALERT: condition missing_order_data demoted to testing mode" in w.log_text()
        # Other conditions stay live.
        assert scrape(w.web_port)["wismo_condition_demoted"][(("condition", "standard_in_transit"),)] == 0.0

        dep.publish([unknown_order_ticket(10)])
        dep.settle(alive=[w])
        decisions = [d for d in dep.outputs()["wismo.decisions"] if d["caused_by"] == "u-10"]
        assert decisions and decisions[0]["mode"] == "testing"

        control(dep, "promote", "missing_order_data")
        wait_gauge(w, "wismo_condition_demoted", labels, 0.0)
    finally:
        dep.close()
