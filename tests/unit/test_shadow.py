"""Shadow comparison (wismo.shadow) over real replays of one scenario under two policies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from wismo.pipeline import Pipeline
from wismo.policy import Policy, load_policy, policy_from_mapping
from wismo.records import record_json
from wismo.replay import read_lines, run_lines
from wismo.shadow import ShadowStats, compare

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def records(policy: Policy, name: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    pipeline = Pipeline(policy)
    run_lines(
        pipeline, read_lines([SCENARIOS / name]), lambda outs: got.extend(orjson.loads(record_json(r)) for _, r in outs)
    )
    return got


def test_identical_policies_agree_everywhere() -> None:
    live = records(load_policy(None), "batch_08_carrier_no_movement.ndjson")
    stats = ShadowStats()
    assert compare(live, live, stats) == []
    assert stats.compared["same"] == sum(1 for r in live if "decision_id" in r) > 0


def test_a_candidate_going_live_shows_where_it_would_send() -> None:
    name = "batch_08_carrier_no_movement.ndjson"
    live = records(load_policy(None), name)  # testing mode: drafts only
    candidate = records(load_policy(None).with_mode_override("live"), name)
    stats = ShadowStats()
    diffs = compare(live, candidate, stats)
    assert diffs and stats.compared["different"] == len(diffs)
    d = diffs[0]
    assert "mode" in d["differences"] and d["live"]["mode"] == "testing" and d["candidate"]["mode"] == "live"
    if "kinds" in d["differences"]:
        assert any(k.startswith("draft_") for k in d["live"]["kinds"])


def test_a_lenient_threshold_never_finds_the_condition_the_live_policy_found() -> None:
    name = "batch_08_carrier_no_movement.ndjson"
    live = records(load_policy(None), name)
    lenient = policy_from_mapping({"thresholds": {"no_movement_hours": 500}})
    diffs = compare(live, records(lenient, name))
    changed = [d for d in diffs if d["live"] and d["live"]["condition_type"] == "no_tracking_movement"]
    assert changed, "the live policy's no-movement evaluations are reported"
    for d in changed:  # the candidate evaluated the same event differently, or had no such evaluation at all
        assert d["candidate"] is None or d["candidate"]["condition_type"] != "no_tracking_movement"
