"""The row types of the adapters' mapping tables, and the canonical event builder.

Each table is a ``dict`` from a provider value to one of these rows. ``str(row)`` is the row's "result" cell in
docs/adapters.md, exactly: tests/unit/test_adapters_docs.py parses the document and compares, so the code and
the document cannot drift apart. A value missing from a table is ``Rejected("unmapped_value")``; a value that
means nothing for WISMO is an explicit :class:`NoEvent` row with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wismo.processors.adapters._time import rfc3339

from wismo.events import EVENT_TYPES, CarrierDetail, CarrierStatus, Channel, Decision, HoldType


@dataclass(frozen=True, slots=True)
class NoEvent:
    """A documented value that produces no canonical event; ``why`` becomes ``Adapted.ignored``."""

    why: str

    def __str__(self) -> str:
        return "no event"


@dataclass(frozen=True, slots=True)
class Track:
    """A carrier status: a ``tracking.updated`` with this status and detail."""

    status: CarrierStatus
    detail: CarrierDetail | None = None

    def __str__(self) -> str:
        return f"tracking.updated {self.status}" + (f" / {self.detail}" if self.detail else "")


@dataclass(frozen=True, slots=True)
class Detail:
    """A carrier status detail: the canonical ``detail`` (None: the status says it all)."""

    detail: CarrierDetail | None

    def __str__(self) -> str:
        return f"detail {self.detail}" if self.detail else "no detail"


@dataclass(frozen=True, slots=True)
class Hold:
    """A fulfillment hold reason: the canonical ``hold_type``."""

    hold_type: HoldType

    def __str__(self) -> str:
        return f"hold_type {self.hold_type}"


@dataclass(frozen=True, slots=True)
class Reason:
    """A cancellation reason: the canonical ``order.cancelled`` ``reason`` text."""

    reason: str

    def __str__(self) -> str:
        return f"order.cancelled reason {self.reason}"


@dataclass(frozen=True, slots=True)
class ChannelIs:
    """A support channel: the canonical ``ticket.message`` ``channel``."""

    channel: Channel

    def __str__(self) -> str:
        return f"channel {self.channel}"


@dataclass(frozen=True, slots=True)
class DecisionIs:
    """A review button: the canonical ``review.decision`` ``decision``."""

    decision: Decision

    def __str__(self) -> str:
        return f"review.decision {self.decision}"


@dataclass(frozen=True, slots=True)
class Emits:
    """A topic or event kind: which canonical events it can produce (free text, e.g. ``order.placed``)."""

    events: str

    def __str__(self) -> str:
        return self.events


Row = NoEvent | Track | Detail | Hold | Reason | ChannelIs | DecisionIs | Emits
Table = Mapping[str, Row]


def canonical(
    event_id: str, type_: str, occurred_at: datetime, payload: Mapping[str, Any], order_id: str | None = None
) -> dict[str, Any]:
    """One canonical event object (EVENTS.md); ``source`` follows from ``type_``. None payload values are
    dropped so optional fields are absent rather than null."""
    event: dict[str, Any] = {
        "event_id": event_id,
        "source": EVENT_TYPES[type_],
        "type": type_,
        "occurred_at": rfc3339(occurred_at),
        "payload": {k: v for k, v in payload.items() if v is not None},
    }
    if order_id is not None:
        event["order_id"] = order_id
    return event
