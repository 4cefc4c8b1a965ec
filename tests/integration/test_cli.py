"""The ``wismo`` command line, run in-process on small event files (EVENTS.md "Replay")."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from wismo import cli
from wismo.cli import main
from wismo.policy import policy_from_mapping
from wismo.records import OUTPUT_TOPICS

ORDER = "A1001"
EVENTS: list[dict[str, Any]] = [
    {
        "event_id": "oms-1001",
        "source": "oms",
        "type": "order.placed",
        "order_id": ORDER,
        "occurred_at": "2026-11-02T09:00:00Z",
        "payload": {
            "order_number": "1001",
            "customer": {"id": "C1", "email": "ann@example.com", "name": "Ann Lee"},
            "items": [{"sku": "MUG-1", "title": "Blue mug", "qty": 2, "unit_price": 12.5}],
            "order_value": 25.0,
            "currency": "USD",
        },
    },
    {
        "event_id": "wms-5001",
        "source": "wms",
        "type": "fulfillment.created",
        "order_id": ORDER,
        "occurred_at": "2026-11-02T11:00:00Z",
        "payload": {"shipment_id": "S1", "items": [{"sku": "MUG-1", "qty": 2}]},
    },
    {
        "event_id": "wms-5002",
        "source": "wms",
        "type": "pick.completed",
        "order_id": ORDER,
        "occurred_at": "2026-11-02T13:00:00Z",
        "payload": {"shipment_id": "S1"},
    },
    {
        "event_id": "wms-77812",
        "source": "wms",
        "type": "label.created",
        "order_id": ORDER,
        "occurred_at": "2026-11-02T14:05:00Z",
        "payload": {
            "shipment_id": "S1",
            "carrier": "UPS",
            "tracking_number": "1Z999",
            "tracking_url": "https://www.ups.com/track?tracknum=1Z999",
        },
    },
    {
        "event_id": "ups-1",
        "source": "carrier",
        "type": "tracking.updated",
        "order_id": ORDER,
        "occurred_at": "2026-11-02T20:00:00Z",
        "payload": {
            "shipment_id": "S1",
            "status": "in_transit",
            "location": "Louisville, KY",
            "est_delivery_at": "2026-11-05T18:00:00Z",
        },
    },
    {
        "event_id": "zd-1",
        "source": "ticket",
        "type": "ticket.message",
        "order_id": ORDER,
        "occurred_at": "2026-11-03T09:30:00Z",
        "payload": {
            "ticket_id": "T-1",
            "channel": "email",
            "author": "customer",
            "public": True,
            "text": "Hi, where is my order? Thanks, Ann",
            "customer": {"id": "C1", "email": "ann@example.com"},
        },
    },
]
MALFORMED = '{"event_id": "wms-bad", "source": "wms", "type": "label.created", "order_id": "A1001"'


@pytest.fixture(autouse=True)
def _no_env_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WISMO_POLICY", raising=False)


def write_events(path: Path, events: Sequence[dict[str, Any]] = EVENTS, extra: Sequence[str] = ()) -> Path:
    lines = [json.dumps(e) for e in events] + list(extra)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_topic(out: Path, topic: str) -> list[dict[str, Any]]:
    text = (out / f"{topic}.ndjson").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def row_value(text: str, label: str) -> int:
    m = re.search(rf"^\s*{re.escape(label)}\s+([\d,]+)\s*$", text, re.MULTILINE)
    assert m is not None, f"no row {label!r} in:\n{text}"
    return int(m.group(1).replace(",", ""))


# ---- replay -------------------------------------------------------------------------------------


def test_replay_writes_every_topic_file_even_when_empty(tmp_path: Path) -> None:
    events = write_events(tmp_path / "in.ndjson", EVENTS[:1])
    out = tmp_path / "out"
    assert main(["replay", str(events), "--out", str(out), "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.ndjson" for t in OUTPUT_TOPICS)
    assert {t for t in OUTPUT_TOPICS if (out / f"{t}.ndjson").stat().st_size == 0} == set(OUTPUT_TOPICS) - {
        "wismo.decisions"
    }
    assert [d["caused_by"] for d in read_topic(out, "wismo.decisions")] == ["oms-1001"]


def test_live_mode_sends_the_reply(tmp_path: Path) -> None:
    events = write_events(tmp_path / "in.ndjson")
    out = tmp_path / "out"
    assert main(["replay", str(events), "--out", str(out), "--mode", "live", "--quiet"]) == 0
    replies = read_topic(out, "wismo.replies")
    assert [(r["kind"], r["mode"], r["ticket_id"], r["caused_by"]) for r in replies] == [
        ("reply", "live", "T-1", "zd-1")
    ]
    assert replies[0]["order_id"] == ORDER
    assert replies[0]["condition_type"] == "standard_in_transit"
    assert "1Z999" in str(replies[0]["text"])
    assert read_topic(out, "wismo.notes") == []
    decisions = read_topic(out, "wismo.decisions")
    assert len(decisions) == len(EVENTS)
    assert {d["mode"] for d in decisions} == {"live"}


def test_default_testing_mode_turns_the_reply_into_a_draft_note(tmp_path: Path) -> None:
    events = write_events(tmp_path / "in.ndjson")
    out = tmp_path / "out"
    assert main(["replay", str(events), "--out", str(out), "--quiet"]) == 0
    assert read_topic(out, "wismo.replies") == []
    notes = read_topic(out, "wismo.notes")
    assert len(notes) == 1
    note = notes[0]
    assert (note["kind"], note["mode"], note["draft"], note["draft_kind"]) == (
        "internal_note",
        "testing",
        True,
        "reply",
    )
    assert (note["ticket_id"], note["caused_by"]) == ("T-1", "zd-1")


def test_mode_flag_overrides_a_live_policy(tmp_path: Path) -> None:
    policy = tmp_path / "live.yaml"
    policy.write_text("modes:\n  default: live\n")
    events = write_events(tmp_path / "in.ndjson")
    live, testing = tmp_path / "live", tmp_path / "testing"
    assert main(["replay", str(events), "--out", str(live), "--policy", str(policy), "--quiet"]) == 0
    assert len(read_topic(live, "wismo.replies")) == 1
    assert (
        main(["replay", str(events), "--out", str(testing), "--policy", str(policy), "--mode", "testing", "--quiet"])
        == 0
    )
    assert read_topic(testing, "wismo.replies") == []
    assert len(read_topic(testing, "wismo.notes")) == 1


def test_policy_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = tmp_path / "live.yaml"
    policy.write_text("modes:\n  default: live\n")
    monkeypatch.setenv("WISMO_POLICY", str(policy))
    events = write_events(tmp_path / "in.ndjson")
    assert main(["replay", str(events), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert len(read_topic(tmp_path / "out", "wismo.replies")) == 1


def test_malformed_line_goes_to_the_dlq_with_the_original(tmp_path: Path) -> None:
    events = write_events(tmp_path / "in.ndjson", extra=[MALFORMED])
    out = tmp_path / "out"
    assert main(["replay", str(events), "--out", str(out), "--quiet"]) == 0
    dlq = read_topic(out, "wismo.dlq")
    assert len(dlq) == 1
    assert dlq[0]["original"] == MALFORMED
    assert dlq[0]["error_type"] == "malformed_json"
    assert dlq[0]["line"] == len(EVENTS) + 1
    assert str(dlq[0]["source_name"]).endswith("in.ndjson")
    assert len(read_topic(out, "wismo.decisions")) == len(EVENTS)  # the stream went on


def test_several_inputs_are_processed_in_order(tmp_path: Path) -> None:
    first = write_events(tmp_path / "a.ndjson", EVENTS[:3])
    second = write_events(tmp_path / "b.ndjson", EVENTS[3:] + EVENTS[:1])  # the last one is a redelivery
    out = tmp_path / "out"
    assert main(["replay", str(first), str(second), "--out", str(out), "--mode", "live"]) == 0
    assert [d["caused_by"] for d in read_topic(out, "wismo.decisions")] == [e["event_id"] for e in EVENTS]
    assert len(read_topic(out, "wismo.replies")) == 1


def test_replay_is_repeatable(tmp_path: Path) -> None:
    events = write_events(tmp_path / "in.ndjson", extra=[MALFORMED])
    for name in ("one", "two"):
        assert main(["replay", str(events), "--out", str(tmp_path / name), "--quiet"]) == 0
    for t in OUTPUT_TOPICS:
        assert (tmp_path / "one" / f"{t}.ndjson").read_bytes() == (tmp_path / "two" / f"{t}.ndjson").read_bytes()


def test_summary_table_has_the_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = write_events(tmp_path / "in.ndjson", EVENTS + EVENTS[-1:], extra=[MALFORMED])
    assert main(["replay", str(events), "--out", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    assert row_value(text, "events read") == len(EVENTS) + 2
    assert row_value(text, "duplicates dropped (event_id)") == 1
    assert row_value(text, "dead letters") == 1
    assert row_value(text, "malformed_json") == 1
    assert row_value(text, "evaluations") == len(EVENTS)
    assert row_value(text, "processing_within_sla") == 4
    assert row_value(text, "standard_in_transit") == 2
    assert row_value(text, "wismo.decisions") == len(EVENTS)
    assert row_value(text, "wismo.notes") == 1
    assert row_value(text, "wismo.replies") == 0
    assert row_value(text, "wismo.dlq") == 1
    assert row_value(text, "internal_note") == 1
    assert row_value(text, "of which drafts") == 1
    assert row_value(text, "reply") == 0
    assert row_value(text, "no_change") == len(EVENTS) - 1
    assert "events/s" in text


def test_summary_counts_escalations_by_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hold = {
        "event_id": "oms-h1",
        "source": "oms",
        "type": "order.hold_placed",
        "order_id": ORDER,
        "occurred_at": "2026-11-02T09:30:00Z",
        "payload": {"hold_type": "fraud_review"},
    }
    contact = dict(EVENTS[-1], occurred_at="2026-11-02T10:00:00Z")
    events = write_events(tmp_path / "in.ndjson", [EVENTS[0], hold, contact])
    out = tmp_path / "out"
    assert main(["replay", str(events), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    escalations = read_topic(out, "wismo.escalations")
    assert escalations, "a customer contact on a fraud hold is escalated"
    reasons: dict[str, int] = {}
    for e in escalations:
        for r in e["escalation_reasons"]:
            reasons[r] = reasons.get(r, 0) + 1
    assert row_value(text, "escalation") == len(escalations)
    section = text.split("Escalations by reason")[1].split("Suppressed by reason")[0]
    for reason, n in reasons.items():
        assert row_value(section, reason) == n
    assert row_value(text, "restricted_hold") >= 1


def test_quiet_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = write_events(tmp_path / "in.ndjson")
    assert main(["replay", str(events), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")


# ---- errors -------------------------------------------------------------------------------------


def test_bad_policy_exits_2_with_a_readable_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "bad.yaml"
    policy.write_text("thresholds:\n  first_scan_hour: 24\n  no_movement_hours: -1\n")
    events = write_events(tmp_path / "in.ndjson")
    out = tmp_path / "out"
    assert main(["replay", str(events), "--out", str(out), "--policy", str(policy)]) == 2
    err = capsys.readouterr().err
    assert str(policy) in err
    assert "thresholds.first_scan_hour" in err
    assert "thresholds.no_movement_hours" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_unreadable_policy_and_bad_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = write_events(tmp_path / "in.ndjson")
    assert main(["replay", str(events), "--out", str(tmp_path / "o"), "--policy", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read policy file" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("modes: [unclosed\n")
    assert main(["replay", str(events), "--out", str(tmp_path / "o"), "--policy", str(bad)]) == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_missing_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["replay", str(tmp_path / "missing.ndjson"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "input file not found" in err and "missing.ndjson" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["replay", "x.ndjson"]) == 2  # --out is required
    assert main(["replay", "x.ndjson", "--out", "o", "--mode", "shadow"]) == 2
    assert "--out" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert re.match(r"wismo \d+\.\d+", capsys.readouterr().out)


# ---- policy -------------------------------------------------------------------------------------


def test_policy_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("thresholds:\n  first_scan_hours: 12\nmodes:\n  default: live\n")
    assert main(["policy", "check", str(good)]) == 0
    assert capsys.readouterr().out.strip() == "ok"
    bad = tmp_path / "bad.yaml"
    bad.write_text("modes:\n  channels:\n    sms: {default: live}\n")
    assert main(["policy", "check", str(bad)]) == 2
    captured = capsys.readouterr()
    assert "sms" in captured.err and "ok" not in captured.out


def test_policy_show_prints_a_valid_policy(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "show"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    policy = policy_from_mapping(shown)
    assert policy.thresholds.first_scan_hours == 24
    assert policy.modes.default == "testing"


def test_policy_without_action_exits_2() -> None:
    assert main(["policy"]) == 2


# ---- backtest -----------------------------------------------------------------------------------


def labels_file(tmp_path: Path, labels: dict[str, str]) -> Path:
    p = tmp_path / "labels.json"
    p.write_text(json.dumps(labels))
    return p


def test_backtest_all_labels_match(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = write_events(tmp_path / "in.ndjson")
    labels = labels_file(
        tmp_path, {"oms-1001": "processing_within_sla", "ups-1": "standard_in_transit", "zd-1": "standard_in_transit"}
    )
    out = tmp_path / "out"
    assert main(["backtest", str(events), "--labels", str(labels), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "accuracy: 100.00% (3/3 correct" in text
    assert "Mismatches (0)" in text
    assert len(read_topic(out, "wismo.decisions")) == len(EVENTS)


def test_backtest_mismatch_fails_and_is_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = write_events(tmp_path / "in.ndjson")
    p = tmp_path / "labels.csv"
    p.write_text("event_id,condition\noms-1001,processing_within_sla\nzd-1,delivered\nnever-1,delivered\n")
    assert main(["backtest", str(events), "--labels", str(p)]) == 1
    text = capsys.readouterr().out
    assert "accuracy: 33.33% (1/3 correct" in text
    rows = text.split("Mismatches (2)")[1].splitlines()
    zd = next(r for r in rows if r.startswith("zd-1"))
    assert zd.split()[:4] == ["zd-1", ORDER, "delivered", "standard_in_transit"]
    assert "moving with current scans" in zd  # the decision's route_reason
    assert any(r.split()[:4] == ["never-1", "-", "delivered", "(none)"] for r in rows)


def test_backtest_min_accuracy(tmp_path: Path) -> None:
    events = write_events(tmp_path / "in.ndjson")
    labels = labels_file(tmp_path, {"oms-1001": "processing_within_sla", "zd-1": "delivered"})
    assert main(["backtest", str(events), "--labels", str(labels), "--min-accuracy", "0.5"]) == 0
    assert main(["backtest", str(events), "--labels", str(labels), "--min-accuracy", "50"]) == 0
    assert main(["backtest", str(events), "--labels", str(labels), "--min-accuracy", "0.51"]) == 1
    assert main(["backtest", str(events), "--labels", str(labels), "--min-accuracy", "150"]) == 2


def test_backtest_bad_labels_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = write_events(tmp_path / "in.ndjson")
    assert main(["backtest", str(events), "--labels", str(tmp_path / "none.json")]) == 2
    assert "cannot read label file" in capsys.readouterr().err
    odd = tmp_path / "labels.txt"
    odd.write_text("zd-1,delivered\n")
    assert main(["backtest", str(events), "--labels", str(odd)]) == 2
    assert "unknown label file type" in capsys.readouterr().err


def test_backtest_warns_about_unknown_conditions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = write_events(tmp_path / "in.ndjson")
    labels = labels_file(tmp_path, {"zd-1": "in_transit"})
    assert main(["backtest", str(events), "--labels", str(labels)]) == 1
    assert "unknown condition(s): in_transit" in capsys.readouterr().err


# ---- progress -----------------------------------------------------------------------------------


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal_and_large_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events = write_events(tmp_path / "in.ndjson")
    assert cli._want_progress([events], io.StringIO()) is None  # not a terminal
    assert cli._want_progress([events], FakeTty()) is None  # small input
    monkeypatch.setattr(cli, "PROGRESS_MIN_LINES", 3)
    assert cli._want_progress([events], FakeTty()) == events.stat().st_size


def test_progress_bar_draws_and_finishes() -> None:
    stream = FakeTty()
    bar = cli.ProgressBar(2000, stream, interval=0.0)
    bar(500, 1000)
    assert "[" + "#" * 15 + "-" * 15 + "]" in stream.getvalue()
    assert " 50.0%" in stream.getvalue()
    bar.finish(1000)
    assert stream.getvalue().endswith("\n")
    assert "100.0%" in stream.getvalue()
    throttled = FakeTty()
    slow = cli.ProgressBar(2000, throttled, interval=3600.0)
    slow(1, 10)
    slow(2, 20)  # within the interval: not redrawn
    assert throttled.getvalue().count("\r") == 1
