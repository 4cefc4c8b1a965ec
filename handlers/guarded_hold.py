"""Guarded hold handler (SPEC §3 row 2): fraud review, payment review or address verification.

Customer text is only the approved verification wording (never why, never "fraud" or "payment"); every
contact and every new hold escalates internally to the team that owns the hold.
"""

from __future__ import annotations

from wismo.handlers.base import Assessment, HandlerInput, Team
from wismo.handlers.common import due_in, finish
from wismo.handlers.guardrails import APPROVED_HOLD_WORDING
from wismo.handlers.phrasing import order_ref

HANDLER = "guarded_hold"


def restricted_hold(inp: HandlerInput) -> Assessment:
    ctx = inp.ctx
    assert ctx is not None
    holds: list[str] = list(inp.route.inputs.get("holds", []))
    team: Team = "cx" if holds == ["address_verification"] else "fraud"
    internal = "Active OMS hold(s): " + ", ".join(f"{h} since {ctx.holds[h].isoformat()}" for h in holds) + "."
    summary = (
        f"Thank you for your patience with {order_ref(ctx)}. "
        + APPROVED_HOLD_WORDING
        + " We will contact you if we need anything from you."
    )
    a = finish(
        inp,
        condition="restricted_hold",
        handler=HANDLER,
        summary=summary,
        internal=internal,
        action="escalate",
        opts=[],
        follow_up_reason="hold review outcome",
        due=due_in(inp, "restricted_hold"),
        confidence="high",
        reasons=["restricted_hold"],
        status_key="hold:" + ",".join(holds),
        team=team,
        checkpoint_customer_facing=False,
        restricted_hold=True,
    )
    a.requested_decision = "Review the hold and release or cancel the order in the OMS."
    a.customer_impact = "The order cannot ship until the hold is resolved."
    return a
