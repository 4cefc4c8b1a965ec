"""Slack review-button clicks through ``adapt``.

Sample: ../shared/payloads/slack/block_actions_payload_sdk_sample.json, from slackapi/java-slack-sdk @
86ff7ca9 (MIT, "Copyright (c) 2020 - Slack Technologies, LLC"), used in place. Its values are empty
placeholders (a field inventory, not a real click), so :func:`click` fills the fields a real click carries.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from shared_payloads import PAYLOADS
from wismo.processors.adapters import adapt
from wismo.processors.adapters.base import (
    REVIEW_ACTION_PREFIX,
    REVIEW_DECISIONS,
    Adapted,
    StaticLookups,
    review_button_value,
)

from wismo.events import ReviewDecision, parse_event_obj

SAMPLE = PAYLOADS / "slack" / "block_actions_payload_sdk_sample.json"


def sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return data


def run(body: Any) -> Adapted:
    return adapt("slack", {}, body, StaticLookups())


def click(decision: str = "approved", value: str | None = None, action_id: str | None = None) -> dict[str, Any]:
    body = sample()
    body["type"] = "block_actions"
    body["trigger_id"] = "13345224609.738474920.8088930838d88f008e0"
    body["user"].update(id="U0CA5", username="amy", name="Amy McGee")
    body["container"].update(type="message", message_ts="1548426417.840180", channel_id="C0CA5")
    action = body["actions"][0]
    action.update(
        action_id=action_id if action_id is not None else f"{REVIEW_ACTION_PREFIX}{decision}",
        value=value if value is not None else review_button_value("esc-42", "A1001"),
        type="button",
        action_ts="1548426460.112233",
    )
    return body


@pytest.mark.parametrize("decision", REVIEW_DECISIONS)
def test_every_review_button_is_a_review_decision(decision: str) -> None:
    result = run(click(decision))
    (event,) = (parse_event_obj(e) for e in result.events)
    assert isinstance(event, ReviewDecision)
    assert (event.order_id, event.payload.escalation_id, event.payload.decision) == ("A1001", "esc-42", decision)
    assert event.payload.reviewer == "U0CA5" and result.events[0]["payload"]["reviewer_name"] == "Amy McGee"
    assert event.occurred_at == datetime(2019, 1, 25, 14, 27, 40, 112233, tzinfo=UTC)
    assert event.event_id == "slack-1548426417.840180-1548426460.112233-U0CA5"
    assert result.delivery_id == "13345224609.738474920.8088930838d88f008e0"


def test_the_placeholder_sample_itself_is_a_bad_button() -> None:
    result = run(sample())  # empty action_id: not a button wismo wrote
    assert result.events == [] and [r.code for r in result.rejected] == ["bad_button"]


@pytest.mark.parametrize(
    ("action_id", "value"),
    [
        ("wismo_review:approve", None),  # not a decision
        ("other_app:approved", None),
        (None, "esc-42"),  # value without the order
        (None, "|A1001"),
        (None, ""),
    ],
)
def test_anything_else_is_a_bad_button(action_id: str | None, value: str | None) -> None:
    result = run(click(action_id=action_id, value=value))
    assert result.events == [] and [r.code for r in result.rejected] == ["bad_button"]


def test_other_interaction_types_are_bad_buttons() -> None:
    body = click()
    body["type"] = "view_submission"
    assert [r.code for r in run(body).rejected] == ["bad_button"]


def test_same_click_replayed_is_the_same_event_and_a_second_click_is_another() -> None:
    assert run(click()).events == run(click()).events
    second = click()
    second["actions"][0]["action_ts"] = "1548426499.000001"
    assert run(second).events[0]["event_id"] != run(click()).events[0]["event_id"]


def test_message_ts_falls_back_to_the_message() -> None:
    body = click()
    del body["container"]
    body["message"]["ts"] = "1548426417.840180"
    assert run(body).events[0]["event_id"] == "slack-1548426417.840180-1548426460.112233-U0CA5"
