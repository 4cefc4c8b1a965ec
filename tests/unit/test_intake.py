"""Intake strictness: values a producer sends in the wrong JSON type are dead-lettered with a reason, not
coerced (EVENTS.md: timestamps are RFC 3339 with an offset)."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest
from wismo.processors.intake import parse_line

from wismo.events import EVENT_TYPES, Event, OrderPlaced, TicketMessage
from wismo.records import DeadLetter


def _placed(**change: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "event_id": "oms-1",
        "source": "oms",
        "type": "order.placed",
        "order_id": "A1",
        "occurred_at": "2026-11-02T09:00:00-05:00",
        "payload": {
            "order_number": "1001",
            "customer": {"id": "c1", "email": "a@example.com"},
            "items": [{"sku": "MUG", "title": "Mug", "qty": 2, "unit_price": 12.5}],
            "order_value": 25.0,
            "currency": "USD",
        },
    }
    ev.update(change)
    return ev


def _ticket(public: Any) -> dict[str, Any]:
    return {
        "event_id": "t-1",
        "source": "ticket",
        "type": "ticket.message",
        "occurred_at": "2026-11-02T09:00:00Z",
        "payload": {"ticket_id": "ZD-1", "channel": "email", "author": "agent", "public": public, "text": "hi"},
    }


def test_well_typed_events_parse() -> None:
    assert isinstance(parse_line(json.dumps(_placed())), OrderPlaced)
    assert isinstance(parse_line(json.dumps(_ticket(True))), TicketMessage)


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (_placed(occurred_at=1762077600), "occurred_at: timestamp must be an RFC 3339 string"),
        (_ticket("yes"), "payload.public"),
        (
            _placed(payload=_placed()["payload"] | {"items": [{"sku": "MUG", "qty": "2"}]}),
            "payload.items.0.qty",
        ),
    ],
)
def test_values_of_the_wrong_json_type_are_dead_lettered(event: dict[str, Any], reason: str) -> None:
    dl = parse_line(json.dumps(event), source_name="in.ndjson", line=3)
    assert isinstance(dl, DeadLetter)
    assert dl.error_type == "invalid_event" and reason in dl.reason
    assert dl.original == json.dumps(event) and dl.line == 3


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (_placed(source="carrier"), "'oms' for order.placed events"),
        (_ticket(True) | {"source": "oms"}, "'ticket' for ticket.message events"),
    ],
)
def test_an_event_from_the_wrong_source_is_dead_lettered(event: dict[str, Any], expected: str) -> None:
    """EVENTS.md pairs every type with one source; a producer mapping a type onto another source is told so."""
    dl = parse_line(json.dumps(event))
    assert isinstance(dl, DeadLetter)
    assert dl.error_type == "invalid_event"
    assert f"source: must be {expected}" in dl.reason and repr(event["source"]) in dl.reason


def test_every_event_class_pins_the_source_event_types_names() -> None:
    """The source each event class accepts and EVENT_TYPES (topic routing, dead-letter reasons) agree."""
    union = get_args(get_args(Event)[0])
    pinned = {
        get_args(c.model_fields["type"].annotation)[0]: get_args(c.model_fields["source"].annotation) for c in union
    }
    assert pinned == {t: (s,) for t, s in EVENT_TYPES.items()}
