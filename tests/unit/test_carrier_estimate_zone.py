"""The carrier's delivery estimate is stated as the customer's calendar date, in the policy's
``communications.timezone`` (blind spec check D4); a date-only estimate never shifts."""

from __future__ import annotations

from builders import fulfillment, label, placed, run, scan, ticket


def _reply(est: str, tz: str, scan_h: float = 10.0) -> str:
    r = run(
        placed(),
        fulfillment(),
        label(),
        scan(h=scan_h, est=est),
        t := ticket(h=scan_h + 2),
        communications={"timezone": tz},
    )
    assert r.decision(t["event_id"])["condition_type"] == "standard_in_transit"
    [reply] = r.caused_by(t["event_id"], "wismo.replies")  # sent: the guardrail accepted the date
    assert not r.caused_by(t["event_id"], "wismo.notes")
    text: str = reply["text"]
    return text


def test_timed_estimate_is_dated_in_the_policy_zone():
    # 03:00 UTC on Friday 6 November is Thursday evening in Los Angeles.
    text = _reply("2026-11-06T03:00:00Z", "America/Los_Angeles")
    assert "UPS currently estimates delivery on Thursday, 5 November" in text
    assert "6 November" not in text


def test_estimate_in_a_carrier_offset_is_converted_to_utc():
    # 20:00 at -08:00 on Tuesday 3 November is Wednesday 4 November in UTC.
    text = _reply("2026-11-03T20:00:00-08:00", "UTC")
    assert "UPS currently estimates delivery on Wednesday, 4 November" in text
    assert "3 November." not in text.split("estimates delivery")[1]


def test_date_only_estimate_is_a_calendar_date_in_any_zone():
    for tz in ("America/Los_Angeles", "Asia/Tokyo", "UTC"):
        assert "estimates delivery on Wednesday, 4 November" in _reply("2026-11-04", tz)


def test_repeated_timed_estimate_is_still_a_duplicate():
    first = scan(h=10, est="2026-11-06T03:00:00Z", event_id="c-1")
    again = dict(first, event_id="c-2")
    r = run(placed(), fulfillment(), label(), first, again, communications={"timezone": "America/Los_Angeles"})
    assert not r.caused_by("c-2", "wismo.decisions")
