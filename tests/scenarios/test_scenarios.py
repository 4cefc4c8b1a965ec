"""Replayable scenarios (``scenarios/*.ndjson`` + ``*.expect.yaml``) and the example day (``examples/``).

Every scenario file is replayed with :func:`wismo.replay.replay_to_memory` and checked against its expect
file (format: ``scenarios/README.md``), plus checks that hold for every replay: the EVENTS.md common
fields on every action record, unique action ids, one audit decision per evaluation (and at least one
per accepted, non-duplicate input event), and determinism (a second replay yields identical output).

``WISMO_SCENARIOS=DIR pytest tests/scenarios`` runs the same checks over another folder of scenario files
(your own cases, or a backtest set kept outside the repo).
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections import Counter
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from wismo.conditions import PRECEDENCE
from wismo.pipeline import Output, Pipeline
from wismo.policy import Policy, policy_from_mapping
from wismo.replay import read_lines, replay_to_memory, run_lines

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = Path(os.environ.get("WISMO_SCENARIOS") or ROOT / "scenarios")
EXAMPLE_DAY = ROOT / "examples" / "day.ndjson"
EXAMPLE_LABELS = ROOT / "examples" / "day.labels.json"

Records = dict[str, list[dict[str, Any]]]

REPLIES, NOTES, ESCALATIONS, ACTIONS, DECISIONS, DLQ = (
    "wismo.replies",
    "wismo.notes",
    "wismo.escalations",
    "wismo.actions",
    "wismo.decisions",
    "wismo.dlq",
)
ACTION_TOPICS = (REPLIES, NOTES, ESCALATIONS, ACTIONS)
ALL_TOPICS = (*ACTION_TOPICS, DECISIONS, DLQ)
KINDS_BY_TOPIC = {
    REPLIES: {"reply", "proactive_update"},
    NOTES: {"internal_note"},
    ESCALATIONS: {"escalation"},
    ACTIONS: {"action_draft"},
}
COMMON_FIELDS = (  # EVENTS.md "Every record on the first four topics has"
    "action_id",
    "kind",
    "mode",
    "case_id",
    "order_id",
    "ticket_id",
    "condition_type",
    "recommended_action",
    "escalation_reasons",
    "text",
    "caused_by",
    "created_at",
)
CONTRACT_FIELDS = (  # "plus the rest of the specialist contract (SPEC section 4)"
    "customer_safe_summary",
    "internal_summary",
    "customer_options",
    "follow_up_reason",
    "next_follow_up_due_at",
    "confidence",
)
RECOMMENDED_ACTIONS = {"answer", "monitor", "trace", "investigate", "replacement_review", "refund_review", "escalate"}
CUSTOMER_OPTIONS = {
    "wait",
    "cancel",
    "alternate_item",
    "address_correction",
    "hold_for_pickup",
    "reattempt",
    "replacement",
    "refund",
}
ESCALATION_FIELDS = (  # SPEC §7: what an escalation carries
    "escalation_id",
    "order_facts",
    "customer_impact",
    "requested_decision",
    "decision_options",
    "deadline",
    "answer_via",
)
DECISION_FIELDS = (
    "decision_id",
    "case_id",
    "order_id",
    "condition_type",
    "handler",
    "recommended_action",
    "escalation_reasons",
    "mode",
    "caused_by",
    "evaluated_at",
    "suppressed",
    "action_ids",
)
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$")

EXPECT_KEYS = {"description", "source", "mode", "policy", "xfail", "expect", "totals", "dlq", "notes"}
STEP_KEYS = {
    "caused_by",
    "where",
    "order_id",
    "condition_type",
    "decisions",
    "suppressed",
    "trigger",
    "recommended_action",
    "escalation_reasons_include",
    "escalation_reasons_exclude",
    "records",
    "no_records_except_decision",
    "no_decision",
}
RECORD_KEYS = {"kind", "text_contains", "text_not_contains", "text_regex", "fields", "reasons_include"}


# ---- loading ------------------------------------------------------------------------------------


def default_policy_dict() -> dict[str, Any]:
    text = resources.files("wismo").joinpath("default_policy.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` merged in: nested mappings merge, anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_expect(path: Path) -> dict[str, Any]:
    expect_path = path.with_name(path.stem + ".expect.yaml")
    assert expect_path.exists(), f"{path.name}: missing expect file {expect_path.name}"
    data = yaml.safe_load(expect_path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{expect_path.name}: expected a mapping"
    unknown = set(data) - EXPECT_KEYS
    assert not unknown, f"{expect_path.name}: unknown keys {sorted(unknown)}"
    return data


def scenario_policy(expect: dict[str, Any]) -> Policy:
    """Default policy + the scenario's overrides; ``mode`` live/testing overrides every channel and
    condition (like ``--mode``), except that when the scenario's policy sets per-channel or per-condition
    modes, ``mode`` is only the default they override; ``mode: policy`` keeps the policy's own modes (e.g.
    the kill switch)."""
    overrides = expect.get("policy") or {}
    mode = expect.get("mode", "policy")
    own_modes = overrides.get("modes") or {}
    if mode in ("live", "testing") and (own_modes.get("channels") or own_modes.get("conditions")):
        overrides = deep_merge(overrides, {"modes": {"default": mode}})
        mode = "policy"
    policy = policy_from_mapping(deep_merge(default_policy_dict(), overrides))
    if mode in ("live", "testing"):
        return policy.with_mode_override(mode)
    assert mode == "policy", f"mode must be live, testing or policy, got {mode!r}"
    return policy


def scenario_params() -> list[Any]:
    params = []
    for path in sorted(SCENARIOS.glob("*.ndjson")):
        try:
            expect = load_expect(path)
        except (AssertionError, yaml.YAMLError):
            expect = {}  # reported by the test itself, not at collection
        marks = []
        if expect.get("xfail"):
            marks.append(pytest.mark.xfail(reason=str(expect["xfail"]), strict=True))
        params.append(pytest.param(path, id=path.stem, marks=marks))
    return params


def run_pipeline(paths: list[Path], policy: Policy) -> tuple[Records, Pipeline]:
    """Replay through a :class:`Pipeline` we hold, so its run statistics can be checked too."""
    pipeline = Pipeline(policy)
    out: Records = {t: [] for t in ALL_TOPICS}

    def sink(outputs: list[Output]) -> None:
        for topic, rec in outputs:
            out[topic].append(rec.model_dump(mode="json"))

    run_lines(pipeline, read_lines(paths), sink)
    return out, pipeline


def input_lines(path: Path) -> list[tuple[int, str]]:
    lines = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if raw.strip():
            lines.append((n, raw.strip()))
    return lines


# ---- checks valid for every replay ----------------------------------------------------------------


def _aware(value: Any, where: str) -> None:
    assert isinstance(value, str) and RFC3339.match(value), f"{where}: not an RFC 3339 time with offset: {value!r}"
    assert datetime.fromisoformat(value.replace("Z", "+00:00")).utcoffset() is not None


def check_record_contract(out: Records) -> None:
    for topic in ACTION_TOPICS:
        for rec in out[topic]:
            where = f"{topic} {rec.get('action_id')}"
            missing = [f for f in (*COMMON_FIELDS, *CONTRACT_FIELDS) if f not in rec]
            assert not missing, f"{where}: missing fields {missing}"
            assert rec["kind"] in KINDS_BY_TOPIC[topic], f"{where}: kind {rec['kind']!r} on {topic}"
            assert rec["mode"] in ("live", "testing"), where
            assert isinstance(rec["action_id"], str) and rec["action_id"], where
            assert isinstance(rec["case_id"], str) and rec["case_id"], where
            assert rec["condition_type"] in PRECEDENCE, where
            assert rec["recommended_action"] in RECOMMENDED_ACTIONS, where
            assert isinstance(rec["escalation_reasons"], list), where
            assert isinstance(rec["text"], str) and rec["text"].strip(), f"{where}: empty text"
            assert isinstance(rec["caused_by"], str) and rec["caused_by"], where
            assert rec["confidence"] in ("high", "medium", "low"), where
            assert set(rec["customer_options"]) <= CUSTOMER_OPTIONS, where
            _aware(rec["created_at"], f"{where}.created_at")
            if rec["next_follow_up_due_at"] is not None:
                _aware(rec["next_follow_up_due_at"], f"{where}.next_follow_up_due_at")
            if topic == REPLIES:
                assert rec["mode"] == "live", f"{where}: a testing-mode record on {REPLIES}"
            if topic == ESCALATIONS:
                missing = [f for f in ESCALATION_FIELDS if rec.get(f) in (None, "", [], {})]
                assert not missing, f"{where}: escalation lacks {missing}"
                assert rec["escalation_id"] == rec["action_id"], where
                assert rec["escalation_reasons"], f"{where}: escalation without a reason"
            if topic == ACTIONS:
                assert rec["approval_state"] != "approved" or rec.get("draft_of"), (
                    f"{where}: a draft approved without a reviewer decision"
                )
    for rec in out[DECISIONS]:
        missing = [f for f in DECISION_FIELDS if f not in rec]
        assert not missing, f"decision {rec.get('decision_id')}: missing fields {missing}"
        assert rec["condition_type"] in PRECEDENCE
        _aware(rec["evaluated_at"], f"decision {rec['decision_id']}.evaluated_at")


def check_ids(out: Records) -> None:
    action_ids = [r["action_id"] for t in ACTION_TOPICS for r in out[t]]
    dupes = [a for a, n in Counter(action_ids).items() if n > 1]
    assert not dupes, f"action_ids repeated: {dupes}"
    decision_ids = [r["decision_id"] for r in out[DECISIONS]]
    dupes = [a for a, n in Counter(decision_ids).items() if n > 1]
    assert not dupes, f"decision_ids repeated: {dupes}"
    # the audit trail explains every record: each action is listed by the decision of its evaluation
    listed = {a: d for d in out[DECISIONS] for a in d["action_ids"]}
    for topic in ACTION_TOPICS:
        for rec in out[topic]:
            d = listed.get(rec["action_id"])
            assert d is not None, f"{topic} {rec['action_id']} is not listed by any decision"
            assert d["caused_by"] == rec["caused_by"] and d["case_id"] == rec["case_id"]
    assert set(listed) == set(action_ids), "a decision lists an action id that was never written"


def _event_id(raw: str) -> str | None:
    """The line's event id, or None for a line that is not a JSON object with a string id."""
    try:
        obj = json.loads(raw)
    except ValueError:
        return None
    eid = obj.get("event_id") if isinstance(obj, dict) else None
    return eid if isinstance(eid, str) else None


def check_evaluations(path: Path, out: Records, pipeline: Pipeline, no_decision: set[str]) -> None:
    """One decision per evaluation; at least one per accepted input event that is not a duplicate."""
    assert pipeline.stats.evaluations == len(out[DECISIONS])
    dlq_lines = {r["line"] for r in out[DLQ] if r.get("line") is not None}
    dlq_events = {r["event_id"] for r in out[DLQ] if r.get("event_id")}
    by_cause = Counter(d["caused_by"] for d in out[DECISIONS])
    seen: set[str] = set()
    for n, raw in input_lines(path):
        if n in dlq_lines:
            continue
        event_id = json.loads(raw)["event_id"]
        if event_id in seen or event_id in dlq_events or event_id in no_decision:
            seen.add(event_id)
            continue
        seen.add(event_id)
        assert by_cause[event_id] >= 1, f"line {n}: accepted event {event_id!r} produced no decision"


# ---- expectations -------------------------------------------------------------------------------


def _text_ok(rec: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    problems = []
    text = rec.get("text") or ""
    low = text.lower()
    for s in spec.get("text_contains") or []:
        if s.lower() not in low:
            problems.append(f"text lacks {s!r}")
    for s in spec.get("text_not_contains") or []:
        if s.lower() in low:
            problems.append(f"text contains {s!r}")
    for rx in spec.get("text_regex") or []:
        if re.search(rx, text) is None:
            problems.append(f"text does not match /{rx}/")
    return problems


def record_problems(rec: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    unknown = set(spec) - RECORD_KEYS
    assert not unknown, f"unknown record expectation keys {sorted(unknown)}"
    problems = []
    if "kind" in spec and rec.get("kind") != spec["kind"]:
        problems.append(f"kind {rec.get('kind')!r} != {spec['kind']!r}")
    for key, value in (spec.get("fields") or {}).items():
        if rec.get(key) != value:
            problems.append(f"{key}={rec.get(key)!r} != {value!r}")
    missing = set(spec.get("reasons_include") or []) - set(rec.get("escalation_reasons") or [])
    if missing:
        problems.append(f"escalation_reasons {rec.get('escalation_reasons')} lack {sorted(missing)}")
    return problems + _text_ok(rec, spec)


def match_records(actual: list[dict[str, Any]], specs: list[dict[str, Any]], where: str) -> None:
    """Exactly the listed records, in any order: each spec matches a different record."""
    brief = [(r.get("kind"), r.get("text", "")[:160]) for r in actual]
    assert len(actual) == len(specs), f"{where}: {len(actual)} record(s), expected {len(specs)}: {brief}"

    def assign(i: int, used: frozenset[int]) -> bool:
        if i == len(specs):
            return True
        return any(
            j not in used and not record_problems(actual[j], specs[i]) and assign(i + 1, used | {j})
            for j in range(len(actual))
        )

    if not assign(0, frozenset()):

        def closest(spec: dict[str, Any]) -> str:
            problems = sorted((record_problems(r, spec) for r in actual), key=len)
            return "; ".join(problems[0]) if problems and problems[0] else "matches, but another spec needs it"

        details = [f"  expected #{i}: {closest(spec)}" for i, spec in enumerate(specs)]
        texts = "\n".join(f"  actual {r.get('kind')}: {r.get('text')!r}" for r in actual)
        raise AssertionError(f"{where}: records do not match\n" + "\n".join(details) + "\n" + texts)


def select_decisions(out: Records, step: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The decisions a step is about: by ``caused_by`` (optionally narrowed by ``order_id``), or by
    ``where`` (decision fields that must all be equal: use it for evaluations whose cause is an engine
    detail, e.g. a follow-up the pipeline fires, or a clock tick standing in for one)."""
    assert ("caused_by" in step) != ("where" in step), "a step needs exactly one of caused_by / where"
    if "caused_by" in step:
        cause = step["caused_by"]
        found = [d for d in out[DECISIONS] if d["caused_by"] == cause]
        if "order_id" in step:
            found = [d for d in found if d["order_id"] == step["order_id"]]
        return f"caused_by={cause}", found
    where = step["where"]
    assert isinstance(where, dict) and where, "where must be a non-empty mapping of decision fields"
    found = [d for d in out[DECISIONS] if all(d.get(k) == v for k, v in where.items())]
    return f"where={where}", found


def check_step(out: Records, step: dict[str, Any], redelivered: frozenset[str] = frozenset()) -> None:
    """Check one step. ``redelivered``: event ids the input holds more than once; a ``no_decision`` step for
    one of them is about the redelivery, which must not be evaluated a second time: exactly one evaluation
    (the first copy's, whose records other steps may check)."""
    unknown = set(step) - STEP_KEYS
    assert not unknown, f"unknown step keys {sorted(unknown)}"
    where, decisions = select_decisions(out, step)
    action_ids = {a for d in decisions for a in d["action_ids"]}

    def mine(topic: str) -> list[dict[str, Any]]:
        return [r for r in out[topic] if r["action_id"] in action_ids]

    if step.get("no_decision"):
        assert "caused_by" in step, "no_decision needs caused_by"
        if step["caused_by"] in redelivered:
            assert len(decisions) == 1, f"{where}: a redelivered event evaluated {len(decisions)} times, expected once"
            return
        assert not decisions, f"{where}: expected no evaluation, got {[d['condition_type'] for d in decisions]}"
        for topic in ACTION_TOPICS:
            got = [
                r
                for r in out[topic]
                if r["caused_by"] == step["caused_by"] and r["order_id"] == step.get("order_id", r["order_id"])
            ]
            assert not got, f"{where}: expected nothing, got records on {topic}"
        return
    assert decisions, f"{where}: no decision record"
    if "decisions" in step:
        assert len(decisions) == step["decisions"], f"{where}: {len(decisions)} decisions, expected {step['decisions']}"
    for d in decisions:
        for key in ("condition_type", "suppressed", "trigger", "recommended_action"):
            if key in step:
                assert d[key] == step[key], f"{where}: decision {key}={d[key]!r}, expected {step[key]!r}"
        missing = set(step.get("escalation_reasons_include") or []) - set(d["escalation_reasons"])
        assert not missing, f"{where}: escalation_reasons {d['escalation_reasons']} lack {sorted(missing)}"
        extra = set(step.get("escalation_reasons_exclude") or []) & set(d["escalation_reasons"])
        assert not extra, f"{where}: escalation_reasons {d['escalation_reasons']} include {sorted(extra)}"
    if step.get("no_records_except_decision"):
        for topic in ACTION_TOPICS:
            got = mine(topic)
            assert not got, f"{where}: expected only the decision, got {[(r['kind'], r['text'][:80]) for r in got]}"
    for topic, specs in (step.get("records") or {}).items():
        assert topic in ACTION_TOPICS, f"{where}: unknown topic {topic}"
        match_records(mine(topic), specs or [], f"{where} {topic}")


def check_dlq(out: Records, specs: list[dict[str, Any]], path: Path) -> None:
    raw_by_line = dict(input_lines(path))
    assert len(out[DLQ]) == len(specs), f"{len(out[DLQ])} dead letters, expected {len(specs)}: " + str(
        [r["reason"] for r in out[DLQ]]
    )
    for rec in out[DLQ]:
        assert rec["reason"], "dead letter without a reason"
        if rec.get("line") is not None:
            assert rec["original"] == raw_by_line[rec["line"]], "dead letter does not carry the original line"
    remaining = list(out[DLQ])
    for spec in specs:
        found = None
        for rec in remaining:
            if "line" in spec and rec.get("line") != spec["line"]:
                continue
            if "event_id" in spec and rec.get("event_id") != spec["event_id"]:
                continue
            if "error_type" in spec and rec.get("error_type") != spec["error_type"]:
                continue
            if any(s.lower() not in rec["reason"].lower() for s in spec.get("reason_contains") or []):
                continue
            found = rec
            break
        assert found is not None, f"no dead letter matches {spec}; got {[(r['line'], r['reason']) for r in out[DLQ]]}"
        remaining.remove(found)


@pytest.mark.parametrize("path", scenario_params())
def test_scenario(path: Path) -> None:
    expect = load_expect(path)
    policy = scenario_policy(expect)
    out = replay_to_memory([path], policy)
    assert set(out) >= set(ALL_TOPICS)

    again = replay_to_memory([path], policy)
    assert again == out, "replaying the same input twice gave different output"
    held, pipeline = run_pipeline([path], policy)
    assert held == {t: out[t] for t in ALL_TOPICS}

    check_record_contract(out)
    check_ids(out)
    steps = expect.get("expect") or []
    no_decision = {s["caused_by"] for s in steps if s.get("no_decision")}
    ids = Counter(e for _, raw in input_lines(path) if (e := _event_id(raw)) is not None)
    redelivered = frozenset(e for e, n in ids.items() if n > 1)
    check_evaluations(path, out, pipeline, no_decision)
    uniform = not policy.modes.channels and not policy.modes.conditions
    if (expect.get("mode") == "testing" and uniform) or policy.modes.kill_switch:
        assert not out[REPLIES], "testing mode and the kill switch never write to wismo.replies"

    for step in steps:
        check_step(out, step, redelivered)
    for topic, n in (expect.get("totals") or {}).items():
        assert len(out[topic]) == n, f"{topic}: {len(out[topic])} records, expected {n}"
    check_dlq(out, expect.get("dlq") or [], path)


def _without_mode(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "mode"} for r in records]


@pytest.mark.parametrize("path", scenario_params())
def test_testing_mode_is_a_faithful_shadow_of_live(path: Path) -> None:
    """SPEC §8: testing mode decides exactly as live and only changes where the customer message goes: the
    same decisions, escalations, drafts and dead letters, and each live message is a draft note with the same
    action id and text."""
    base = policy_from_mapping(deep_merge(default_policy_dict(), load_expect(path).get("policy") or {}))
    live = replay_to_memory([path], base.with_mode_override("live"))
    testing = replay_to_memory([path], base.with_mode_override("testing"))
    for topic in (DECISIONS, ESCALATIONS, ACTIONS, DLQ):
        assert _without_mode(testing[topic]) == _without_mode(live[topic]), topic

    def drafted(notes: list[dict[str, Any]]) -> dict[str, str]:
        return {r["action_id"]: r["text"] for r in notes if r.get("note_reason") == "testing_mode"}

    # live: the messages sent, plus those the kill switch turned into drafts
    assert drafted(testing[NOTES]) == {r["action_id"]: r["text"] for r in live[REPLIES]} | drafted(live[NOTES])
    assert not testing[REPLIES]


def test_every_scenario_has_an_input_file() -> None:
    stems = {p.stem for p in SCENARIOS.glob("*.ndjson")}
    orphans = sorted(p.name for p in SCENARIOS.glob("*.expect.yaml") if p.name[: -len(".expect.yaml")] not in stems)
    assert not orphans, f"expect files without a scenario: {orphans}"
    assert stems, "no scenarios found"


# ---- the example day ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example_day() -> tuple[Records, Pipeline]:
    policy = policy_from_mapping(default_policy_dict()).with_mode_override("live")
    return run_pipeline([EXAMPLE_DAY], policy)


def test_example_day_covers_every_condition(example_day: tuple[Records, Pipeline]) -> None:
    out, pipeline = example_day
    seen = {d["condition_type"] for d in out[DECISIONS]}
    assert set(PRECEDENCE) <= seen, f"conditions never routed: {sorted(set(PRECEDENCE) - seen)}"
    check_record_contract(out)
    check_ids(out)
    forwarded = {
        json.loads(raw)["event_id"] for _, raw in input_lines(EXAMPLE_DAY) if raw.startswith('{"event_id": "aftership-')
    }
    assert forwarded and pipeline.stats.duplicate_status >= len(forwarded)
    check_evaluations(EXAMPLE_DAY, out, pipeline, forwarded)  # the same scan forwarded twice: dropped
    assert out[DLQ], "the example day includes malformed lines"
    assert pipeline.stats.duplicates + pipeline.stats.duplicate_status > 0, "the example day includes duplicates"
    assert EXAMPLE_DAY.stat().st_size < 1_000_000
    assert {r["channel"] for r in out[REPLIES] if r["kind"] == "reply"} >= {"chat", "email", "ticket"}
    approved = [r for r in out[ACTIONS] if r["approval_state"] == "approved"]
    assert approved, "the reviewer decision in the example day answers an escalation"


def test_example_day_is_sorted_by_event_time() -> None:
    times = []
    for _, raw in input_lines(EXAMPLE_DAY):
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("occurred_at"), str) and RFC3339.match(obj["occurred_at"]):
            times.append(datetime.fromisoformat(obj["occurred_at"].replace("Z", "+00:00")))
    assert times == sorted(times)


def test_example_day_labels_match(example_day: tuple[Records, Pipeline]) -> None:
    out, _ = example_day
    labels = json.loads(EXAMPLE_LABELS.read_text(encoding="utf-8"))
    assert isinstance(labels, dict) and labels
    assert set(labels.values()) <= set(PRECEDENCE)
    predicted: dict[str, str] = {}
    for d in out[DECISIONS]:
        predicted.setdefault(d["caused_by"], d["condition_type"])
    mismatches = {e: (c, predicted.get(e)) for e, c in labels.items() if predicted.get(e) != c}
    assert not mismatches, f"label mismatches (event: expected, predicted): {mismatches}"
