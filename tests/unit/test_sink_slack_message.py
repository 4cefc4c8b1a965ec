"""The Slack escalation message: every SPEC §7 field, and review buttons the Slack ingest can read back."""

from __future__ import annotations

import json
from typing import Any

import pytest
from builders import hold, placed, run, ticket
from wismo.processors.adapters.base import (
    REVIEW_ACTION_PREFIX,
    REVIEW_BUTTON_LABELS,
    REVIEW_DECISIONS,
    parse_review_button_value,
)
from wismo.sinks.slack import post_message_body
from wismo.sinks.slack_message import escalation_message, escape

from wismo.records import EscalationRecord


@pytest.fixture(scope="module")
def escalation() -> EscalationRecord:
    """A real escalation from the engine: a high-value order on a fraud hold, and the customer asks."""
    out = run(placed("A7", 0, value=900, number="7001"), hold("A7", 1), ticket("A7", 2, ticket_id="4242"))
    recs = [r for r in out.topic("wismo.escalations") if r["ticket_id"] == "4242"]
    assert recs, "the engine should escalate a contact about a held order"
    return EscalationRecord.model_validate(recs[0])


def _texts(blocks: list[dict[str, Any]]) -> str:
    """Every text a reader sees, concatenated."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(blocks)
    return "\n".join(out)


def test_message_carries_every_packet_field(escalation):
    msg = escalation_message(escalation)
    text = _texts(msg["blocks"])
    assert msg["blocks"][0]["type"] == "header"
    assert "#7001" in msg["blocks"][0]["text"]["text"]
    for expected in [
        escalation.case_id,  # case
        "Order facts",
        "Value: 900",  # order facts
        "Blue Mug",
        "fraud_review",
        escalation.condition_type,  # detected condition
        escape(escalation.customer_impact),  # customer impact
        escape(escalation.requested_decision),  # requested decision
        "Approve (`approved`)",  # options
        "Take over (`manual_takeover`)",
        str(int(escalation.deadline.timestamp())),  # deadline as a Slack date token
        escalation.deadline.isoformat(),
        "How the answer returns",  # how the answer returns
        "review.decision",
        escalation.escalation_id,
        escalation.team,
        escalation.priority,
    ]:
        assert expected in text, expected
    assert escalation.requested_decision in msg["text"]  # notification fallback


def test_four_review_buttons_round_trip_through_the_adapter_contract(escalation):
    actions = [b for b in escalation_message(escalation)["blocks"] if b["type"] == "actions"]
    assert len(actions) == 1
    buttons = actions[0]["elements"]
    assert [b["action_id"] for b in buttons] == [REVIEW_ACTION_PREFIX + d for d in REVIEW_DECISIONS]
    assert [b["text"]["text"] for b in buttons] == [REVIEW_BUTTON_LABELS[d] for d in REVIEW_DECISIONS]
    for b in buttons:
        assert parse_review_button_value(b["value"]) == (escalation.escalation_id, escalation.order_id)
    assert {b.get("style") for b in buttons} >= {"primary", "danger"}


def test_no_buttons_without_an_order_and_the_message_says_why(escalation):
    orphan = escalation.model_copy(update={"order_id": None, "order_facts": {}})
    blocks = escalation_message(orphan)["blocks"]
    assert not [b for b in blocks if b["type"] == "actions"]
    text = _texts(blocks)
    assert "No order is linked" in text
    assert "could not be identified" in text


def test_user_text_is_escaped_and_limits_hold(escalation):
    hostile = escalation.model_copy(
        update={"customer_impact": "<!channel> & <https://evil.example|click>", "requested_decision": "x" * 5000}
    )
    blocks = escalation_message(hostile)["blocks"]
    text = _texts(blocks)
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in text
    assert len(blocks[0]["text"]["text"]) <= 150
    for b in blocks:
        if b["type"] == "section" and "text" in b:
            assert len(b["text"]["text"]) <= 3000
        for f in b.get("fields", []):
            assert len(f["text"]) <= 2000
    assert len(blocks) <= 50


def test_post_body_has_channel_and_findable_metadata(escalation):
    body = post_message_body("C0123456789", escalation)
    assert body["channel"] == "C0123456789"
    assert body["metadata"] == {
        "event_type": "wismo_escalation",
        "event_payload": {
            "action_id": escalation.action_id,
            "escalation_id": escalation.escalation_id,
            "order_id": escalation.order_id,
        },
    }
    json.dumps(body)  # serialisable as sent


def test_testing_mode_is_visible(escalation):
    testing = escalation.model_copy(update={"mode": "testing"})
    msg = escalation_message(testing)
    assert msg["blocks"][0]["text"]["text"].startswith("[testing]")
    assert msg["text"].startswith("[testing]")
