"""Case state: the saved values of one WISMO case (SPEC §6) plus what the decision stage needs to stay
idempotent (escalations and drafts already written, the status last sent).

One case is open per order at a time. A case closes when the order is delivered (and nobody disputes
it) or cancelled; the next customer contact, or a new exception, opens a new case with the next
sequence number (``WC-<order_id>-<n>``), so contact counts start again for a new issue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from wismo.conditions import ConditionType
from wismo.records import ActionType, ApprovalState


@dataclass(slots=True, kw_only=True)
class Contact:
    event_id: str
    ticket_id: str
    channel: str
    at: datetime
    intents: list[str]


@dataclass(slots=True, kw_only=True)
class SentUpdate:
    """A customer-visible message (or its testing-mode draft), kept for the repeated-contact summary."""

    action_id: str
    kind: str
    at: datetime
    condition_type: str
    status_key: str


@dataclass(slots=True, kw_only=True)
class OpenEscalation:
    escalation_id: str
    condition_type: str
    reasons: list[str]
    team: str
    at: datetime
    action_draft_ids: list[str] = field(default_factory=list)
    state: str = "open"
    """open | approved | denied | changes_requested | manual_takeover"""


@dataclass(slots=True, kw_only=True)
class DraftState:
    action_id: str
    action_type: ActionType
    approval_state: ApprovalState
    escalation_id: str | None = None


@dataclass(slots=True, kw_only=True)
class ReviewerDecision:
    event_id: str
    escalation_id: str
    decision: str
    reviewer: str
    at: datetime


@dataclass(slots=True, kw_only=True)
class CaseState:
    wismo_case_id: str
    order_id: str | None
    seq: int = 1
    status: str = "open"
    """open | closed"""
    opened_at: datetime
    closed_at: datetime | None = None
    shipment_ids: list[str] = field(default_factory=list)
    condition_type: ConditionType | None = None
    last_backend_status_seen: str | None = None
    last_customer_update_at: datetime | None = None
    last_proactive_at: datetime | None = None
    last_status_sent: str | None = None
    next_follow_up_due_at: datetime | None = None
    follow_up_reason: str | None = None
    checkpoint_promised: bool = False
    """The customer was told to expect an update by ``next_follow_up_due_at``."""
    checkpoints_without_change: int = 0
    prior_contact_count: int = 0
    restricted_state: str | None = None
    contacts: list[Contact] = field(default_factory=list)
    open_ticket_id: str | None = None
    open_ticket_channel: str | None = None
    dnr_claimed_at: datetime | None = None
    escalation_keys: list[str] = field(default_factory=list)
    """Keys of escalations already raised (condition|reasons), so backend re-evaluations do not repeat."""
    escalations: dict[str, OpenEscalation] = field(default_factory=dict)
    drafts: dict[str, DraftState] = field(default_factory=dict)
    approved_actions: list[str] = field(default_factory=list)
    manual_takeover: bool = False
    reviewer_decisions: list[ReviewerDecision] = field(default_factory=list)
    sent: list[SentUpdate] = field(default_factory=list)
    last_evaluated_at: datetime | None = None
    pending_status_key: str | None = None
    """A proactive change that was throttled, sent when the window opens."""
    exception_at: datetime | None = None
    """Event time at which the case entered its current backend-exception condition (metrics: time from a
    backend exception to the first customer update); None outside exception conditions."""
    exception_answered: bool = False
    """A customer update was sent since ``exception_at``."""
    last_withheld: str | None = None
    """``<reason>:<status key>`` of the last proactive update withheld with a note (a teammate owns the
    conversation, or the guardrail failed), so re-evaluations of an unchanged case do not write the same
    note again; cleared when a message goes out."""

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def answered_draft_ids(self, escalation_id: str) -> list[str]:
        """The action drafts a reviewer's answer to ``escalation_id`` decides: the escalation's drafts, or the
        draft itself when the reviewer answered a draft directly (one that needed no escalation)."""
        esc = self.escalations.get(escalation_id)
        return list(esc.action_draft_ids) if esc is not None else [escalation_id]


MAX_SENT_KEPT = 10
"""Sent updates kept per case for the repeated-contact summary."""


def case_id_for(order_key: str, seq: int) -> str:
    """Deterministic case id: ``WC-<order_id>-<seq>``."""
    return f"WC-{order_key}-{seq}"
