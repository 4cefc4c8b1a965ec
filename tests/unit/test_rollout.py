"""Automatic demotion rules (wismo.rollout) and how demotions and the kill switch override modes."""

from __future__ import annotations

from collections import Counter

import pytest

from wismo.policy import Demotion, load_policy
from wismo.rollout import RateWindow, condition_counts, demotions

LIMITS = Demotion(min_evaluations=10, max_guardrail_failure_rate=0.1, max_escalation_rate=0.5, min_deliveries=5)


def test_window_forgets_counts_older_than_the_window() -> None:
    w = RateWindow(window_seconds=300, bucket_seconds=60)
    w.add(0, "delivered", evaluations=5)
    w.add(250, "delivered", evaluations=2, escalations=1)
    assert w.totals(260)["delivered"] == Counter(evaluations=7, escalations=1)
    assert w.totals(400)["delivered"] == Counter(evaluations=2, escalations=1)
    assert w.totals(1000) == {}
    with pytest.raises(ValueError, match="unknown count"):
        w.add(0, "delivered", replies=1)


def test_no_demotion_below_the_minimum_sample() -> None:
    totals = {"delivery_failed": Counter(evaluations=9, escalations=9)}
    assert demotions(totals, LIMITS, ["delivery_failed"]) == []


def test_each_limit_demotes_with_a_reason_naming_the_rate() -> None:
    totals = {
        "delivery_failed": Counter(evaluations=10, escalations=6),
        "partial_shipment": Counter(evaluations=20, guardrail_failures=3),
        "standard_in_transit": Counter(evaluations=100, escalations=1, deliveries=10, delivery_errors=3),
        "delivered": Counter(evaluations=100, escalations=50, guardrail_failures=10),  # exactly at the limits
    }
    got = dict(demotions(totals, LIMITS, list(totals)))
    assert got == {
        "delivery_failed": "escalation rate 60.0% (6 of 10) above 50.0%",
        "partial_shipment": "guardrail failure rate 15.0% (3 of 20) above 10.0%",
        "standard_in_transit": "delivery error rate 30.0% (3 of 10) above 20.0%",
    }


def test_only_live_conditions_are_demoted_and_disabled_means_never() -> None:
    totals = {"delivery_failed": Counter(evaluations=10, escalations=10)}
    assert demotions(totals, LIMITS, []) == []
    assert demotions(totals, LIMITS.model_copy(update={"enabled": False}), ["delivery_failed"]) == []


def test_condition_counts_skip_zeros() -> None:
    got = condition_counts({"delivered": 3, "partial_shipment": 0}, {"delivered": 1}, {})
    assert got == {"delivered": Counter(evaluations=3, escalations=1)}


def test_demotion_and_kill_switch_override_every_mode() -> None:
    live = load_policy(None).with_mode_override("live")
    demoted = live.with_controls(False, frozenset({"delivery_failed"}))
    assert demoted.mode_for("chat", "delivery_failed") == "testing"
    assert demoted.mode_for("chat", "partial_shipment") == "live"
    killed = live.with_controls(True, frozenset())
    assert {killed.mode_for(ch, "delivered") for ch in ("chat", "email", "ticket", "proactive")} == {"testing"}
    assert live.with_controls(False, frozenset()).mode_for("email", "delivered") == "live"
