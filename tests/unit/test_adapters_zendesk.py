"""Zendesk comments through ``adapt``: ticket+audit samples and documented event-subscription webhooks.

Samples: ../shared/payloads/zendesk/ (see its SOURCES.md): request and response bodies decoded from VCR
cassettes of zendesk/zendesk_api_client_rb @ df33a19f (Apache-2.0; recorded against Zendesk's staging
account), used in place and unmodified. No event-subscription webhook sample was saved; those bodies are
built from the documented ``zen:event-type:ticket.*`` shape.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from shared_payloads import PAYLOADS
from wismo.processors.adapters import adapt
from wismo.processors.adapters._outcomes import ChannelIs, NoEvent
from wismo.processors.adapters.base import Adapted, AdapterOptions, StaticLookups, comment_marker
from wismo.processors.adapters.zendesk import AUDIT_EVENT_TYPE, EVENT_TYPE, VIA_CHANNEL

from wismo.events import TicketMessage, parse_event_obj

SAMPLES = PAYLOADS / "zendesk"


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def run(body: Any, options: AdapterOptions | None = None) -> Adapted:
    return adapt("zendesk", {}, body, StaticLookups(), options or AdapterOptions())


def parsed(result: Adapted) -> list[Any]:
    return [parse_event_obj(e) for e in result.events]


# ---- ticket + audit samples -------------------------------------------------------------------------------


def test_created_ticket_sample_is_the_requesters_public_message() -> None:
    result = run(sample("ticket_create_with_comment_0_post_response.json"))
    (event,) = parsed(result)
    assert isinstance(event, TicketMessage)
    assert event.event_id == "zendesk-comment-98974412" and result.delivery_id == "98974402"
    p = event.payload
    assert (p.ticket_id, p.channel, p.author, p.public, p.text) == ("8867", "ticket", "customer", True, "Indeed it is!")
    assert p.customer is None, "a Zendesk user id is not the shop's customer id"
    assert result.events[0]["payload"]["zendesk_requester_id"] == "20014192"
    assert event.order_id is None and p.order_number is None
    assert event.occurred_at == datetime(2015, 12, 30, 1, 45, 30, tzinfo=UTC)


def test_updated_ticket_sample_without_comment_is_ignored() -> None:
    result = run(sample("ticket_update_put_0_put_response.json"))  # only a subject Change
    assert result.events == [] and result.rejected == [] and "Change" in (result.ignored or "")


def test_audit_list_sample_separates_customer_agent_and_internal_notes() -> None:
    result = run(sample("ticket_audits_public_and_private_comments_0_get_response.json"))
    events = parsed(result)
    assert result.rejected == []
    by_id = {e.event_id: e.payload for e in events}
    # requester 20014182 (from the audit's Create requester_id event) wrote the first public comment
    first = by_id["zendesk-comment-21078922"]
    assert (first.author, first.public) == ("customer", True)
    # the private comment is an internal note, whoever wrote it
    note = by_id["zendesk-comment-21078972"]
    assert (note.author, note.public) == ("agent", False) and note.text.startswith("This is a private comment")
    # comments by user 20014187 (not the requester) are agent replies
    replies = [e for e in events if e.payload.author == "agent" and e.payload.public]
    assert len(replies) == 18 and all(e.payload.ticket_id == "1" for e in events)
    assert {e.payload.channel for e in events} == {"ticket"}  # web and api audits
    assert len(events) == 22


def test_public_comment_with_unknown_requester_is_missing_field() -> None:
    body = sample("ticket_audits_public_and_private_comments_0_get_response.json")
    body["audits"] = body["audits"][4:6]  # no requester_id event in these
    result = run(body)
    assert [r.code for r in result.rejected] == ["missing_field"] and "requester_id" in result.rejected[0].reason


def test_create_request_body_is_not_a_delivery() -> None:
    result = run(sample("ticket_create_with_comment_0_post_request.json"))  # {"ticket": {...}} without audit
    assert result.events == [] and [r.code for r in result.rejected] == ["missing_field"]


def test_order_number_from_a_configured_custom_field() -> None:
    body = sample("ticket_create_with_comment_0_post_response.json")
    body["ticket"]["custom_fields"][1]["value"] = "#1001"
    (event,) = parsed(run(body, AdapterOptions(zendesk_order_number_fields=("20027726",))))
    assert event.payload.order_number == "#1001"
    (event,) = parsed(run(body))  # not configured: left to the engine's intake
    assert event.payload.order_number is None


def test_email_audit_carries_the_senders_address_for_the_customer() -> None:
    body = sample("ticket_create_with_comment_0_post_response.json")
    body["audit"]["via"] = {
        "channel": "email",
        "source": {"from": {"address": "bob@example.com", "name": "Bob"}, "to": {}, "rel": None},
    }
    (event,) = parsed(run(body))
    assert event.payload.channel == "email" and event.payload.customer.email == "bob@example.com"


@pytest.mark.parametrize("kind", sorted(AUDIT_EVENT_TYPE))
def test_every_audit_event_type(kind: str) -> None:
    body = sample("ticket_create_with_comment_0_post_response.json")
    body["audit"]["events"] = [dict(body["audit"]["events"][0], type=kind)]
    result = run(body)
    if isinstance(AUDIT_EVENT_TYPE[kind], NoEvent):
        assert result.events == [] and result.rejected == [] and kind in (result.ignored or "")
    else:
        assert [e.type for e in parsed(result)] == ["ticket.message"]


def test_unknown_audit_event_type_is_rejected_but_comments_still_go_through() -> None:
    body = sample("ticket_create_with_comment_0_post_response.json")
    body["audit"]["events"].append({"id": 1, "type": "QuantumEntanglement"})
    result = run(body)
    assert len(parsed(result)) == 1 and [r.code for r in result.rejected] == ["unmapped_value"]


# ---- event-subscription webhooks (documented shape) ---------------------------------------------------------


def comment_added(
    *, is_staff: bool | None, public: bool, channel: str = "web_form", author_id: str = "9001"
) -> dict[str, Any]:
    author: dict[str, Any] = {"id": author_id, "name": "Jane Doe"}
    if is_staff is not None:
        author["is_staff"] = is_staff
    return {
        "account_id": 22129848,
        "detail": {
            "actor_id": author_id,
            "assignee_id": "7001",
            "brand_id": "5446",
            "created_at": "2026-11-02T13:00:00Z",
            "description": "Where is my order?",
            "id": "5158",
            "is_public": True,
            "requester_id": "9001",
            "status": "OPEN",
            "subject": "Order 1001",
            "updated_at": "2026-11-02T14:05:00Z",
            "via": {"channel": channel},
        },
        "event": {
            "comment": {"author": author, "body": "Any news on order #1001?", "id": "10001", "is_public": public}
        },
        "id": "cbe4028c-7239-495d-b020-f22348516046",
        "subject": "zen:ticket:5158",
        "time": "2026-11-02T14:05:00.712Z",
        "type": "zen:event-type:ticket.comment_added",
        "zendesk_event_version": "2022-11-06",
    }


@pytest.mark.parametrize(
    ("is_staff", "public", "author_id", "expected"),
    [
        (False, True, "9001", ("customer", True)),  # customer message
        (True, True, "7001", ("agent", True)),  # agent public reply
        (True, False, "7001", ("agent", False)),  # internal note
        (False, False, "9002", ("agent", False)),  # private, whoever wrote it: an internal note
        (None, True, "9001", ("customer", True)),  # no is_staff: the requester is the customer
        (None, True, "7001", ("agent", True)),
    ],
)
def test_comment_added_author_and_visibility(
    is_staff: bool | None, public: bool, author_id: str, expected: tuple[str, bool]
) -> None:
    result = run(comment_added(is_staff=is_staff, public=public, author_id=author_id))
    (event,) = parsed(result)
    assert (event.payload.author, event.payload.public) == expected
    assert event.event_id == "zendesk-comment-10001" and result.delivery_id == "cbe4028c-7239-495d-b020-f22348516046"
    assert event.payload.ticket_id == "5158" and event.payload.customer is None
    assert result.events[0]["payload"]["zendesk_requester_id"] == "9001"
    assert event.payload.text == "Any news on order #1001?" and event.payload.order_number is None
    assert event.occurred_at == datetime(2026, 11, 2, 14, 5, 0, 712000, tzinfo=UTC)
    assert result.events[0]["payload"]["author_name"] == "Jane Doe"


@pytest.mark.parametrize("channel", sorted(VIA_CHANNEL))
def test_every_via_channel(channel: str) -> None:
    (event,) = parsed(run(comment_added(is_staff=False, public=True, channel=channel)))
    row = VIA_CHANNEL[channel]
    assert isinstance(row, ChannelIs) and event.payload.channel == row.channel


def test_unknown_channel_is_rejected() -> None:
    result = run(comment_added(is_staff=False, public=True, channel="carrier_pigeon"))
    assert result.events == [] and [r.code for r in result.rejected] == ["unmapped_value"]


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPE))
def test_every_event_type(event_type: str) -> None:
    body = comment_added(is_staff=False, public=True)
    body["type"] = f"zen:event-type:{event_type}"
    result = run(body)
    if isinstance(EVENT_TYPE[event_type], NoEvent):
        assert result.events == [] and result.rejected == [] and event_type in (result.ignored or "")
    else:
        assert [e.type for e in parsed(result)] == ["ticket.message"]


def test_priority_change_is_ignored_and_unknown_types_are_unknown_topics() -> None:
    body = {
        "type": "zen:event-type:ticket.priority_changed",
        "id": "x",
        "detail": {"id": "5158"},
        "event": {"current": "HIGH", "previous": "NORMAL"},
    }
    assert run(body).ignored is not None
    body["type"] = "zen:event-type:user.created"
    assert [r.code for r in run(body).rejected] == ["unknown_topic"]


def test_same_comment_through_both_shapes_has_one_event_id() -> None:
    audit_body = sample("ticket_create_with_comment_0_post_response.json")
    hook = comment_added(is_staff=False, public=True)
    hook["event"]["comment"]["id"] = str(audit_body["audit"]["events"][0]["id"])
    assert run(hook).events[0]["event_id"] == run(audit_body).events[0]["event_id"]


@pytest.mark.parametrize("public", [True, False])
def test_wismos_own_comment_coming_back_is_ignored(public: bool) -> None:
    """The Zendesk sink's reply (public) or note (private) returns through the webhook as an agent comment; it
    must not count as a teammate's update, which would silence automation for the case."""
    body = comment_added(is_staff=True, public=public, author_id="7001")
    body["event"]["comment"]["body"] = "Your parcel is with UPS.\n\n" + comment_marker("act_0123456789abcdef")
    result = run(body)
    assert result.events == [] and result.rejected == [] and result.ignored and "wismo's own" in result.ignored
    human = comment_added(is_staff=True, public=public, author_id="7001")
    assert parsed(run(human)), "a teammate's comment still comes through"
