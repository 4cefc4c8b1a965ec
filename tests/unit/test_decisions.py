"""Decision-stage behaviour: modes, suppression, throttling, follow-ups, dedupe, escalation and review."""

from __future__ import annotations

import json

from builders import (
    at,
    fulfillment,
    hold,
    label,
    make_policy,
    placed,
    review,
    run,
    scan,
    tick,
    ticket,
)
from wismo.processors.triggers import eta_slipped_since_told

IN_TRANSIT = [placed(), fulfillment(), label(), scan(h=10, est="2026-11-06")]


def test_testing_mode_turns_every_reply_into_a_draft_note():
    t = ticket(h=12)
    live = run(*IN_TRANSIT, t, mode="live")
    testing = run(*IN_TRANSIT, t, mode="testing")
    assert len(live.caused_by(t["event_id"], "wismo.replies")) == 1
    assert testing.topic("wismo.replies") == []
    [note] = testing.caused_by(t["event_id"], "wismo.notes")
    assert note["draft"] is True and note["draft_kind"] == "reply" and note["mode"] == "testing"
    # same action id either way, so a shadow run can be compared with live
    assert note["action_id"] == live.caused_by(t["event_id"], "wismo.replies")[0]["action_id"]


def test_default_policy_is_testing():
    t = ticket(h=12)
    r = run(*IN_TRANSIT, t, mode=None)
    assert r.topic("wismo.replies") == []
    assert r.decision(t["event_id"])["mode"] == "testing"


def test_per_channel_and_per_condition_modes():
    pol = make_policy(
        None,
        modes={"default": "testing", "channels": {"chat": {"default": "live"}}, "conditions": {}, "kill_switch": False},
    )
    t1, t2 = ticket(h=12), ticket("A2", h=12, channel="email", ticket_id="T9")
    r = run(*IN_TRANSIT, placed("A2"), t1, t2, policy=pol)
    assert r.decision(t1["event_id"])["mode"] == "live"
    assert r.decision(t2["event_id"])["mode"] == "testing"


def test_kill_switch_overrides_live():
    pol = make_policy(None, modes={"default": "live", "kill_switch": True, "channels": {}, "conditions": {}})
    t = ticket(h=12)
    r = run(*IN_TRANSIT, t, policy=pol)
    assert r.topic("wismo.replies") == []
    assert r.decision(t["event_id"])["kill_switch"] is True
    # Everything becomes notes/escalations: a request is escalated for a person to handle, nothing is drafted.
    ask = ticket(h=13, text="Please cancel my order, I don't need it any more.")
    r.feed(ask)
    assert r.topic("wismo.actions") == []
    [esc] = r.caused_by(ask["event_id"], "wismo.escalations")
    assert "customer_requested_action" in esc["escalation_reasons"] and esc["action_draft_ids"] == []
    assert "nothing was drafted" in esc["text"]
    assert [n["draft_kind"] for n in r.caused_by(ask["event_id"], "wismo.notes")] == ["reply"]


def test_duplicate_event_id_is_ignored():
    t = ticket(h=12)
    r = run(*IN_TRANSIT, t, t)
    assert len(r.caused_by(t["event_id"], "wismo.replies")) == 1
    assert len(r.caused_by(t["event_id"], "wismo.decisions")) == 1
    assert r.pipeline.stats.duplicates == 1


def test_duplicate_backend_status_with_new_event_id_triggers_nothing():
    f1 = scan(h=30, status="delivery_failed", detail="access_issue")
    f2 = dict(f1, event_id="carrier-resent")
    r = run(*IN_TRANSIT, f1, f2)
    assert len(r.topic("wismo.replies")) == 1
    assert r.caused_by("carrier-resent") == []
    assert r.pipeline.stats.duplicate_status == 1


def test_same_carrier_status_resent_shortly_after_is_a_duplicate_but_a_next_day_attempt_is_new():
    # Within carrier_resend_hours (6) of the latest scan, the same status is the carrier re-sending it; the next
    # day the same failure is a second delivery attempt and is told; a delivered scan happens once per shipment.
    f1 = scan(h=30, status="delivery_failed", detail="access_issue", location="Reno, NV")
    resent = scan(h=30.5, status="delivery_failed", detail="access_issue", location="Reno, NV", event_id="resent")
    again = scan(h=54, status="delivery_failed", detail="access_issue", location="Reno, NV", event_id="attempt-2")
    done = scan(h=80, status="delivered", location="Reno, NV", event_id="delivered")
    late_copy = scan(h=95, status="delivered", location="Reno, NV", event_id="delivered-copy")
    r = run(*IN_TRANSIT, f1, resent, again, done, late_copy)
    assert r.caused_by("resent") == [] and r.caused_by("delivered-copy") == []
    assert [u["kind"] for u in r.caused_by("attempt-2", "wismo.replies")] == ["proactive_update"]
    assert r.pipeline.stats.duplicate_status == 2


def test_teammate_public_update_suppresses_automated_reply():
    agent = ticket(h=12, author="agent", text="Hi, I checked with UPS for you.")
    t = ticket(h=13, text="ok thanks, any news?")
    r = run(*IN_TRANSIT, ticket(h=11), agent, t)
    assert r.caused_by(t["event_id"], "wismo.replies") == []
    assert r.decision(t["event_id"])["suppressed"] == "human_update_newer"
    [note] = r.caused_by(t["event_id"], "wismo.notes")
    assert note["note_reason"] == "human_update_newer"


def test_customer_writing_after_a_teammates_unprompted_heads_up_is_answered():
    # The teammate wrote first (no contact of the customer's to answer); the customer's question is newer than
    # that update, so it is answered.
    agent = ticket(h=11, author="agent", text="Quick heads-up: your parcel is with UPS.")
    t = ticket(h=12, text="Thanks! Which day will it arrive?")
    r = run(*IN_TRANSIT, agent, t)
    [reply] = r.caused_by(t["event_id"], "wismo.replies")
    assert reply["kind"] == "reply" and r.decision(t["event_id"])["suppressed"] is None


def test_teammate_update_withholds_proactive_updates_about_the_state_it_spoke_of_not_later_news():
    agent = ticket(h=11, author="agent", text="Quick heads-up: your parcel is with UPS.")
    failed = scan(h=13, status="delivery_failed", detail="access_issue")
    r = run(*IN_TRANSIT, agent, failed)  # a failed attempt after the heads-up: news the teammate could not tell
    assert r.decision(failed["event_id"])["suppressed"] is None
    assert [u["kind"] for u in r.caused_by(failed["event_id"], "wismo.replies")] == ["proactive_update"]

    label_only = [placed(), fulfillment(), label(h=3)]
    agent = ticket(h=10, author="agent", text="Your label is printed; UPS collects it today.")
    late = tick("A1", h=28)  # 25 h after the label, no scan, and no backend change since the teammate spoke
    r = run(*label_only, agent, late)
    assert r.decision(late["event_id"])["suppressed"] == "human_update_newer"
    assert r.caused_by(late["event_id"], "wismo.replies") == []


def test_proactive_updates_throttled_to_one_per_12h_unless_material():
    items = [
        {"sku": "A", "title": "Alpha", "qty": 1, "unit_price": 10},
        {"sku": "B", "title": "Beta", "qty": 1, "unit_price": 10},
        {"sku": "C", "title": "Gamma", "qty": 1, "unit_price": 10},
    ]
    evs = [
        placed(items=items, value=30),
        *[fulfillment(sid=f"S{i}", items=[{"sku": s, "qty": 1}]) for i, s in enumerate("ABC")],
        label(sid="S0"),
        label(sid="S1", tracking="T2"),
        label(sid="S2", tracking="T3"),
    ]
    s0 = scan(h=10, sid="S0")
    s1 = scan(h=12, sid="S1")  # partial map changes 2 h later: not material -> throttled
    d0 = scan(h=14, sid="S0", status="delivered", location="Porch")  # material: sent despite the window
    r = run(*evs, s0, s1, d0)
    assert [u["caused_by"] for u in r.topic("wismo.replies")] == [s0["event_id"], d0["event_id"]]
    assert r.decision(s1["event_id"])["suppressed"] == "throttled"


def test_follow_up_due_sends_promised_checkpoint_then_escalates_when_stale():
    # in transit with a carrier estimate already passed: the reply promises a checkpoint (last scan + 72 h)
    evs = [placed(), fulfillment(), label(), scan(h=10, est="2026-11-02"), t := ticket(h=30)]
    r = run(*evs, k1 := tick("A1", h=83), k2 := tick("A1", h=132))
    [reply] = r.caused_by(t["event_id"], "wismo.replies")
    assert "update you by Thursday, 5 November" in reply["text"]
    # The checkpoints (Thu 19:00, then two days after the first went out) come due before each clock tick: each
    # tick evaluates the case at its own time and sends the checkpoint under its own id (still on the promised
    # day, Thursday); the second, with still no backend change, hands the case over and escalates.
    ups = r.topic("wismo.replies")[1:]
    assert [(u["kind"], u["caused_by"], u["created_at"]) for u in ups] == [
        ("proactive_update", k1["event_id"], "2026-11-05T20:00:00Z"),
        ("proactive_update", k2["event_id"], "2026-11-07T21:00:00Z"),
    ]
    assert "update you by Saturday, 7 November" in ups[0]["text"]
    assert "asked a teammate" in ups[1]["text"] and "update you by" not in ups[1]["text"]
    [esc] = r.topic("wismo.escalations")
    assert "follow_up_stalled" in esc["escalation_reasons"] and esc["caused_by"] == ups[1]["caused_by"]
    # From the hand-over on, the case is a person's: every record says escalate, until the backend moves.
    assert r.decision(k1["event_id"])["recommended_action"] == ups[0]["recommended_action"] == "trace"
    assert r.decision(k2["event_id"])["recommended_action"] == ups[1]["recommended_action"] == "escalate"
    r = run(*evs, k1, k2, k3 := tick("A1", h=200), moved := scan(h=201, location="Reno"))
    assert r.decision(k3["event_id"])["recommended_action"] == "escalate"
    assert r.decision(moved["event_id"])["recommended_action"] == "monitor"


def test_a_clock_tick_acts_on_a_threshold_crossed_before_it_under_its_own_id():
    # Label at 12:00 on 2 November, no first scan: the 24 h threshold passes at 12:00 on the 3rd. A tick at 15:00
    # that covers the order (its own, or a sweep) finds the crossing and sends the update itself; a tick for
    # another order does not, so the system's own follow-up fires at the threshold.
    base = [placed(), fulfillment(), label(), placed("A2", h=4)]
    for k in (tick("A1", h=30), tick(None, h=30)):
        r = run(*base, k)
        [up] = r.topic("wismo.replies")
        assert (up["kind"], up["caused_by"], up["created_at"]) == ("proactive_update", k["event_id"], at(30))
        [d] = [d for d in r.caused_by(k["event_id"], "wismo.decisions") if d["order_id"] == "A1"]
        assert d["condition_type"] == "label_created_no_pickup" and d["suppressed"] is None
        assert not [d for d in r.topic("wismo.decisions") if d["caused_by"].startswith("followup:")]
    other = tick("A2", h=30)
    r = run(*base, other)
    [up] = r.topic("wismo.replies")
    assert up["caused_by"].startswith("followup:WC-A1-1:") and up["created_at"] == at(27)
    assert r.decision(other["event_id"])["order_id"] == "A2"
    # Another order's events after the threshold do not fire A1's follow-up: A1's own later tick still does it.
    own = tick("A1", h=31)
    r = run(*base, other, own)
    [up] = r.topic("wismo.replies")
    assert (up["caused_by"], up["created_at"]) == (own["event_id"], at(31))


def test_follow_up_fires_from_event_time_without_any_event_for_the_order():
    evs = [placed(), fulfillment(), label(), scan(h=10, est="2026-11-02"), ticket(h=30)]
    r = run(*evs, placed("A2", h=90))  # only another order's event moves time past A1's checkpoint
    ups = [u for u in r.topic("wismo.replies") if u["caused_by"].startswith("followup:WC-A1-1:")]
    assert len(ups) == 1 and ups[0]["created_at"].startswith("2026-11-05T19:00")


def test_customer_cancel_request_drafts_action_and_escalates_without_promising():
    t = ticket(h=5, text="Please cancel my order")
    r = run(placed(ship_by=100), fulfillment(), t)
    [draft] = r.caused_by(t["event_id"], "wismo.actions")
    assert draft["action_type"] == "cancellation" and draft["approval_state"] == "pending_approval"
    assert draft["write_enabled"] is False and draft["executed"] is False
    [esc] = r.caused_by(t["event_id"], "wismo.escalations")
    assert "customer_requested_action" in esc["escalation_reasons"]
    assert draft["action_id"] in esc["action_draft_ids"]
    [reply] = r.caused_by(t["event_id"], "wismo.replies")
    assert "Nothing has been changed" in reply["text"]
    assert "cancelled" not in reply["text"].lower()


def test_reviewer_approval_resumes_case_and_confirms():
    t = ticket(h=5, text="Please cancel my order")
    r = run(placed(ship_by=100), fulfillment(), t)
    [esc] = r.caused_by(t["event_id"], "wismo.escalations")
    rv = review("A1", 6, esc["escalation_id"], "approved")
    r.feed(rv)
    notes = r.caused_by(rv["event_id"], "wismo.notes")
    assert any("approved" in n["text"] for n in notes)
    [upd] = r.caused_by(rv["event_id"], "wismo.actions")
    assert upd["approval_state"] == "approved" and upd["draft_of"] == esc["action_draft_ids"][0]
    [reply] = r.caused_by(rv["event_id"], "wismo.replies")
    assert "cancellation has been approved" in reply["text"]


def test_manual_takeover_silences_automation():
    t = ticket(h=5, text="Please cancel my order")
    r = run(placed(ship_by=100), fulfillment(), t)
    [esc] = r.caused_by(t["event_id"], "wismo.escalations")
    r.feed(review("A1", 6, esc["escalation_id"], "manual_takeover"))
    t2 = ticket(h=7, text="hello?")
    r.feed(t2)
    assert r.caused_by(t2["event_id"], "wismo.replies") == []
    assert r.decision(t2["event_id"])["suppressed"] == "manual_takeover"


def test_review_for_unknown_escalation_is_dead_lettered():
    r = run(placed(), rv := review("A1", 2, "act_nope"))
    [dl] = r.topic("wismo.dlq")
    assert dl["error_type"] == "unknown_reference" and "act_nope" in dl["reason"]
    assert json.loads(dl["original"])["event_id"] == rv["event_id"]


def test_dnr_high_value_escalates_with_high_value():
    evs = [
        placed(value=900),
        fulfillment(),
        label(),
        scan(h=10),
        scan(h=30, status="delivered", location="Porch"),
        t := ticket(h=40, text="It says delivered but it's not here"),
    ]
    r = run(*evs)
    [esc] = r.caused_by(t["event_id"], "wismo.escalations")
    assert "high_value" in esc["escalation_reasons"]
    # SPEC §7 order facts, in the text a reviewer reads (not only in the structured field)
    assert (
        "Order: #1, 900 USD; items: Blue Mug (MUG-BLU) x1; "
        "shipment S1 (UPS 1Z999AA10123456784; Blue Mug x1): delivered at Porch." in esc["text"]
    )
    [draft] = r.caused_by(t["event_id"], "wismo.actions")
    assert draft["action_type"] == "replacement" and draft["approval_state"] == "pending_approval"


def test_dnr_low_value_strong_proof_does_not_escalate():
    evs = [
        placed(value=40),
        fulfillment(),
        label(),
        scan(h=10),
        scan(h=30, status="delivered", location="Porch"),
        t := ticket(h=40, text="It says delivered but it's not here"),
    ]
    r = run(*evs)
    assert r.caused_by(t["event_id"], "wismo.escalations") == []
    assert r.decision(t["event_id"])["recommended_action"] == "replacement_review"
    [reply] = r.caused_by(t["event_id"], "wismo.replies")
    assert "Porch" in reply["text"] and "Monday, 2 November" not in reply["text"]


def test_ambiguous_customer_is_asked_for_order_number():
    cust = {"id": "c9", "email": "bo@example.com", "name": "Bo Diaz"}
    t = ticket(None, h=5, customer={"email": "bo@example.com"})
    r = run(placed("A1", customer=cust), placed("A2", customer=cust), t)
    [reply] = r.caused_by(t["event_id"], "wismo.replies")
    assert "order number" in reply["text"]
    assert r.decision(t["event_id"])["condition_type"] == "missing_order_data"
    assert r.caused_by(t["event_id"], "wismo.escalations") == []


def test_unknown_order_number_with_several_open_orders_says_so_and_asks():
    cust = {"id": "c9", "email": "bo@example.com", "name": "Bo Diaz"}
    t = ticket(None, h=5, customer={"email": "bo@example.com"}, order_number="1009")
    r = run(placed("A1", customer=cust), placed("A2", customer=cust), t)
    [reply] = r.caused_by(t["event_id"], "wismo.replies")
    assert "I could not find an order numbered #1009." in reply["text"]
    assert "Could you reply with the order number" in reply["text"]
    assert r.decision(t["event_id"])["condition_type"] == "missing_order_data"


def test_late_order_reply_names_three_waiting_items_then_counts_the_rest():
    items = [
        {"sku": f"SKU-{i}", "title": title, "qty": qty, "unit_price": 10}
        for i, (title, qty) in enumerate([("Blue Mug", 2), ("Tea Towel", 1), ("Kettle", 1), ("Spoon", 1), ("Tray", 1)])
    ]
    t = ticket(h=60)
    r = run(placed(items=items), t)  # no fulfilment 60 h after the order: past the 48 h fulfilment SLA
    assert r.decision(t["event_id"])["condition_type"] == "warehouse_pick_delay"
    [reply] = r.caused_by(t["event_id"], "wismo.replies")
    assert "Order #1, with Blue Mug (x2), Tea Towel, Kettle and 2 more items, has not left" in reply["text"]


def test_single_open_order_is_matched_by_email():
    cust = {"id": "c9", "email": "bo@example.com", "name": "Bo Diaz"}
    t = ticket(None, h=5, customer={"email": "BO@example.com "})
    r = run(placed("A1", customer=cust, ship_by=100), t)
    d = r.decision(t["event_id"])
    assert d["order_id"] == "A1" and d["condition_type"] == "processing_within_sla"


def test_replay_is_deterministic():
    evs = [*IN_TRANSIT, ticket(h=12), scan(h=30, status="delivery_failed", detail="access_issue"), tick(h=90)]
    a, b = run(*evs), run(*evs)
    assert a.records == b.records


def test_reviewer_can_answer_an_action_draft_that_needed_no_escalation():
    evs = [
        placed(value=40),
        fulfillment(),
        label(),
        scan(h=10),
        scan(h=30, status="delivered", location="Porch"),
        t := ticket(h=40, text="It says delivered but it's not here"),
    ]
    r = run(*evs)
    [draft] = r.caused_by(t["event_id"], "wismo.actions")
    rv = review("A1", 41, draft["action_id"], "approved")
    r.feed(rv)
    [upd] = r.caused_by(rv["event_id"], "wismo.actions")
    assert upd["approval_state"] == "approved" and upd["draft_of"] == draft["action_id"]
    [reply] = r.caused_by(rv["event_id"], "wismo.replies")
    assert "replacement has been approved" in reply["text"]
    # a redelivered decision changes nothing
    r.feed(dict(rv, event_id="review-again"))
    assert r.caused_by("review-again", "wismo.actions") == []


def test_changes_requested_then_approved_applies_the_approval():
    t = ticket(h=5, text="Please cancel my order")
    r = run(placed(ship_by=100), fulfillment(), t)
    [esc] = r.caused_by(t["event_id"], "wismo.escalations")
    first = review("A1", 6, esc["escalation_id"], "changes_requested")
    again = review("A1", 6.5, esc["escalation_id"], "changes_requested")
    second = review("A1", 7, esc["escalation_id"], "approved")
    r.feed(first, again, second)
    [sent_back] = r.caused_by(first["event_id"], "wismo.actions")
    assert sent_back["approval_state"] == "changes_requested"
    assert r.caused_by(again["event_id"], "wismo.actions") == []  # the same answer twice changes nothing
    [upd] = r.caused_by(second["event_id"], "wismo.actions")
    assert upd["approval_state"] == "approved" and upd["draft_of"] == esc["action_draft_ids"][0]
    [reply] = r.caused_by(second["event_id"], "wismo.replies")
    assert "cancellation has been approved" in reply["text"]


def test_a_decided_resolution_is_not_drafted_again_by_later_evaluations():
    evs = [
        placed(value=40),
        fulfillment(),
        label(),
        scan(h=10),
        scan(h=30, status="delivered", location="Porch"),
        t := ticket(h=40, text="It says delivered but it's not here"),
    ]
    r = run(*evs)
    [draft] = r.caused_by(t["event_id"], "wismo.actions")
    r.feed(review("A1", 41, draft["action_id"], "approved"), k := tick("A1", h=100))
    assert r.decision(k["event_id"])["condition_type"] == "delivered_not_received"
    assert r.caused_by(k["event_id"], "wismo.actions") == []
    assert not [a for a in r.topic("wismo.actions") if a["caused_by"].startswith("followup:")]


def test_a_confirmation_stopped_by_the_guardrail_is_noted_and_escalated(monkeypatch):
    import wismo.processors.decision as decision

    t = ticket(h=5, text="Please cancel my order")
    r = run(placed(ship_by=100), fulfillment(), t)
    [esc] = r.caused_by(t["event_id"], "wismo.escalations")
    monkeypatch.setattr(decision, "check_customer_text", lambda text, facts: ["date_not_in_data: forced"])
    rv = review("A1", 6, esc["escalation_id"], "approved")
    r.feed(rv)
    assert r.caused_by(rv["event_id"], "wismo.replies") == []
    assert any(n["note_reason"] == "guardrail_failed" for n in r.caused_by(rv["event_id"], "wismo.notes"))
    [again] = r.caused_by(rv["event_id"], "wismo.escalations")
    assert again["escalation_reasons"] == ["guardrail_failed"]
    assert "date_not_in_data: forced" in again["requested_decision"]


def test_a_withheld_proactive_update_is_noted_and_escalated_once(monkeypatch):
    import wismo.processors.decision as decision

    monkeypatch.setattr(decision, "check_customer_text", lambda text, facts: ["date_not_in_data: forced"])
    f = scan(h=30, status="delivery_failed", detail="access_issue")
    r = run(*IN_TRANSIT, f, k1 := tick("A1", h=31), k2 := tick("A1", h=32))
    [note] = r.caused_by(f["event_id"], "wismo.notes")
    assert note["note_reason"] == "guardrail_failed" and note["draft_kind"] == "proactive_update"
    [esc] = r.caused_by(f["event_id"], "wismo.escalations")
    assert "withheld by the guardrail: date_not_in_data: forced" in esc["requested_decision"]
    for k in (k1, k2):  # re-evaluating the unchanged case repeats neither
        assert r.decision(k["event_id"])["suppressed"] == "guardrail_failed"
        assert r.caused_by(k["event_id"], "wismo.notes") == r.caused_by(k["event_id"], "wismo.escalations") == []


def test_eta_slip_is_measured_against_what_the_customer_was_told() -> None:
    told = "backorder:A=2026-11-10,B=unknown"
    assert not eta_slipped_since_told("backorder:A=2026-11-12,B=unknown", told, 3)
    assert eta_slipped_since_told("backorder:A=2026-11-13,B=unknown", told, 3)
    assert not eta_slipped_since_told("backorder:A=2026-11-09,B=2026-12-30", told, 3)  # B was unknown: no slip
    assert not eta_slipped_since_told("backorder:A=2026-11-20", None, 3)
    assert not eta_slipped_since_told("backorder:A=2026-11-20", "processing", 3)


def test_an_approved_cancellation_is_not_offered_again():
    t = ticket(h=5, text="Please cancel my order")
    r = run(placed(ship_by=100), fulfillment(), t)
    [reply] = r.caused_by(t["event_id"], "wismo.replies")
    assert "cancel" in reply["customer_options"]
    [esc] = r.caused_by(t["event_id"], "wismo.escalations")
    r.feed(review("A1", 6, esc["escalation_id"], "approved"), t2 := ticket(h=8, text="Hi, any update?", ticket_id="T2"))
    [later] = r.caused_by(t2["event_id"], "wismo.replies")
    assert "cancel" not in later["customer_options"]


def test_a_request_on_a_repeated_contact_is_checked_against_the_orders_own_condition():
    r = run(
        placed(),
        fulfillment(),
        label(),
        scan(h=10),
        ticket(h=12),
        scan(h=20, status="return_to_sender"),
        t := ticket(h=30, text="This is the second time I write. I want a refund please.", ticket_id="T2"),
    )
    assert r.decision(t["event_id"])["condition_type"] == "repeated_contact"
    [draft] = [d for d in r.caused_by(t["event_id"], "wismo.actions") if d["action_type"] == "refund"]
    # a refund on a parcel going back to the sender is a normal resolution, not something to flag
    assert "eligible (meets policy)" in draft["text"]
    assert "currently" not in draft["text"]


def test_second_contact_on_a_held_order_keeps_the_hold_and_escalates_as_repeated_contact():
    # restricted_hold outranks repeated_contact (SPEC §3), but a customer writing again on the unresolved case
    # is still a priority escalation: the second contact's escalation carries both reasons.
    first, second = ticket(h=5, ticket_id="T1"), ticket(h=9, ticket_id="T1", text="Any news? I asked this morning.")
    r = run(placed(), hold(h=2), first, second)
    assert r.decision(first["event_id"])["escalation_reasons"] == ["restricted_hold"]
    d = r.decision(second["event_id"])
    assert d["condition_type"] == "restricted_hold"
    assert set(d["escalation_reasons"]) == {"restricted_hold", "repeated_contact"}
    [esc] = r.caused_by(second["event_id"], "wismo.escalations")
    assert esc["priority"] == "high" and "repeated_contact" in esc["escalation_reasons"]


# --- late arrivals: event time decides, not arrival order --------------------------------------------------


def test_a_hold_placement_arriving_after_its_release_leaves_the_order_unheld():
    release = hold(h=6, released=True)
    late_placement = hold(h=1)
    t = ticket(h=8)
    r = run(placed(), release, late_placement, t)
    d = r.decision(late_placement["event_id"])
    assert d["condition_type"] == "processing_within_sla" and "superseded" in d["inputs"]["signals"]
    assert r.caused_by(late_placement["event_id"], "wismo.escalations") == []
    assert r.decision(t["event_id"])["condition_type"] == "processing_within_sla"


def test_an_older_release_arriving_after_a_newer_placement_keeps_the_hold():
    stale_release = hold(h=2, released=True)
    t = ticket(h=8)
    r = run(placed(), hold(h=1), hold(h=3, released=True), hold(h=5), stale_release, t)
    assert r.decision(stale_release["event_id"])["inputs"]["signals"] == ["superseded"]
    assert r.decision(t["event_id"])["condition_type"] == "restricted_hold"


def test_the_same_hold_placed_again_while_active_is_a_duplicate():
    again = hold(h=4, event_id="hold-again")
    r = run(placed(), hold(h=1), again, ticket(h=8))
    assert r.caused_by("hold-again") == []


def test_a_repeated_release_is_a_duplicate_and_a_later_placement_is_a_new_hold():
    release = hold(h=3, released=True)
    again = hold(h=3, released=True, event_id="release-again")
    new_hold = hold(h=9)
    t = ticket(h=10)
    r = run(placed(), hold(h=1), release, again, new_hold, t)
    assert r.caused_by("release-again") == []  # dropped before evaluation
    assert r.decision(t["event_id"])["condition_type"] == "restricted_hold"
