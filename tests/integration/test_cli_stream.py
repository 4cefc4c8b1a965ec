"""The streaming commands end to end: ``wismo demo`` against the test broker and Redis, then a shadow
``wismo replay --from-kafka`` of the topics it wrote, compared with ``wismo replay`` of the same file."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import orjson

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "day.ndjson"


def _wismo(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wismo.cli", *args], env=env, capture_output=True, text=True, timeout=300
    )


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def test_demo_then_shadow_replay_from_kafka(kafka_bootstrap: str, redis_url: str, tmp_path: Path) -> None:
    prefix = f"cli{uuid.uuid4().hex[:8]}."
    env = {**os.environ, "WISMO_KAFKA_BOOTSTRAP": kafka_bootstrap, "WISMO_REDIS_URL": redis_url}
    demo = _wismo("demo", "--out", str(tmp_path / "demo"), "--topic-prefix", prefix, env=env)
    assert demo.returncode == 0, demo.stderr[-3000:]
    events = sum(1 for line in EXAMPLE.read_bytes().splitlines() if line.strip())
    assert f"{events} events in" in demo.stdout
    decisions = _lines(tmp_path / "demo" / "wismo.decisions.ndjson")
    assert len(decisions) >= events - 10, "about one decision per event (duplicates and bad lines excepted)"
    assert {d["condition_type"] for d in decisions} >= {"delivery_failed", "supplier_backorder", "restricted_hold"}

    shadow = _wismo(
        "replay", "--from-kafka", "--topic-prefix", prefix, "--out", str(tmp_path / "shadow"), "--quiet", env=env
    )
    assert shadow.returncode == 0, shadow.stderr[-3000:]
    files = _wismo("replay", str(EXAMPLE), "--out", str(tmp_path / "file"), "--quiet", env=env)
    assert files.returncode == 0, files.stderr[-3000:]
    for topic in ("wismo.decisions", "wismo.notes", "wismo.escalations", "wismo.actions", "wismo.replies"):
        a = (tmp_path / "shadow" / f"{topic}.ndjson").read_bytes().splitlines()
        b = (tmp_path / "file" / f"{topic}.ndjson").read_bytes().splitlines()
        assert sorted(a) == sorted(b), topic
