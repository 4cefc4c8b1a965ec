"""``/metrics`` of a running ``wismo worker`` fed the bundled example day through Kafka and Redis: every figure
matches the records the worker wrote to its output topics, and every family is one that deploy/ may use."""

from __future__ import annotations

import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from wismo.streams.metrics import EXPORTED
from worker_harness import Deployment

from wismo.records import OUTPUT_TOPICS, TOPIC_DECISIONS, TOPIC_DLQ

ACTION_TOPICS = [t for t in OUTPUT_TOPICS if t not in (TOPIC_DECISIONS, TOPIC_DLQ)]
DAY = Path(__file__).resolve().parents[2] / "examples" / "day.ndjson"

Samples = dict[str, dict[tuple[tuple[str, str], ...], float]]


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    out: Samples = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def nonzero(samples: Samples, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {k: v for k, v in samples.get(name, {}).items() if v}


def test_worker_metrics_match_the_records_it_wrote(
    kafka_bootstrap: str, redis_url: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    lines = [line for line in DAY.read_bytes().splitlines() if line.strip()]
    dep = Deployment(kafka_bootstrap, redis_url, unique_name("met") + ".", tmp_path)
    dep.create_topics()
    worker = dep.start_worker(web=True)
    try:
        before = scrape_when_up(worker.web_port)
        dep.publish(lines)
        dep.settle(alive=[worker])
        got = scrape(worker.web_port)
        out = dep.outputs()
    finally:
        dep.close()
    assert not nonzero(before, "wismo_evaluations_total"), "counters start at zero"

    suffixes = ("_total", "_bucket", "_count", "_sum", "_created")
    families = {next((n.removesuffix(x) for x in suffixes if n.endswith(x)), n) for n in got}
    assert {f for f in families if f.startswith("wismo_")} <= {n.removesuffix("_total") for n in EXPORTED}

    decisions = out["wismo.decisions"]
    actions = [r for t in ACTION_TOPICS for r in out[t]]
    evaluations = {dict(k)["condition"]: v for k, v in nonzero(got, "wismo_evaluations_total").items()}
    assert evaluations == Counter(d["condition_type"] for d in decisions) and len(evaluations) >= 10
    by_kind = {
        tuple(dict(k)[x] for x in ("kind", "mode", "channel")): v
        for k, v in nonzero(got, "wismo_actions_total").items()
    }
    assert by_kind == Counter((r["kind"], r["mode"], r["channel"] or "none") for r in actions)
    assert any(kind == "reply" and mode == "live" for kind, mode, _ in by_kind)
    escalations = {dict(k)["condition"]: v for k, v in nonzero(got, "wismo_escalations_total").items()}
    assert escalations == Counter(r["condition_type"] for r in out["wismo.escalations"]) and escalations
    dead = {dict(k)["error_type"]: v for k, v in nonzero(got, "wismo_dead_letters_total").items()}
    assert dead == Counter(r["error_type"] for r in out["wismo.dlq"]) and dead
    proactive = {dict(k)["ticket"]: v for k, v in nonzero(got, "wismo_proactive_updates_total").items()}
    sent_or_drafted = [r for r in actions if "proactive_update" in (r["kind"], r.get("draft_kind"))]
    assert proactive == Counter("none" if r["ticket_id"] is None else "open" for r in sent_or_drafted) and proactive
    suppressed = {dict(k)["reason"]: v for k, v in nonzero(got, "wismo_suppressed_total").items()}
    assert suppressed == Counter(d["suppressed"] for d in decisions if d["suppressed"])
    contacts = sum(nonzero(got, "wismo_contacts_total").values())
    assert contacts > 0 and sum(nonzero(got, "wismo_contact_outcomes_total").values()) == contacts
    assert got["wismo_exception_to_update_seconds_count"][()] > 0
    assert got["wismo_messages_total"][()] >= len(lines)
    assert got["wismo_batch_seconds_count"][()] == got["wismo_batches_total"][()] > 0
    lag = nonzero(got, "wismo_consumer_lag_messages")
    assert not lag, f"everything was committed: {lag}"


def scrape_when_up(port: int, timeout: float = 60) -> Samples:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return scrape(port)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
