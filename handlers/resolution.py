"""Resolution eligibility (SPEC §7): which replacement, refund, cancellation or address-change drafts a
case gets, and whether each is eligible under policy.

Pure. A draft is never executed here: it carries ``eligible``, ``requires_approval`` and
``write_enabled`` and waits for a reviewer decision. Eligibility rules (a careful support lead's):

* cancellation: not cancelled already and nothing handed to the carrier (no label, no scan);
* address change: no shipping label printed yet (afterwards only the carrier can redirect);
* replacement / refund: eligible whenever the policy enables them (a damaged item, a lost or returning
  parcel, a delivery dispute all qualify); the reasons say what the order is doing so the reviewer can
  judge, and every draft still needs approval (a reviewer may also approve an ineligible draft);
* an action type the policy disables is never eligible.
"""

from __future__ import annotations

from dataclasses import dataclass

from wismo.conditions import ConditionType
from wismo.context import OrderContext
from wismo.policy import Policy
from wismo.records import ActionType

RESOLVABLE_CONDITIONS: frozenset[ConditionType] = frozenset(
    {"delivered_not_received", "return_to_sender", "no_tracking_movement"}
)
INTENT_ACTIONS: dict[str, ActionType] = {"cancel": "cancellation", "change_address": "address_change"}


@dataclass(frozen=True, slots=True)
class Eligibility:
    action_type: ActionType
    eligible: bool
    reasons: tuple[str, ...]
    requires_approval: bool
    write_enabled: bool


def requested_actions(intents: frozenset[str], resolution: str | None) -> list[ActionType]:
    """The action types a customer message asks for, in a stable order."""
    out: list[ActionType] = [INTENT_ACTIONS[i] for i in ("cancel", "change_address") if i in intents]
    if "refund_or_replacement" in intents:
        out.append("refund" if resolution == "refund" else "replacement")
    return out


def check(action: ActionType, ctx: OrderContext, condition: ConditionType, policy: Policy) -> Eligibility:
    gate = policy.actions.gate(action)
    reasons: list[str] = []
    handed_over = any(s.label_at is not None or s.physically_scanned for s in ctx.shipments.values())
    if not gate.enabled:
        reasons.append(f"{action} is disabled by policy")
    if action == "cancellation":
        if ctx.cancelled:
            reasons.append("order is already cancelled")
        if handed_over:
            reasons.append("a shipping label exists or the carrier has the parcel")
    elif action == "address_change":
        if handed_over:
            reasons.append("the shipping label is already printed; only the carrier can redirect it")
        if ctx.cancelled:
            reasons.append("order is cancelled")
    eligible = not reasons
    high_value = policy.thresholds.is_high_value(ctx.order_value)
    if eligible:
        reasons.append("meets policy")
        if action in ("refund", "replacement") and condition not in RESOLVABLE_CONDITIONS:
            reasons.append(f"note: the order is currently {condition.replace('_', ' ')}")
    if high_value:
        reasons.append(
            f"high value: order value {ctx.order_value} {ctx.currency} is at or above the "
            f"{policy.thresholds.high_value_threshold:g} threshold, so it needs approval"
        )
    return Eligibility(
        action_type=action,
        eligible=eligible,
        reasons=tuple(reasons),
        requires_approval=gate.requires_approval or high_value,
        write_enabled=policy.actions.writes_enabled,
    )
