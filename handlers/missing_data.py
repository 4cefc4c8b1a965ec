"""Missing order data handler (SPEC §3 row 1): the order cannot be identified, or a needed source has no
data. Escalates with what is missing; asks the customer for the order number only when several open
orders are plausible (otherwise asking would not help: a teammate identifies the customer).
"""

from __future__ import annotations

from wismo.handlers.base import Assessment, HandlerInput
from wismo.handlers.common import due_in, finish

HANDLER = "missing_data"

ASK_ORDER_NUMBER = (
    "Thanks for getting in touch. I can see more than one recent order on your account. Could you reply "
    "with the order number you are asking about, so I can give you its exact status?"
)


def missing_order_data(inp: HandlerInput) -> Assessment:
    missing = ", ".join(inp.route.missing)
    if inp.ambiguous:
        return finish(
            inp,
            condition="missing_order_data",
            handler=HANDLER,
            summary=ASK_ORDER_NUMBER,
            internal=f"Several open orders match the customer; asked for the order number ({missing}).",
            action="answer",
            opts=[],
            follow_up_reason="customer's order number",
            due=None,
            confidence="medium",
            reasons=[],
            status_key="ask_order_number",
            team="cx",
            checkpoint_customer_facing=False,
        )
    a = finish(
        inp,
        condition="missing_order_data",
        handler=HANDLER,
        summary="",
        internal=f"Cannot answer: missing {missing}.",
        action="escalate",
        opts=[],
        follow_up_reason="identify the order",
        due=due_in(inp, "missing_order_data"),
        confidence="low",
        reasons=["missing_data"],
        status_key="missing:" + missing,
        team="cx",
        checkpoint_customer_facing=False,
    )
    a.requested_decision = f"Identify the order or restore the missing data: {missing}."
    a.customer_impact = "The customer's question cannot be answered automatically."
    return a
