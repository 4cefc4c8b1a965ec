"""Zendesk request building: public vs private placement, new tickets, and what is skipped or refused."""

from __future__ import annotations

import json

import pytest
from builders import placed, run, ticket
from shared_payloads import PAYLOADS
from wismo.processors.adapters.base import comment_marker
from wismo.sinks.base import Reject, Send, Skip
from wismo.sinks.zendesk import (
    NO_TICKET_NO_EMAIL,
    Comment,
    NewTicket,
    comment_request,
    new_ticket_request,
    plan_for,
)

from wismo.records import ActionRecord

# Zendesk's own recorded API request (zendesk/zendesk_api_client_rb, Apache-2.0; see ../shared/payloads/SOURCES.md).
ZENDESK_SAMPLES = PAYLOADS / "zendesk"


@pytest.fixture(scope="module")
def live_reply() -> ActionRecord:
    out = run(placed("A1", 0), ticket("A1", 2, ticket_id="8867"), mode="live")
    return ActionRecord.model_validate(out.topic("wismo.replies")[0])


@pytest.fixture(scope="module")
def draft_note() -> ActionRecord:
    out = run(placed("A1", 0), ticket("A1", 2, ticket_id="8867"), mode="testing")
    notes = [n for n in out.topic("wismo.notes") if n["draft"]]
    return ActionRecord.model_validate(notes[0])


def test_reply_is_a_public_comment_on_its_ticket(live_reply):
    plan = plan_for(live_reply, mapped_ticket=None)
    assert isinstance(plan, Send) and isinstance(plan.request, Comment)
    method, path, body = comment_request(plan.request)
    assert (method, path) == ("PUT", "/api/v2/tickets/8867.json")
    comment = body["ticket"]["comment"]
    assert comment["public"] is True
    assert comment["body"].startswith(live_reply.text.strip())
    assert comment["body"].endswith(comment_marker(live_reply.action_id))


def test_testing_mode_draft_is_a_private_comment_marked_as_draft(draft_note):
    plan = plan_for(draft_note, mapped_ticket=None)
    assert isinstance(plan, Send) and isinstance(plan.request, Comment)
    _, path, body = comment_request(plan.request)
    assert path == "/api/v2/tickets/8867.json"
    comment = body["ticket"]["comment"]
    assert comment["public"] is False
    assert comment["body"].startswith("Draft reply by wismo, NOT sent to the customer (testing_mode)")
    assert draft_note.text.strip() in comment["body"]


def test_request_matches_the_shape_zendesk_accepts():
    """Our PUT body nests like Zendesk's recorded update request: one ``ticket`` object."""
    recorded = json.loads((ZENDESK_SAMPLES / "ticket_update_put_0_put_request.json").read_text())
    _, _, body = comment_request(Comment("1", True, "hello"))
    assert set(body) == set(recorded) == {"ticket"}


def _proactive(**update) -> ActionRecord:
    base: dict[str, object] = {
        "action_id": "act_00000000000000000001",
        "kind": "proactive_update",
        "mode": "live",
        "case_id": "WC-A1-1",
        "order_id": "A1",
        "ticket_id": None,
        "channel": "proactive",
        "condition_type": "delivery_failed",
        "recommended_action": "monitor",
        "escalation_reasons": [],
        "text": "Hi Ann,\n\nAn update on order #1. The carrier could not deliver your package.\n\n— Support",
        "caused_by": "ev-1",
        "created_at": "2026-11-02T10:00:00Z",
        "customer_safe_summary": "x",
        "internal_summary": "y",
        "customer_options": [],
        "follow_up_reason": None,
        "next_follow_up_due_at": None,
        "confidence": "high",
        "customer_email": "ann@example.com",
    }
    return ActionRecord.model_validate({**base, **update})


def test_proactive_update_without_ticket_opens_one_for_the_customer():
    rec = _proactive()
    plan = plan_for(rec, mapped_ticket=None)
    assert isinstance(plan, Send) and isinstance(plan.request, NewTicket)
    method, path, body, headers = new_ticket_request(plan.request)
    assert (method, path) == ("POST", "/api/v2/tickets.json")
    t = body["ticket"]
    assert t["requester"] == {"email": "ann@example.com"}
    assert t["comment"]["public"] is True and t["comment"]["body"].endswith(comment_marker(rec.action_id))
    assert t["external_id"] == rec.action_id == headers["Idempotency-Key"]
    assert t["subject"] == "An update on order #1"  # the first line that is not the greeting


def test_proactive_update_lands_on_the_ticket_opened_before():
    plan = plan_for(_proactive(), mapped_ticket="9001")
    assert isinstance(plan, Send) and isinstance(plan.request, Comment)
    assert (plan.request.ticket_id, plan.request.public) == ("9001", True)


def test_no_ticket_and_no_email_is_refused_with_an_actionable_reason():
    assert plan_for(_proactive(customer_email=None), mapped_ticket=None) == Reject(NO_TICKET_NO_EMAIL)


def test_note_without_ticket_is_skipped_but_goes_to_an_opened_ticket():
    note = _proactive(kind="internal_note", customer_email=None)
    plan = plan_for(note, mapped_ticket=None)
    assert isinstance(plan, Skip) and plan.outcome == "no_ticket"
    mapped = plan_for(note, mapped_ticket="9001")
    assert isinstance(mapped, Send) and isinstance(mapped.request, Comment) and mapped.request.public is False


def test_a_ticket_id_zendesk_cannot_have_is_refused():
    plan = plan_for(_proactive(ticket_id="chat-17"), mapped_ticket=None)
    assert isinstance(plan, Reject) and "chat-17" in plan.reason


def test_withheld_reply_note_names_the_guardrail_violations():
    note = _proactive(
        kind="internal_note",
        ticket_id="8867",
        draft=True,
        draft_kind="proactive_update",
        note_reason="guardrail_failed",
        guardrail_violations=["generic_time_window"],
    )
    plan = plan_for(note, mapped_ticket=None)
    assert isinstance(plan, Send) and isinstance(plan.request, Comment) and plan.request.public is False
    body = plan.request.body
    assert body.startswith("Draft proactive update by wismo, NOT sent to the customer (guardrail_failed)")
    assert "Guardrail violations: generic_time_window" in body
