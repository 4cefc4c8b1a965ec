"""``wismo report``: figures from small hand-built record sets (the numbers a user would check), the HTML is
well-formed and self-contained, bad input never crashes, and the CLI's errors."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import orjson
import pytest

from wismo.cli import main
from wismo.records import (
    OUTPUT_TOPICS,
    TOPIC_ACTIONS,
    TOPIC_DECISIONS,
    TOPIC_DLQ,
    TOPIC_ESCALATIONS,
    TOPIC_NOTES,
    TOPIC_REPLIES,
    ActionDraftRecord,
    ActionRecord,
    DeadLetter,
    DecisionRecord,
    EscalationRecord,
)
from wismo.report import Figures, bucket_start, build_figures, choose_unit
from wismo.report_html import CHARTS, fmt_delta, nice_ticks, render_report
from wismo.report_source import ReportSourceError, read_dir

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def t(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


_seq = 0


def _next(prefix: str) -> str:
    global _seq
    _seq += 1
    return f"{prefix}_{_seq:04d}"


def dec(
    case: str,
    condition: str,
    h: float,
    *,
    due: float | None = None,
    mode: str = "live",
    suppressed: str | None = None,
    action_ids: list[str] | None = None,
    kill_switch: bool = False,
) -> dict[str, Any]:
    """A valid ``wismo.decisions`` record (checked against the model), as JSON."""
    rec = DecisionRecord(
        decision_id=_next("dec"),
        case_id=case,
        order_id=case.removeprefix("WC-").rsplit("-", 1)[0],
        condition_type=condition,
        handler="h",
        recommended_action="monitor",
        escalation_reasons=[],
        mode=mode,
        caused_by=_next("ev"),
        evaluated_at=t(h),
        suppressed=suppressed,
        action_ids=action_ids or [],
        next_follow_up_due_at=t(due) if due is not None else None,
        kill_switch=kill_switch,
    )
    out: dict[str, Any] = orjson.loads(rec.model_dump_json())
    return out


def act(kind: str, case: str, condition: str, h: float, **extra: Any) -> dict[str, Any]:
    """A valid action record of ``kind`` (escalations as :class:`EscalationRecord`), as JSON."""
    aid = extra.pop("action_id", None) or _next("act")
    base: dict[str, Any] = {
        "action_id": aid,
        "kind": kind,
        "mode": extra.pop("mode", "live"),
        "case_id": case,
        "order_id": case.removeprefix("WC-").rsplit("-", 1)[0],
        "ticket_id": None,
        "condition_type": condition,
        "recommended_action": "answer",
        "escalation_reasons": extra.pop("escalation_reasons", []),
        "text": "text",
        "caused_by": _next("ev"),
        "created_at": t(h),
        "customer_safe_summary": "",
        "internal_summary": "",
        "customer_options": [],
        "follow_up_reason": None,
        "next_follow_up_due_at": None,
        "confidence": "high",
        **extra,
    }
    if kind == "escalation":
        rec: ActionRecord = EscalationRecord(
            **base,
            escalation_id=aid,
            team="cx",
            priority="normal",
            order_facts={},
            customer_impact="",
            requested_decision="",
            decision_options=["approved"],
            deadline=t(h + 24),
            answer_via="review.decision",
        )
    elif kind == "action_draft":
        rec = ActionDraftRecord(**base)
    else:
        rec = ActionRecord(**base)
    out: dict[str, Any] = orjson.loads(rec.model_dump_json())
    return out


def dead(error_type: str) -> dict[str, Any]:
    out: dict[str, Any] = orjson.loads(
        DeadLetter(dlq_id=_next("dlq"), reason="r", error_type=error_type, original="x").model_dump_json()
    )
    return out


def records(*recs: tuple[str, Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {topic: [] for topic in OUTPUT_TOPICS}
    for topic, rec in recs:
        out[topic].append(rec)
    return out


TOPIC_OF_KIND = {
    "reply": TOPIC_REPLIES,
    "proactive_update": TOPIC_REPLIES,
    "internal_note": TOPIC_NOTES,
    "escalation": TOPIC_ESCALATIONS,
    "action_draft": TOPIC_ACTIONS,
}


def A(kind: str, case: str, condition: str, h: float, **extra: Any) -> tuple[str, dict[str, Any]]:
    return TOPIC_OF_KIND[kind], act(kind, case, condition, h, **extra)


def D(case: str, condition: str, h: float, **kw: Any) -> tuple[str, dict[str, Any]]:
    return TOPIC_DECISIONS, dec(case, condition, h, **kw)


# ---- figures ------------------------------------------------------------------------------------------------


def test_escalation_rate_is_escalated_cases_over_cases_in_the_condition():
    recs = records(
        *[D(f"WC-F{i}-1", "delivery_failed", i) for i in range(4)],
        D("WC-F0-1", "delivery_failed", 5),  # a second evaluation of the same case: still one case
        A("escalation", "WC-F0-1", "delivery_failed", 5, escalation_reasons=["carrier_investigation"]),
        A("escalation", "WC-F0-1", "delivery_failed", 6),  # escalated twice: still one escalated case
        D("WC-B1-1", "supplier_backorder", 1),
        D("WC-B2-1", "supplier_backorder", 2),
        A("escalation", "WC-B1-1", "supplier_backorder", 1),
        A("escalation", "WC-B2-1", "supplier_backorder", 2),
        D("WC-T1-1", "standard_in_transit", 1),
    )
    rows = {r.condition: r for r in build_figures(recs).escalation}

    assert (rows["delivery_failed"].cases, rows["delivery_failed"].escalated_cases) == (4, 1)
    assert rows["delivery_failed"].rate == pytest.approx(0.25)
    assert (rows["delivery_failed"].evaluations, rows["delivery_failed"].escalations) == (5, 2)
    assert rows["supplier_backorder"].rate == pytest.approx(1.0)
    assert rows["standard_in_transit"].rate == 0.0
    assert list(rows) == ["delivery_failed", "supplier_backorder", "standard_in_transit"]  # SPEC §3 precedence


def test_follow_up_timeliness_matches_each_checkpoint_to_the_decision_that_answers_it():
    reply = act("proactive_update", "WC-A-1", "delivery_failed", 0)
    recs = records(
        # A: checkpoint 10:00 set with a customer message, answered exactly at 10:00 -> on time
        (TOPIC_REPLIES, reply),
        D("WC-A-1", "delivery_failed", 0, due=2, action_ids=[reply["action_id"]]),
        D("WC-A-1", "delivery_failed", 2),
        # B: due 10:00, next decision at 12:00 -> late by 2 h
        D("WC-B-1", "no_tracking_movement", 0, due=2),
        D("WC-B-1", "no_tracking_movement", 4),
        # C: due 10:00, no later decision while the data runs to 14:00 -> missed
        D("WC-C-1", "warehouse_pick_delay", 0, due=2),
        # D: due after the end of the data -> pending (not judged)
        D("WC-D-1", "supplier_backorder", 1, due=30),
        # E: a decision before the due time that carries the same checkpoint does not answer it -> late
        D("WC-E-1", "partial_shipment", 0, due=2),
        D("WC-E-1", "partial_shipment", 1, due=2),
        D("WC-E-1", "partial_shipment", 3, due=20),
        # F: replaced before the due time (case closed) -> on time
        D("WC-G-1", "standard_in_transit", 0, due=5),
        D("WC-G-1", "delivered", 1),
        D("WC-H-1", "processing_within_sla", 6),  # the data runs to 14:00
    )
    fu = build_figures(recs).follow_ups
    by_case: dict[str, list[Any]] = {}
    for c in fu.commitments:
        by_case.setdefault(c.case_id, []).append(c)
    a, b, c, d, g = (by_case[k][0] for k in ("WC-A-1", "WC-B-1", "WC-C-1", "WC-D-1", "WC-G-1"))
    e_first, e_second = by_case["WC-E-1"]

    assert a.outcome == "on_time" and a.with_message and a.answered_at == t(2)
    assert b.outcome == "late" and b.lateness == timedelta(hours=2)
    assert c.outcome == "missed" and c.answered_at is None
    assert d.outcome == "pending"
    assert e_first.outcome == "late" and e_first.answered_at == t(3)
    assert e_second.outcome == "pending" and e_second.due == t(20)
    assert g.outcome == "on_time" and g.answered_at == t(1)
    assert fu.counts() == {"on_time": 2, "late": 2, "missed": 1, "pending": 2}
    assert fu.on_time_share() == pytest.approx(2 / 5)
    assert fu.counts(with_message_only=True) == {"on_time": 1, "late": 0, "missed": 0, "pending": 0}
    assert fu.on_time_share(with_message_only=True) == 1.0


def test_time_to_first_update_counts_sent_messages_and_testing_drafts_only():
    recs = records(
        # X: a reply before the exception does not count; the proactive update 1.5 h after it does
        A("reply", "WC-X-1", "processing_within_sla", 0),
        D("WC-X-1", "processing_within_sla", 0),
        D("WC-X-1", "delivery_failed", 2),
        A("proactive_update", "WC-X-1", "delivery_failed", 3.5),
        D("WC-X-1", "delivery_failed", 4),  # still the same exception after the update: no new episode
        A("proactive_update", "WC-X-1", "delivery_failed", 9),
        # Y: testing mode: the draft note of a proactive update counts, at once
        D("WC-Y-1", "label_created_no_pickup", 1, mode="testing"),
        A(
            "internal_note",
            "WC-Y-1",
            "label_created_no_pickup",
            1,
            mode="testing",
            draft=True,
            draft_kind="proactive_update",
            note_reason="testing_mode",
        ),
        # Z: the only text was withheld by the guardrail -> no update yet
        D("WC-Z-1", "delivery_failed", 4),
        A(
            "internal_note",
            "WC-Z-1",
            "delivery_failed",
            4,
            draft=True,
            draft_kind="proactive_update",
            note_reason="guardrail_failed",
            guardrail_violations=["generic_window: 3-5 business days"],
        ),
        # W: no exception at all (a split shipment is not a backend exception) -> not in the figure
        D("WC-W-1", "standard_in_transit", 1),
        D("WC-W-1", "partial_shipment", 2),
        A("reply", "WC-W-1", "partial_shipment", 2),
        # V: movement resumed before anybody told the customer -> cleared first
        D("WC-V-1", "no_tracking_movement", 1),
        D("WC-V-1", "standard_in_transit", 3),
        # U: failed attempt, then return to sender, updated only at 4 h: one episode of 3 h from the first;
        # after that update a new exception condition starts a second episode, answered at once
        D("WC-U-1", "delivery_failed", 1),
        D("WC-U-1", "return_to_sender", 2),
        A("proactive_update", "WC-U-1", "return_to_sender", 4),
        D("WC-U-1", "return_to_sender", 5),
        D("WC-U-1", "standard_in_transit", 6),
        A("proactive_update", "WC-U-1", "standard_in_transit", 6),
        D("WC-U-1", "no_tracking_movement", 8),
        A("proactive_update", "WC-U-1", "no_tracking_movement", 8),
    )
    fu = build_figures(recs).first_updates
    by_case: dict[str, list[Any]] = {}
    for e in fu.episodes:
        by_case.setdefault(e.case_id, []).append(e)

    assert set(by_case) == {"WC-X-1", "WC-Y-1", "WC-Z-1", "WC-V-1", "WC-U-1"}
    [x], [y], [z], [v] = (by_case[k] for k in ("WC-X-1", "WC-Y-1", "WC-Z-1", "WC-V-1"))
    assert x.delay == timedelta(hours=1.5) and x.end == "updated"
    assert y.delay == timedelta(0) and y.update_kind == "proactive_update"
    assert z.end == "waiting" and z.delay is None
    assert v.end == "cleared" and v.ended_at == t(3) and v.delay is None
    assert [(e.condition, e.delay) for e in by_case["WC-U-1"]] == [
        ("delivery_failed", timedelta(hours=3)),
        ("no_tracking_movement", timedelta(0)),
    ]
    assert dict(fu.histogram()) == {
        "at once": 2,
        "under 1 h": 0,
        "1-4 h": 2,
        "4-24 h": 0,
        "1-3 days": 0,
        "over 3 days": 0,
        "cleared first": 1,
        "no update yet": 1,
    }
    rows = {r.condition: r for r in fu.rows()}
    failed = rows["delivery_failed"]
    assert (failed.episodes, failed.updated, failed.cleared, failed.waiting) == (3, 2, 0, 1)
    assert failed.median == timedelta(hours=2.25)  # of 1.5 h and 3 h
    assert (rows["all"].episodes, rows["all"].updated) == (6, 4)
    assert rows["all"].median == timedelta(hours=0.75)  # of 0, 0, 1.5 and 3 h
    assert rows["all"].p90 == timedelta(hours=3)


def test_guardrail_failures_are_grouped_by_violation_category():
    recs = records(
        A(
            "internal_note",
            "WC-A-1",
            "delivery_failed",
            1,
            note_reason="guardrail_failed",
            guardrail_violations=["generic_window: '3-5 business days'", "restricted_term: 'fraud'"],
        ),
        A(
            "internal_note",
            "WC-B-1",
            "supplier_backorder",
            2,
            note_reason="guardrail_failed",
            guardrail_violations=["generic_window: 'within a week'"],
        ),
        A("internal_note", "WC-C-1", "delivered", 3, note_reason="review_decision"),
    )
    g = build_figures(recs).guardrails

    assert g.notes == 2
    assert g.by_category() == [("generic_window", 2), ("restricted_term", 1)]
    assert g.by_condition() == [("delivery_failed", 2), ("supplier_backorder", 1)]
    assert g.failures[0].detail == "'3-5 business days'"


def test_headline_counts_outputs_dead_letters_suppressions_and_modes():
    reply = act("reply", "WC-A-1", "standard_in_transit", 1)
    recs = records(
        (TOPIC_REPLIES, reply),
        (TOPIC_REPLIES, reply),  # re-published by an outbox: counted once
        (TOPIC_REPLIES, {**reply, "created_at": "2026-11-02T09:30:00Z"}),  # same id, other content: kept
        D("WC-A-1", "standard_in_transit", 1, action_ids=[reply["action_id"]]),
        D("WC-A-1", "standard_in_transit", 2, suppressed="no_change"),
        D("WC-B-1", "processing_within_sla", 2, suppressed="no_change", mode="testing", kill_switch=True),
        D("WC-B-1", "processing_within_sla", 3, suppressed="throttled", mode="testing"),
        A(
            "internal_note",
            "WC-B-1",
            "processing_within_sla",
            3,
            mode="testing",
            draft=True,
            draft_kind="reply",
            note_reason="testing_mode",
        ),
        A(
            "action_draft",
            "WC-A-1",
            "standard_in_transit",
            1,
            action_type="refund",
            approval_state="pending_approval",
            eligible=True,
            eligibility_reasons=[],
            requires_approval=True,
            write_enabled=False,
        ),
        (TOPIC_DLQ, dead("malformed_json")),
        (TOPIC_DLQ, dead("malformed_json")),
        (TOPIC_DLQ, dead("unknown_type")),
    )
    fig = build_figures(recs)
    h = fig.headline

    assert (h.evaluations, h.cases, h.orders) == (4, 2, 2)
    assert h.outputs_by_kind == {
        "reply": 2,
        "proactive_update": 0,
        "internal_note": 1,
        "escalation": 0,
        "action_draft": 1,
    }
    assert h.drafts == 1
    assert h.customer_messages == 3 and h.customer_messages_by_mode == {"live": 2, "testing": 1}
    assert h.dead_letters_by_type == {"malformed_json": 2, "unknown_type": 1} and h.dead_letters == 3
    assert h.suppressed_by_reason == {"no_change": 2, "throttled": 1}
    assert h.decisions_by_mode == {"live": 2, "testing": 2}
    assert h.kill_switch_evaluations == 1
    assert h.records_by_topic[TOPIC_REPLIES] == 2
    assert "1 record(s) repeated exactly (same id, same topic) were counted once" in fig.notes


@pytest.mark.parametrize(
    ("span", "unit"),
    [
        (timedelta(hours=5), "hour"),
        (timedelta(hours=48), "hour"),
        (timedelta(days=9), "day"),
        (timedelta(days=200), "week"),
        (timedelta(days=1000), "month"),
    ],
)
def test_time_buckets_follow_the_span_of_the_data(span, unit):
    assert choose_unit(T0, T0 + span) == unit


def test_timeline_buckets_are_contiguous_and_count_every_evaluation():
    recs = records(
        D("WC-A-1", "processing_within_sla", 0.5),
        D("WC-A-1", "delivery_failed", 0.9),
        D("WC-B-1", "delivery_failed", 3.2),  # nothing in hours 1 and 2: still buckets, with zeros
    )
    tl = build_figures(recs).timeline

    assert tl.unit == "hour"
    assert tl.starts == [t(0), t(1), t(2), t(3)]
    assert tl.counts == {"delivery_failed": [1, 0, 0, 1], "processing_within_sla": [1, 0, 0, 0]}
    assert tl.total == 3
    assert bucket_start(datetime(2026, 11, 5, 13, 0, tzinfo=UTC), "week") == datetime(2026, 11, 2, tzinfo=UTC)
    assert bucket_start(datetime(2026, 11, 5, 13, 0, tzinfo=UTC), "month") == datetime(2026, 11, 1, tzinfo=UTC)


def test_bad_records_are_left_out_and_noted_never_fatal():
    good = dec("WC-A-1", "delivery_failed", 1)
    recs = records(
        (TOPIC_DECISIONS, good),
        (TOPIC_DECISIONS, {**good, "decision_id": "d-naive", "evaluated_at": "2026-11-02T10:00:00"}),
        (TOPIC_DECISIONS, {**good, "decision_id": "d-nocase", "case_id": None}),
        (TOPIC_DECISIONS, ["not", "an", "object"]),
        (TOPIC_REPLIES, {"kind": "reply"}),
        (TOPIC_NOTES, {**act("internal_note", "WC-A-1", "delivered", 1), "guardrail_violations": "oops"}),
        (TOPIC_DLQ, {"dlq_id": "x"}),
    )
    fig = build_figures(recs)

    assert fig.headline.evaluations == 1
    assert fig.headline.dead_letters_by_type == {"(no error_type)": 1}
    assert any("5 record(s) could not be used" in n for n in fig.notes)
    assert any("evaluated_at" in n for n in fig.notes)
    assert any("not a JSON object" in n for n in fig.notes)
    render_report(fig)  # renders too


# ---- HTML ---------------------------------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


LOCAL_REF = re.compile(r"^#[A-Za-z0-9_-]*$")


class _Checker(HTMLParser):
    """Fails on an end tag that does not close the innermost open element, and on any element or attribute
    that loads something: script, link, img, iframe, object, embed, or a src/href/action that is not a
    same-page ``#anchor``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []

    def _check(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "link", "img", "iframe", "object", "embed", "image", "use"):
            self.errors.append(f"<{tag}> at {self.getpos()}")
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "action", "srcset", "poster") and not LOCAL_REF.match(value or ""):
                self.errors.append(f"{name}={value!r} at {self.getpos()}")
            if name == "style" and "url(" in (value or ""):
                self.errors.append(f"style url() at {self.getpos()}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check(tag, attrs)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'} at {self.getpos()}")
            return
        self.stack.pop()


def check_html(page: str) -> list[ET.Element]:
    """Assert the page is well-formed and self-contained; return every chart's SVG parsed as XML."""
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert checker.errors == [] and checker.stack == [], (checker.errors, checker.stack)
    assert page.startswith("<!DOCTYPE html>")
    style = "".join(re.findall(r"<style>(.*?)</style>", page, re.S))
    assert "url(" not in style and "@import" not in style and "@font-face" not in style
    svgs = [ET.fromstring(m) for m in re.findall(r"<svg\b.*?</svg>", page, re.S)]
    assert {s.get("data-chart") for s in svgs} == set(CHARTS)
    for svg in svgs:
        cid = svg.get("data-chart") or ""
        assert svg.get("role") == "img"
        assert svg.findtext("title") == CHARTS[cid]
        assert (svg.findtext("desc") or "").strip()
        labels = [x.text for x in svg.iter("text") if "alabel" in (x.get("class") or "")]
        assert len(labels) == 2 and all(labels), (cid, labels)  # x and y axis labels
    return svgs


def _example_figures() -> Figures:
    reply = act("proactive_update", "WC-A-1", "delivery_failed", 1)
    return build_figures(
        records(
            D("WC-A-1", "processing_within_sla", 0, due=3),
            D("WC-A-1", "delivery_failed", 1, due=25, action_ids=[reply["action_id"]]),
            (TOPIC_REPLIES, reply),
            D("WC-B-1", "warehouse_pick_delay", 30, due=40),
            A("escalation", "WC-B-1", "warehouse_pick_delay", 30),
            A(
                "internal_note",
                "WC-B-1",
                "warehouse_pick_delay",
                30,
                note_reason="guardrail_failed",
                guardrail_violations=["generic_window: 'in 2 days'"],
            ),
            D("WC-B-1", "warehouse_pick_delay", 50),
            (TOPIC_DLQ, dead("invalid_event")),
        ),
        source="hand-built",
    )


def test_report_html_is_well_formed_self_contained_and_every_chart_is_accessible():
    page = render_report(_example_figures())
    svgs = check_html(page)

    assert "No data" not in page
    bars = {s.get("data-chart"): len(s.findall(".//rect/title")) for s in svgs}
    assert all(n > 0 for n in bars.values()), bars  # every chart drew something
    for title in CHARTS.values():
        assert f"<h2>{title}</h2>" in page


def test_empty_input_renders_every_chart_with_no_data():
    fig = build_figures(records())
    page = render_report(fig)
    svgs = check_html(page)

    for svg in svgs:
        assert any(x.text == "No data" for x in svg.iter("text")), svg.get("data-chart")
    assert fig.follow_ups.on_time_share() is None
    assert ">n/a<" in page  # the on-time card, not a division by zero


def test_a_single_decision_renders():
    page = render_report(build_figures(records(D("WC-A-1", "delivered", 0))))
    svgs = check_html(page)
    timeline = next(s for s in svgs if s.get("data-chart") == "conditions-over-time")
    assert [r.findtext("title") for r in timeline.iter("rect") if r.find("title") is not None] == [
        "11-02 08:00: delivered 1"  # one instant: hourly buckets
    ]


def test_record_text_is_escaped():
    nasty = "generic_window: <script>alert(1)</script><img src=https://evil.example/x.png>"
    fig = build_figures(
        records(
            D("WC-<b>-1", "delivery_failed", 0),
            A(
                "internal_note",
                "WC-<b>-1",
                "delivery_failed",
                0,
                note_reason="guardrail_failed",
                guardrail_violations=[nasty],
            ),
        )
    )
    page = render_report(fig)
    check_html(page)
    assert "<script>" not in page and "<img" not in page and "WC-<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_axis_ticks_and_durations():
    assert nice_ticks(0) == [0.0, 1.0]
    assert nice_ticks(1) == [0.0, 1.0]
    assert nice_ticks(7) == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert nice_ticks(185) == [0.0, 50.0, 100.0, 150.0, 200.0]
    assert nice_ticks(0.3, integer=False)[-1] >= 0.3
    assert [fmt_delta(timedelta(minutes=m)) for m in (0, 0.5, 45, 90, 60 * 50)] == [
        "0 min",
        "under 1 min",
        "45 min",
        "1.5 h",
        "2.1 days",
    ]


# ---- reading a replay directory and the CLI -----------------------------------------------------------------


def _write_dir(d: Path, recs: dict[str, list[Any]]) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for topic in OUTPUT_TOPICS:
        (d / f"{topic}.ndjson").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in recs.get(topic, [])))
    return d


def test_read_dir_skips_unreadable_lines_and_notes_missing_files(tmp_path):
    d = _write_dir(tmp_path / "rep", records(D("WC-A-1", "delivered", 0)))
    with open(d / f"{TOPIC_DECISIONS}.ndjson", "ab") as fh:
        fh.write(b'{"decision_id": "cut off\n\n')
    (d / f"{TOPIC_DLQ}.ndjson").unlink()

    data = read_dir(d)

    assert len(data.records[TOPIC_DECISIONS]) == 1 and data.records[TOPIC_DLQ] == []
    assert any("wismo.decisions.ndjson line 2: not JSON" in n for n in data.notes)
    assert any("wismo.dlq.ndjson is missing" in n for n in data.notes)
    with pytest.raises(ReportSourceError, match="not a directory"):
        read_dir(tmp_path / "nope")
    with pytest.raises(ReportSourceError, match="none of the replay output files"):
        read_dir(tmp_path)


def test_cli_report_writes_the_html(tmp_path, capsys):
    d = _write_dir(tmp_path / "rep", records(D("WC-A-1", "delivered", 0), D("WC-B-1", "delivery_failed", 1)))
    out = tmp_path / "deep" / "report.html"

    assert main(["report", str(d), "--out", str(out)]) == 0

    page = out.read_text(encoding="utf-8")
    check_html(page)
    assert "2 evaluations, 2 cases" in capsys.readouterr().out
    assert str(d) in page


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "--out", "{tmp}/r.html"], "give a replay output DIR"),
        (["report", "{tmp}/missing", "--out", "{tmp}/r.html"], "is not a directory"),
        (["report", "{tmp}", "--out", "{tmp}/r.html", "--since", "2026-11-01T00:00:00Z"], "--since applies"),
        (["report", "{tmp}", "--out", "{tmp}"], "is a directory"),
        (["report", "{tmp}", "--from-kafka", "--out", "{tmp}/r.html"], "give no DIR"),
        (["report", "--from-kafka", "--since", "yesterday", "--out", "{tmp}/r.html"], "--since wants"),
        (["report", "--from-kafka", "--bootstrap", "127.0.0.1:1", "--out", "{tmp}/r.html"], "cannot read Kafka"),
    ],
)
def test_cli_report_errors_exit_2_with_a_message(tmp_path, capsys, argv, message):
    _write_dir(tmp_path, records())
    code = main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()
