"""Priority escalation for repeated contact (SPEC §3 row 4).

The customer still gets the current factual status (from the handler of the order's underlying
condition), plus word that a teammate is reviewing it; the escalation carries a summary of every prior
update so the reviewer does not have to dig.
"""

from __future__ import annotations

from dataclasses import replace

from wismo.handlers.base import Assessment, HandlerInput, _text
from wismo.handlers.phrasing import join_text

HANDLER = "priority_escalation"


def _sentence(text: str) -> str:
    """``text`` as one finished sentence: never empty, always ending with a full stop."""
    text = text.strip() or "no details recorded"
    return text if text.endswith(".") else text + "."


def repeated_contact(inp: HandlerInput, underlying: Assessment) -> Assessment:
    """Wrap the underlying condition's assessment as a repeated-contact priority escalation."""
    case = inp.case
    prior = "; ".join(f"{u.kind} {u.action_id} at {u.at.isoformat()} ({u.condition_type})" for u in case.sent) or "none"
    contacts = "; ".join(f"{c.channel} ticket {c.ticket_id} at {c.at.isoformat()}" for c in case.contacts)
    n_contacts = len(case.contacts)  # snapshot: the case moves on before the texts are written
    under_summary, under_internal, under_condition = underlying.summary, underlying.internal, underlying.condition_type
    reasons = ["repeated_contact"] + [r for r in underlying.escalation_reasons if r != "repeated_contact"]

    def summary() -> str:
        text = _text(under_summary).strip()
        if not text:
            return text
        return join_text(
            [
                text,
                "Because you have had to contact us more than once, a teammate is now reviewing your order personally.",
            ],
            "\n\n",
        )

    def internal() -> str:
        return (
            f"Repeated contact ({n_contacts} contacts: {contacts}). Underlying condition "
            f"{under_condition}: {_sentence(_text(under_internal))} Prior updates: {prior}."
        )

    out = replace(
        underlying,
        condition_type="repeated_contact",
        summary=summary,
        internal=internal,
        recommended_action="escalate",
        escalation_reasons=reasons,
        handler=HANDLER,
        team="cx",
        priority="high",
        _result=None,
    )
    out.requested_decision = (
        "Review the order personally and reply to the customer; prior automated updates did not resolve it."
    )
    out.customer_impact = f"The customer has contacted us {len(case.contacts)} times about this order."
    return out
