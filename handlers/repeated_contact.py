"""Priority escalation for repeated contact (SPEC §3 row 4).

The customer still gets the current factual status (from the handler of the order's underlying
condition), plus word that a teammate is reviewing it; the escalation carries a summary of every prior
update so the reviewer does not have to dig.
"""

from __future__ import annotations

from dataclasses import replace

from wismo.handlers.base import Assessment, HandlerInput

HANDLER = "priority_escalation"


def repeated_contact(inp: HandlerInput, underlying: Assessment) -> Assessment:
    """Wrap the underlying condition's assessment as a repeated-contact priority escalation."""
    case = inp.case
    prior = (
        "; ".join(f"{u.kind} {u.action_id} at {u.at.isoformat()} ({u.condition_type})" for u in case.sent)
        or "none"
    )
    contacts = "; ".join(f"{c.channel} ticket {c.ticket_id} at {c.at.isoformat()}" for c in case.contacts)
    res = underlying.result
    reasons = ["repeated_contact"] + [r for r in res.escalation_reasons if r != "repeated_contact"]
    summary = res.customer_safe_summary
    if summary:
        summary += "\n\nBecause you have had to contact us more than once, a teammate is now reviewing your order personally."
    result = res.model_copy(
        update={
            "condition_type": "repeated_contact",
            "customer_safe_summary": summary,
            "internal_summary": (
                f"Repeated contact ({len(case.contacts)} contacts: {contacts}). Underlying condition "
                f"{res.condition_type}: {res.internal_summary} Prior updates: {prior}."
            ),
            "recommended_action": "escalate",
            "escalation_reasons": reasons,
        }
    )
    out = replace(underlying, result=result, handler=HANDLER, team="cx", priority="high")
    out.requested_decision = (
        "Review the order personally and reply to the customer; prior automated updates did not resolve it."
    )
    out.customer_impact = f"The customer has contacted us {len(case.contacts)} times about this order."
    return out
