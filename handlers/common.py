"""Helpers every specialist handler uses to fill the SPEC §4 contract the same way."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from wismo.handlers.base import Assessment, HandlerInput, Team, Text, _text
from wismo.handlers.guardrails import GuardrailFacts
from wismo.handlers.phrasing import guardrail_facts
from wismo.processors.routing import RESTRICTED_HOLDS

from wismo.case import CaseState, ReviewerDecision
from wismo.conditions import ConditionType
from wismo.records import Confidence, CustomerOption, RecommendedAction
from wismo.timefmt import zone

STANDARD_CONDITIONS: frozenset[ConditionType] = frozenset(
    {"processing_within_sla", "standard_in_transit", "delivered", "missing_order_data"}
)
"""Conditions that are not exceptions: a high order value alone does not escalate them."""


OPTION_ACTIONS: dict[str, str] = {
    "cancel": "cancellation",
    "address_correction": "address_change",
    "refund": "refund",
    "replacement": "replacement",
}
"""Customer options that ask for a resolution action: not offered again once a reviewer approved it."""


def options(inp: HandlerInput, *wanted: CustomerOption, alternates_for: tuple[str, ...] = ()) -> list[CustomerOption]:
    """The subset of ``wanted`` the policy allows; ``alternate_item`` only with an approved alternate; never
    an action the case already has approved."""
    pol = inp.policy
    allowed = pol.customer_options.allowed  # Policy.option_allowed, read once
    approved = inp.case.approved_actions
    out: list[CustomerOption] = []
    for opt in wanted:
        if opt not in allowed or opt in out:
            continue
        if approved and OPTION_ACTIONS.get(opt) in approved:
            continue
        if opt == "alternate_item" and not any(pol.customer_options.approved_alternates.get(s) for s in alternates_for):
            continue
        out.append(opt)
    return out


def due_in(inp: HandlerInput, condition: ConditionType) -> datetime:
    """The policy's follow-up time for ``condition`` from the evaluation time."""
    return inp.now + inp.policy.follow_up_after(condition)


def due_at_or_later(inp: HandlerInput, when: datetime | None, condition: ConditionType) -> datetime:
    """``when`` if it is in the future, else the policy follow-up from now."""
    if when is not None and when > inp.now:
        return when
    return due_in(inp, condition)


def start_of_day(d: date, tz: str) -> datetime:
    """Midnight of calendar date ``d`` in the customer time zone (supplier ETAs are dates)."""
    return datetime.combine(d, time(0, 0), tzinfo=zone(tz))


def is_high_value(inp: HandlerInput) -> bool:
    """The order's value reaches ``high_value_threshold`` (:meth:`Thresholds.is_high_value`)."""
    ctx = inp.ctx
    return ctx is not None and inp.policy.thresholds.is_high_value(ctx.order_value)


def escalated(action: RecommendedAction) -> RecommendedAction:
    """The recommended action once a case escalates: a review the handler recommends (replacement or refund)
    stays, since that is the decision asked for; anything else becomes ``escalate``."""
    return action if action in ("replacement_review", "refund_review") else "escalate"


def finish(
    inp: HandlerInput,
    *,
    condition: ConditionType,
    handler: str,
    summary: Text,
    internal: Text,
    action: RecommendedAction,
    opts: list[CustomerOption],
    follow_up_reason: str | None,
    due: datetime | None,
    confidence: Confidence,
    reasons: list[str],
    status_key: str,
    team: Team,
    split: bool = False,
    checkpoint_customer_facing: bool = True,
    restricted_hold: bool = False,
) -> Assessment:
    """Assemble an :class:`Assessment`, adding the escalation reasons every handler shares: ``high_value``
    on an exception condition, ``low_confidence`` whenever confidence is low (unless the data is missing,
    which already says why)."""
    reasons = list(reasons)
    if condition not in STANDARD_CONDITIONS and is_high_value(inp) and "high_value" not in reasons:
        reasons.append("high_value")
    if confidence == "low" and "low_confidence" not in reasons and "missing_data" not in reasons:
        reasons.append("low_confidence")
    if reasons:
        action = escalated(action)
    pol = inp.policy
    internal = _with_unrestricted_holds(inp, internal)

    def facts() -> GuardrailFacts:
        return guardrail_facts(
            inp.ctx,
            pol.communications.timezone,
            extra_dates=[due] if checkpoint_customer_facing else [],
            split=split,
            approved_actions=frozenset(inp.case.approved_actions),
            restricted_terms=tuple(pol.communications.restricted_terms),
            restricted_hold=restricted_hold,
        )

    return Assessment(
        condition_type=condition,
        recommended_action=action,
        customer_options=opts,
        follow_up_reason=follow_up_reason,
        next_follow_up_due_at=due,
        confidence=confidence,
        escalation_reasons=reasons,
        summary=summary,
        internal=internal,
        handler=handler,
        status_key=status_key,
        team=team,
        facts_factory=facts,
        checkpoint_customer_facing=checkpoint_customer_facing,
    )


def _with_unrestricted_holds(inp: HandlerInput, internal: Text) -> Text:
    """The internal summary, plus any active OMS hold routing does not treat as restricted (``other``): it
    is not explained to the customer, but a teammate must see it before chasing the warehouse or carrier."""
    ctx = inp.ctx
    if ctx is None or not ctx.holds:
        return internal
    other = sorted((h, at) for h, at in ctx.holds.items() if h not in RESTRICTED_HOLDS)
    if not other:
        return internal
    note = "; ".join(f"{h} since {at.isoformat()}" for h, at in other)

    def text() -> str:
        return f"{_text(internal)} Active OMS hold ({note}): check whether it is what blocks the order."

    return text


def denied_delivery_claim(case: CaseState) -> ReviewerDecision | None:
    """The reviewer's latest ``denied`` answer on this case's not-received claim, or None: a denial of its
    delivered-not-received escalation, or of a replacement or refund drafted on a case that told the customer
    about their not-received claim (a draft answered directly has no escalation to name the condition)."""
    claimed = any(u.condition_type == "delivered_not_received" for u in case.sent)
    for d in reversed(case.reviewer_decisions):
        if d.decision != "denied":
            continue
        esc = case.escalations.get(d.escalation_id)
        if esc is not None and esc.condition_type == "delivered_not_received":
            return d
        drafts = [case.drafts[i] for i in case.answered_draft_ids(d.escalation_id) if i in case.drafts]
        if claimed and any(x.action_type in ("replacement", "refund") for x in drafts):
            return d
    return None


def hours_since(inp: HandlerInput, when: datetime | None) -> float:
    if when is None:
        return 0.0
    return (inp.now - when) / timedelta(hours=1)


def hidden_terms(inp: HandlerInput) -> tuple[str, ...]:
    """The policy's restricted terms, which text built from data (carrier locations) leaves out."""
    return tuple(inp.policy.communications.restricted_terms)
