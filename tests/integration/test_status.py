"""``wismo status`` against a deployment that processed the example day (Kafka, Redis, a worker process)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from worker_harness import Deployment

from wismo.local_servers import free_port

DAY = Path(__file__).resolve().parents[2] / "examples" / "day.ndjson"


def wismo(dep: Deployment, *args: str, bootstrap: str | None = None) -> str:
    env = {
        **os.environ,
        "WISMO_REDIS_URL": dep.redis_url,
        "WISMO_KEY_PREFIX": f"{dep.prefix}wismo",
        "WISMO_KAFKA_BOOTSTRAP": bootstrap or dep.bootstrap,
        "WISMO_TOPIC_PREFIX": dep.prefix,
        "WISMO_GROUP_ID": dep.group,
        "WISMO_MODE": "live",
    }
    done = subprocess.run([sys.executable, "-m", "wismo.cli", *args], env=env, capture_output=True, timeout=90)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def number(text: str, label: str) -> int:
    m = re.search(rf"^\s*{re.escape(label)}\s+(\d+)\s*$", text, re.M)
    assert m, f"{label!r} not in:\n{text}"
    return int(m.group(1))


def test_status_reports_what_the_deployment_holds(
    kafka_bootstrap: str, redis_url: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    dep = Deployment(kafka_bootstrap, redis_url, unique_name("st") + ".", tmp_path)
    dep.create_topics()
    worker = dep.start_worker()
    try:
        dep.publish([line for line in DAY.read_bytes().splitlines() if line.strip()])
        dep.settle(alive=[worker])
        out = dep.outputs()
        text = wismo(dep, "status")
    finally:
        dep.close()

    assert number(text, "dead letters") == len(out["wismo.dlq"]) > 0
    for topic in ("wismo.in.oms", "wismo.in.ticket", "wismo.in.carrier"):
        assert number(text, dep.prefix + topic) == 0, "the group committed everything"
    assert re.search(r"^\s*chat\s+live\s*$", text, re.M), text
    m = re.search(r"open cases by condition \((\d+) open of (\d+) cases in Redis\)", text)
    assert m and 0 < int(m.group(1)) <= int(m.group(2))
    listed = dict(
        re.findall(r"^  ([a-z_]+)\s+(\d+)$", text.split("open cases by condition")[1].split("follow-ups")[0], re.M)
    )
    assert sum(int(n) for n in listed.values()) == int(m.group(1))
    last_condition = {d["case_id"]: d["condition_type"] for d in out["wismo.decisions"]}
    assert set(listed) <= set(last_condition.values())
    assert number(text, "scheduled") > 0 and number(text, "in flight") == 0

    wismo(dep, "control", "kill-switch", "on")
    wismo(dep, "control", "demote", "delivery_failed", "--reason", "carrier outage")
    text = wismo(dep, "status", "--no-kafka")
    assert "KILL SWITCH ON" in text and re.search(r"^\s*chat\s+testing\s*$", text, re.M)
    assert "demoted: delivery_failed: carrier outage" in text
    assert "dead letters" not in text

    unreachable = f"127.0.0.1:{free_port()}"
    text = wismo(dep, "status", bootstrap=unreachable)
    assert "kafka: unavailable" in text and "open cases by condition" in text
