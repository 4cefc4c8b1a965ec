"""The rollout plan's monitored figures as the pipeline counts them (wismo.pipeline.Stats), from replays of
scenario files: what the worker exports as Prometheus metrics."""

from __future__ import annotations

from pathlib import Path

from wismo.pipeline import Pipeline, Stats
from wismo.policy import load_policy
from wismo.replay import read_lines, run_lines

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def stats_of(name: str, mode: str = "live") -> Stats:
    pipeline = Pipeline(load_policy(None).with_mode_override(mode))  # type: ignore[arg-type]
    run_lines(pipeline, read_lines([SCENARIOS / f"{name}.ndjson"]), lambda _: None)
    return pipeline.stats


def test_a_failed_attempt_is_reported_at_once_and_promised_checkpoints_are_counted_when_sent() -> None:
    s = stats_of("proactive_follow_up_due_no_change")
    # The failed attempt is told to the customer in the evaluation that sees it: 0 s from exception to update.
    assert s.exception_to_update_seconds == [0.0]
    # Two promised checkpoints came due and none was missed. The first was due at 16:00 UTC; the file's next event
    # is the clock tick at 16:30, which sends it, 30 min late. The second was due at the next tick's very time.
    assert s.promised_follow_ups == {"late": 1, "on_time": 1}
    assert s.proactive_updates["no_ticket"] == 3
    assert s.escalations["delivery_failed"] == 1
    assert s.follow_ups_scheduled >= 3


def test_an_exception_found_by_the_clock_counts_from_the_evaluation_that_found_it() -> None:
    s = stats_of("proactive_label_no_first_scan_clock_tick")
    assert len(s.exception_to_update_seconds) == 1 and s.exception_to_update_seconds[0] >= 0


def test_contacts_by_channel_and_outcome() -> None:
    live = stats_of("mode_live_sends_replies")
    testing = stats_of("mode_testing_drafts_notes", mode="testing")
    assert sum(live.contacts.values()) >= 1
    assert sum(n for (_, outcome), n in live.contact_outcomes.items() if outcome == "answered") >= 1
    # A testing-mode draft counts as answered too: deflection is measured before going live.
    assert {k: v for k, v in testing.contact_outcomes.items() if k[1] == "answered"} == {
        k: v for k, v in live.contact_outcomes.items() if k[1] == "answered"
    }
    assert all(mode == "testing" for (_, mode, _) in testing.actions)
    assert any(kind == "reply" and mode == "live" for (kind, mode, _) in live.actions)


def test_repeated_contacts_are_counted_as_repeats() -> None:
    s = stats_of("batch_14_repeated_contact")
    assert s.contacts and sum(n for (_, nth), n in s.contacts.items() if nth == "repeat") >= 1


def test_dead_letters_by_error_type() -> None:
    s = stats_of("bad_input_dead_letters")
    assert sum(s.dead_letter_types.values()) == s.dead_letters > 0
    assert {"malformed_json", "invalid_event"} <= set(s.dead_letter_types)
