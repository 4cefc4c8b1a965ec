"""The handler contract: what every specialist handler receives and returns.

Handlers are pure: they read the order context, the case and the route, and return an
:class:`Assessment` (the SPEC §4 contract plus what the decision stage needs). They never write state,
never see the customer's raw text (it is data, never instructions — only the recognised intents), and
never raise for a context the fold can produce.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, NamedTuple

from wismo.handlers.guardrails import GuardrailFacts
from wismo.processors.routing import Route

from wismo.case import CaseState
from wismo.conditions import ConditionType
from wismo.context import OrderContext
from wismo.policy import Policy
from wismo.records import ActionType, Confidence, CustomerOption, RecommendedAction, SpecialistResult

Team = Literal["cx", "shipping", "supply_chain", "fraud"]


@dataclass(frozen=True, slots=True)
class ContactInfo:
    """The customer message being answered: its identity and recognised intents, never its text."""

    event_id: str
    ticket_id: str
    channel: str
    intents: frozenset[str]
    resolution: Literal["refund", "replacement"] | None = None
    acknowledges_receipt: bool = False
    """The message says the order reached the customer ("it arrived, thanks")."""
    unfound_number: str = ""
    """The order number the message named when no order has it (matched by the customer's identity
    instead); the reply says which order it is about."""


class HandlerInput(NamedTuple):
    """What a handler reads. Immutable; a named tuple because one is built per evaluation."""

    ctx: OrderContext | None
    case: CaseState
    route: Route
    now: datetime
    policy: Policy
    contact: ContactInfo | None = None
    signals: frozenset[str] = frozenset()
    ambiguous: bool = False
    """For missing_order_data: several open orders match; ask the customer for the order number."""


Text = str | Callable[[], str]
"""A text, or a function that writes it: handlers defer text until a record actually needs it."""


def _text(t: Text) -> str:
    return t if isinstance(t, str) else t()


def lazy_texts(build: Callable[[], tuple[str, str]]) -> tuple[Callable[[], str], Callable[[], str]]:
    """Split one deferred ``(customer_safe_summary, internal_summary)`` builder into the two deferred
    texts an :class:`Assessment` takes; ``build`` runs at most once."""
    cache: list[tuple[str, str]] = []

    def get() -> tuple[str, str]:
        if not cache:
            cache.append(build())
        return cache[0]

    return (lambda: get()[0]), (lambda: get()[1])


@dataclass(slots=True)
class Assessment:
    """A handler's answer: the specialist contract and the inputs of the decision stage.

    The contract's decision fields are plain attributes; the two texts are written only when
    :attr:`result` is first read, because most evaluations (a backend event with nothing to say) never
    need them."""

    condition_type: ConditionType
    recommended_action: RecommendedAction
    customer_options: list[CustomerOption]
    follow_up_reason: str | None
    next_follow_up_due_at: datetime | None
    confidence: Confidence
    escalation_reasons: list[str]
    summary: Text
    internal: Text
    handler: str
    status_key: str
    """What a proactive update compares with ``last_status_sent``: equal keys mean no real change."""
    team: Team
    facts_factory: Callable[[], GuardrailFacts]
    """Builds the guardrail facts; only called when a customer text is actually checked."""
    checkpoint_customer_facing: bool = True
    """The next follow-up is a checkpoint the customer may be promised (False: internal monitor only)."""
    action_requests: list[ActionType] = field(default_factory=list)
    """Resolution actions to draft (from the customer's request or the handler's resolution path)."""
    requested_decision: str = ""
    customer_impact: str = ""
    priority: Literal["normal", "high", "urgent"] = "normal"
    close_case: bool = False
    _result: SpecialistResult | None = None

    @property
    def result(self) -> SpecialistResult:
        """The full SPEC §4 contract (writes the texts on first use)."""
        if self._result is None:
            self._result = SpecialistResult(
                condition_type=self.condition_type,
                customer_safe_summary=_text(self.summary),
                internal_summary=_text(self.internal),
                recommended_action=self.recommended_action,
                customer_options=self.customer_options,
                follow_up_reason=self.follow_up_reason,
                next_follow_up_due_at=self.next_follow_up_due_at,
                confidence=self.confidence,
                escalation_reasons=self.escalation_reasons,
            )
        return self._result

    def recommend(self, action: RecommendedAction) -> None:
        """Change the recommended action after the handler (the decision stage hands the case to a person);
        :attr:`result` follows, so every record of the evaluation says the same."""
        self.recommended_action = action
        if self._result is not None:
            self._result = replace(self._result, recommended_action=action)

    def facts(self) -> GuardrailFacts:
        return self.facts_factory()
