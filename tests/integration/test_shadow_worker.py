"""Shadow mode on a running ``wismo worker``: a candidate policy decides beside the live one on the same events;
where it differs, a comparison lands on ``wismo.shadow``; nothing it decides is ever written to the output
topics; the comparisons are counted on ``/metrics``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml
from test_metrics import scrape
from worker_harness import Deployment

DAY = Path(__file__).resolve().parents[2] / "examples" / "day.ndjson"


def test_a_candidate_policy_is_compared_and_never_sent(
    kafka_bootstrap: str, redis_url: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    candidate = tmp_path / "candidate.yaml"  # the live run is all-live (WISMO_MODE=live): the candidate is not
    candidate.write_text(yaml.safe_dump({"modes": {"default": "testing"}, "thresholds": {"no_movement_hours": 24}}))
    dep = Deployment(kafka_bootstrap, redis_url, unique_name("shd") + ".", tmp_path)
    dep.create_topics()
    worker = dep.start_worker(web=True, WISMO_SHADOW_POLICY_FILE=str(candidate))
    try:
        dep.publish([line for line in DAY.read_bytes().splitlines() if line.strip()])
        dep.settle(alive=[worker])
        metrics = scrape(worker.web_port)
        out = dep.outputs(extra_topics=["wismo.shadow"])
    finally:
        dep.close()

    shadow = out["wismo.shadow"]
    assert shadow, "the candidate decides differently somewhere"
    both = [d for d in shadow if d["live"] and d["candidate"]]  # the rest: evaluations only one policy made
    modes = [d for d in both if "mode" in d["differences"]]
    assert modes and all(d["live"]["mode"] == "live" and d["candidate"]["mode"] == "testing" for d in modes)
    stricter = [d for d in shadow if "condition_type" in d["differences"] and d["candidate"]]
    assert any(d["candidate"]["condition_type"] == "no_tracking_movement" for d in stricter)
    # Never sent: every record on the output topics is the live policy's (all live; the candidate would draft).
    assert not [n for n in out["wismo.notes"] if n.get("note_reason") == "testing_mode"], "no draft of the candidate"
    assert all(r["mode"] == "live" for t in ("wismo.replies", "wismo.notes", "wismo.escalations") for r in out[t])
    assert all(d["mode"] == "live" for d in out["wismo.decisions"])
    decisions = {d["decision_id"] for d in out["wismo.decisions"]}
    assert {d["decision_id"] for d in shadow if d["live"]} <= decisions
    compared = {dict(k)["outcome"]: v for k, v in metrics["wismo_shadow_comparisons_total"].items()}
    assert compared["different"] + compared.get("live_only", 0) + compared.get("candidate_only", 0) == len(shadow)
    assert compared.get("same", 0) + compared["different"] + compared.get("live_only", 0) == len(out["wismo.decisions"])
