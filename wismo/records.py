"""Output records (EVENTS.md "Output: action records") and the specialist contract (SPEC §4).

Every record written to ``wismo.replies``, ``wismo.notes``, ``wismo.escalations`` and ``wismo.actions``
is an :class:`ActionRecord` (or a subclass adding kind-specific fields). The field names are a public
contract: add optional fields, never rename or drop one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict

from wismo.conditions import ConditionType

Mode = Literal["live", "testing"]
Kind = Literal["reply", "proactive_update", "internal_note", "escalation", "action_draft"]
RecommendedAction = Literal[
    "answer", "monitor", "trace", "investigate", "replacement_review", "refund_review", "escalate"
]
CustomerOption = Literal[
    "wait",
    "cancel",
    "alternate_item",
    "address_correction",
    "hold_for_pickup",
    "reattempt",
    "replacement",
    "refund",
]
Confidence = Literal["high", "medium", "low"]
ActionType = Literal["replacement", "refund", "cancellation", "address_change"]
DeadLetterType = Literal["malformed_json", "invalid_event", "unknown_type", "unknown_reference", "internal_error"]
ApprovalState = Literal[
    "pending_approval", "approved", "denied", "changes_requested", "manual_takeover", "not_eligible"
]

TOPIC_REPLIES = "wismo.replies"
TOPIC_NOTES = "wismo.notes"
TOPIC_ESCALATIONS = "wismo.escalations"
TOPIC_ACTIONS = "wismo.actions"
TOPIC_DECISIONS = "wismo.decisions"
TOPIC_DLQ = "wismo.dlq"
OUTPUT_TOPICS = (TOPIC_REPLIES, TOPIC_NOTES, TOPIC_ESCALATIONS, TOPIC_ACTIONS, TOPIC_DECISIONS, TOPIC_DLQ)


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True, slots=True)
class SpecialistResult:
    """What every specialist handler returns (SPEC §4). Pure data; no I/O. A plain dataclass: one is built
    per evaluation, on the hot path."""

    condition_type: ConditionType
    customer_safe_summary: str
    internal_summary: str
    recommended_action: RecommendedAction
    customer_options: list[CustomerOption]
    follow_up_reason: str | None
    next_follow_up_due_at: datetime | None
    confidence: Confidence
    escalation_reasons: list[str]


class ActionRecord(_Record):
    """One record on replies / notes / escalations / actions. ``action_id`` is deterministic."""

    action_id: str
    kind: Kind
    mode: Mode
    case_id: str
    order_id: str | None
    ticket_id: str | None
    channel: str | None = None
    condition_type: ConditionType
    recommended_action: RecommendedAction
    escalation_reasons: list[str]
    text: str
    caused_by: str
    created_at: datetime
    customer_safe_summary: str
    internal_summary: str
    customer_options: list[CustomerOption]
    follow_up_reason: str | None
    next_follow_up_due_at: datetime | None
    confidence: Confidence
    draft: bool = False
    draft_kind: Kind | None = None
    """On a testing-mode or withheld note: the kind the draft would have been sent as."""
    customer_email: str | None = None
    """On a message for an order with no open ticket (channel ``proactive``): the customer's e-mail, so a
    helpdesk sink can open a ticket for it; null otherwise (the ticket already names the requester)."""
    note_reason: str | None = None
    """On an internal note: why it was written (``testing_mode``, ``guardrail_failed``, ...)."""
    guardrail_violations: list[str] = []


class EscalationRecord(ActionRecord):
    """SPEC §7 packet: case, order facts, condition, impact, requested decision, options, deadline,
    and how the answer returns. ``escalation_id`` equals ``action_id``."""

    escalation_id: str
    team: Literal["cx", "shipping", "supply_chain", "fraud"]
    priority: Literal["normal", "high", "urgent"]
    order_facts: dict[str, Any]
    customer_impact: str
    requested_decision: str
    decision_options: list[str]
    deadline: datetime
    answer_via: str
    action_draft_ids: list[str] = []


class ActionDraftRecord(ActionRecord):
    """An approval-gated write (replacement, refund, cancellation, address change)."""

    action_type: ActionType
    approval_state: ApprovalState
    eligible: bool
    eligibility_reasons: list[str]
    requires_approval: bool
    write_enabled: bool
    executed: bool = False
    amount: str | None = None
    currency: str | None = None
    draft_of: str | None = None
    """On a record written after a reviewer decision: the ``action_id`` of the original draft."""


class DecisionRecord(_Record):
    """One audit record per evaluation of a case (``wismo.decisions``). Built with :func:`decision_record`
    on the hot path."""

    decision_id: str
    case_id: str
    order_id: str | None
    condition_type: ConditionType
    handler: str
    recommended_action: RecommendedAction
    escalation_reasons: list[str]
    mode: Mode
    caused_by: str
    evaluated_at: datetime
    suppressed: str | None
    action_ids: list[str]
    event_type: str | None = None
    trigger: str | None = None
    inputs: dict[str, Any] = {}
    confidence: Confidence | None = None
    next_follow_up_due_at: datetime | None = None
    kill_switch: bool = False


class DeadLetter(_Record):
    """Input that could not be processed (``wismo.dlq``): the original message and an actionable reason."""

    dlq_id: str
    reason: str
    error_type: DeadLetterType
    original: str
    event_id: str | None = None
    event_type: str | None = None
    order_id: str | None = None
    source_name: str | None = None
    line: int | None = None


_DECISION_FIELDS = frozenset(DecisionRecord.model_fields)
# The slot setters of BaseModel (what ``object.__setattr__(rec, name, value)`` would find by name).
_set_fields_set = vars(BaseModel)["__pydantic_fields_set__"].__set__
_set_extra = vars(BaseModel)["__pydantic_extra__"].__set__
_set_private = vars(BaseModel)["__pydantic_private__"].__set__


R = TypeVar("R", bound=_Record)


def _unvalidated(cls: type[R], data: dict[str, Any], fields_set: set[str] | frozenset[str]) -> R:
    """A ``cls`` holding ``data`` (every field, in declaration order) as it is: what ``model_construct`` does,
    without its per-field work."""
    rec = cls.__new__(cls)
    object.__setattr__(rec, "__dict__", data)
    _set_fields_set(rec, fields_set)
    _set_extra(rec, None)
    _set_private(rec, None)
    return rec


def decision_record(
    *,
    decision_id: str,
    case_id: str,
    order_id: str | None,
    condition_type: ConditionType,
    handler: str,
    recommended_action: RecommendedAction,
    escalation_reasons: list[str],
    mode: Mode,
    caused_by: str,
    evaluated_at: datetime,
    suppressed: str | None,
    action_ids: list[str],
    event_type: str | None,
    trigger: str | None,
    inputs: dict[str, Any],
    confidence: Confidence | None,
    next_follow_up_due_at: datetime | None,
    kill_switch: bool,
) -> DecisionRecord:
    """Build a :class:`DecisionRecord` without re-validating values the engine itself produced (one per
    evaluation, so validation would dominate the cost). Every field must be given; ``__dict__`` holds them
    in the model's field order, which is the order :func:`record_json` writes. The test suite validates
    every emitted decision against the model, which keeps this honest."""
    return _unvalidated(
        DecisionRecord,
        {
            "decision_id": decision_id,
            "case_id": case_id,
            "order_id": order_id,
            "condition_type": condition_type,
            "handler": handler,
            "recommended_action": recommended_action,
            "escalation_reasons": escalation_reasons,
            "mode": mode,
            "caused_by": caused_by,
            "evaluated_at": evaluated_at,
            "suppressed": suppressed,
            "action_ids": action_ids,
            "event_type": event_type,
            "trigger": trigger,
            "inputs": inputs,
            "confidence": confidence,
            "next_follow_up_due_at": next_follow_up_due_at,
            "kill_switch": kill_switch,
        },
        _DECISION_FIELDS,
    )


@dataclass(frozen=True, slots=True)
class _Layout:
    """A record model's fields in declaration order, with the default of each optional one."""

    names: tuple[str, ...]
    known: frozenset[str]
    defaults: dict[str, Any]
    required: frozenset[str]


_LAYOUTS: dict[type[BaseModel], _Layout] = {}


def _layout(cls: type[BaseModel]) -> _Layout:
    layout = _LAYOUTS.get(cls)
    if layout is None:
        fields = cls.model_fields
        defaults = {n: f.default for n, f in fields.items() if not f.is_required()}
        required = frozenset(n for n in fields if n not in defaults)
        layout = _LAYOUTS[cls] = _Layout(tuple(fields), frozenset(fields), defaults, required)
    return layout


def engine_record(cls: type[R], values: dict[str, Any]) -> R:
    """Build an action record from values the engine itself produced, without re-validating them (several per
    customer message, on the hot path); fields not given take their defaults (a fresh copy of a list). A
    missing required field or an unknown one raises ``TypeError`` (a bug, never bad input). The test suite
    validates every emitted record against its model, which keeps this honest (tests/unit/test_records.py)."""
    layout = _layout(cls)
    if not (layout.required <= values.keys() <= layout.known):
        raise TypeError(
            f"{cls.__name__}: missing {sorted(layout.required - values.keys())}, "
            f"unknown {sorted(values.keys() - layout.known)}"
        )
    data = {}
    for name in layout.names:
        if name in values:
            data[name] = values[name]
        else:
            default = layout.defaults[name]
            data[name] = list(default) if isinstance(default, list) else default
    return _unvalidated(cls, data, set(values))


_DIRECT_JSON = frozenset({DecisionRecord, ActionRecord, EscalationRecord, ActionDraftRecord})
"""Records whose ``__dict__`` holds only JSON values, datetimes and dicts/lists of them, in field order: orjson
writes them exactly as pydantic does (UTC as ``Z``)."""


def record_json(rec: BaseModel) -> bytes:
    """One record as JSON bytes. The engine's records (one or more per evaluation) take a direct orjson path
    that writes the same JSON as pydantic; everything else goes through the model's serializer."""
    if type(rec) in _DIRECT_JSON:
        return orjson.dumps(rec.__dict__, option=orjson.OPT_UTC_Z)
    return rec.model_dump_json().encode()
