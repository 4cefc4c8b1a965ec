"""The handler contract: what every specialist handler receives and returns.

Handlers are pure: they read the order context, the case and the route, and return an
:class:`Assessment` (the SPEC §4 contract plus what the decision stage needs). They never write state,
never see the customer's raw text (it is data, never instructions — only the recognised intents), and
never raise for a context the fold can produce.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from wismo.handlers.guardrails import GuardrailFacts
from wismo.processors.routing import Route

from wismo.case import CaseState
from wismo.context import OrderContext
from wismo.policy import Policy
from wismo.records import ActionType, SpecialistResult

Team = Literal["cx", "shipping", "supply_chain", "fraud"]


@dataclass(frozen=True, slots=True)
class ContactInfo:
    """The customer message being answered: its identity and recognised intents, never its text."""

    event_id: str
    ticket_id: str
    channel: str
    intents: frozenset[str]
    resolution: Literal["refund", "replacement"] | None = None


@dataclass(frozen=True, slots=True)
class HandlerInput:
    ctx: OrderContext | None
    case: CaseState
    route: Route
    now: datetime
    policy: Policy
    contact: ContactInfo | None = None
    signals: frozenset[str] = frozenset()
    ambiguous: bool = False
    """For missing_order_data: several open orders match; ask the customer for the order number."""


@dataclass(slots=True)
class Assessment:
    """A handler's answer: the specialist contract and the inputs of the decision stage."""

    result: SpecialistResult
    handler: str
    status_key: str
    """What a proactive update compares with ``last_status_sent``: equal keys mean no real change."""
    team: Team
    facts: GuardrailFacts
    checkpoint_customer_facing: bool = True
    """The next follow-up is a checkpoint the customer may be promised (False: internal monitor only)."""
    action_requests: list[ActionType] = field(default_factory=list)
    """Resolution actions to draft (from the customer's request or the handler's resolution path)."""
    eligibility: dict[str, tuple[bool, list[str]]] = field(default_factory=dict)
    """action type -> (eligible, reasons) from the resolution eligibility check."""
    requested_decision: str = ""
    customer_impact: str = ""
    priority: Literal["normal", "high", "urgent"] = "normal"
    close_case: bool = False
