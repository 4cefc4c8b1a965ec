"""Bad input never stops the stream (SPEC §10): any line becomes a dead letter or is processed, never an
exception, and a bug inside a stage is dead-lettered with the original line."""

from __future__ import annotations

import json
from typing import Any

import pytest
from builders import placed, run, ticket
from hypothesis import given, settings
from hypothesis import strategies as st

from wismo.pipeline import Pipeline
from wismo.policy import load_policy

TYPES = [
    "order.placed",
    "tracking.updated",
    "ticket.message",
    "clock.tick",
    "review.decision",
    "label.created",
    "supplier.eta_changed",
    "bogus.type",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def near_events(draw: Any) -> str:
    obj: dict[str, Any] = {}
    for key, strat in (
        ("event_id", st.text(max_size=8) | st.integers()),
        ("source", st.sampled_from(["oms", "wms", "carrier", "ticket", "clock", "review", "x"])),
        ("type", st.sampled_from(TYPES)),
        ("order_id", st.sampled_from(["A1", "", None])),
        ("occurred_at", st.sampled_from(["2026-11-02T10:00:00Z", "2026-11-02 10:00", "yesterday", 5])),
        ("payload", json_values),
    ):
        if draw(st.booleans()) or key in ("type", "payload"):
            obj[key] = draw(strat)
    return json.dumps(obj)


@settings(max_examples=300, deadline=None)
@given(st.lists(near_events() | st.text(max_size=60), min_size=1, max_size=8))
def test_no_input_line_raises(lines: list[str]) -> None:
    pipeline = Pipeline(load_policy())
    pipeline.process_line(json.dumps(placed()))
    for line in lines:
        out = pipeline.process_line(line)
        for topic, rec in out:
            if topic == "wismo.dlq":
                assert rec.original == line and rec.reason  # type: ignore[attr-defined]


def test_a_bug_in_a_stage_is_dead_lettered_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    import wismo.pipeline as pipeline_module

    def boom(ev: object) -> None:
        raise RuntimeError("handler exploded")

    r = run(placed())
    monkeypatch.setattr(pipeline_module, "evaluate", boom)
    t = ticket(h=2)
    r.feed(t)
    [dl] = r.topic("wismo.dlq")
    assert dl["error_type"] == "internal_error" and "handler exploded" in dl["reason"]
    assert json.loads(dl["original"])["event_id"] == t["event_id"]
    monkeypatch.undo()
    r.feed(ticket(h=3, event_id="after-the-bug"))
    assert r.caused_by("after-the-bug", "wismo.decisions"), "the stream goes on after a failed event"
