"""The decision stage: from a routed, assessed case to the output records of one evaluation.

Pure: takes the order context, the case (which it updates: saved values, escalations, drafts,
follow-up commitment) and the policy, and returns records; the caller writes them. Deterministic:
every id derives from the causing event id and the case id, so a replay yields identical records.

Order of gates for a customer-visible message (first that applies wins):
  1. manual takeover by a reviewer            -> internal note with the draft, ``suppressed=manual_takeover``
  2. a teammate's public update is newer than  -> internal note with the draft, ``suppressed=human_update_newer``
     our last message (within ``human_handoff_hours``): a proactive update when the teammate's update is
     also newer than the order's last backend change (a tick, a follow-up or a threshold crossed since: the
     teammate already spoke about this state); a reply only when the teammate answered an earlier contact of
     this case (they hold the conversation). A backend change after the teammate's update (delivered, a
     failed attempt, a slip) is news their update could not have told, so it goes out; a customer who
     writes after a teammate's unprompted heads-up is answered: that update is older than the question and
     did not answer it (SPEC §6 "a newer public update by a human teammate suppresses the automated reply").
  3. proactive and within 12 h of the last     -> nothing now, ``suppressed=throttled``; sent with the next
     proactive update, change not material        evaluation after the window opens, if still a change
  4. low confidence                            -> internal note + escalation ``low_confidence``
  5. guardrail failure                         -> internal note + escalation ``guardrail_failed``
  6. testing mode (or kill switch)             -> internal note with ``draft: true``
  7. live                                      -> ``wismo.replies``
In testing mode the case's saved values move exactly as in live mode, so a testing run is a faithful
shadow of what live would have sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from wismo.handlers.base import Assessment, ContactInfo, HandlerInput
from wismo.handlers.common import escalated
from wismo.handlers.communications import (
    ACTION_PHRASE,
    DEFAULT_IMPACT,
    approval_text,
    customer_text,
    escalation_text,
    order_facts_line,
)
from wismo.handlers.guardrails import check_customer_text
from wismo.handlers.registry import assess
from wismo.handlers.resolution import check as check_eligibility
from wismo.handlers.resolution import requested_actions
from wismo.processors.fold import SIG_ETA_SLIPPED
from wismo.processors.routing import Route, route
from wismo.processors.triggers import ETA_CONDITIONS, Trigger, detect_trigger, eta_slipped_since_told

from wismo.case import MAX_SENT_KEPT, CaseState, DraftState, OpenEscalation, ReviewerDecision, SentUpdate
from wismo.conditions import ConditionType
from wismo.context import OrderContext
from wismo.events import Decision, Event
from wismo.ids import action_id, decision_id
from wismo.policy import Policy, Thresholds
from wismo.records import (
    TOPIC_ACTIONS,
    TOPIC_DECISIONS,
    TOPIC_ESCALATIONS,
    TOPIC_NOTES,
    TOPIC_REPLIES,
    ActionDraftRecord,
    ActionRecord,
    ActionType,
    ApprovalState,
    DecisionRecord,
    EscalationRecord,
    Kind,
    Mode,
    decision_record,
    engine_record,
)

ESCALATION_DEADLINE = {
    "urgent": timedelta(hours=2),
    "high": timedelta(hours=4),
    "normal": timedelta(hours=24),
}
"""How long a reviewer has to answer an escalation, by priority."""

Output = tuple[str, BaseModel]


@dataclass(slots=True)
class Evaluation:
    """Everything one evaluation needs. ``case`` is mutated; nothing else is."""

    event: Event
    ctx: OrderContext | None
    case: CaseState
    policy: Policy
    signals: frozenset[str] = frozenset()
    contact: ContactInfo | None = None
    missing: tuple[str, ...] = ()
    ambiguous: bool = False
    follow_up: bool = False
    backend_changed: bool = False
    outputs: list[Output] = field(default_factory=list)
    action_ids: list[str] = field(default_factory=list)


def _emit(ev: Evaluation, topic: str, rec: BaseModel) -> None:
    ev.outputs.append((topic, rec))
    if isinstance(rec, ActionRecord):
        ev.action_ids.append(rec.action_id)


def _channel(ev: Evaluation) -> tuple[str, str | None]:
    if ev.contact is not None:
        return ev.contact.channel, ev.contact.ticket_id
    if ev.case.open_ticket_id is not None:
        return ev.case.open_ticket_channel or "ticket", ev.case.open_ticket_id
    return "proactive", None


def _base(
    ev: Evaluation,
    a: Assessment,
    *,
    aid: str,
    kind: Kind,
    mode: Mode,
    text: str,
    channel: str,
    ticket: str | None,
) -> dict[str, Any]:
    r = a.result
    return {
        "action_id": aid,
        "kind": kind,
        "mode": mode,
        "case_id": ev.case.wismo_case_id,
        "order_id": ev.case.order_id,
        "ticket_id": ticket,
        "channel": channel,
        "condition_type": r.condition_type,
        "recommended_action": r.recommended_action,
        "escalation_reasons": list(r.escalation_reasons),
        "text": text,
        "caused_by": ev.event.event_id,
        "created_at": ev.event.occurred_at,
        "customer_safe_summary": r.customer_safe_summary,
        "internal_summary": r.internal_summary,
        "customer_options": list(r.customer_options),
        "follow_up_reason": r.follow_up_reason,
        "next_follow_up_due_at": r.next_follow_up_due_at,
        "confidence": r.confidence,
        "customer_email": ev.ctx.customer_email if ticket is None and ev.ctx is not None else None,
    }


def _withheld(
    case: CaseState,
    ctx: OrderContext | None,
    a: Assessment,
    kind: Kind,
    trigger: Trigger | None,
    now: datetime,
    t: Thresholds,
) -> str | None:
    """Gates 1-4 of the module docstring: why a customer message must not go out now, or None."""
    if case.manual_takeover:
        return "manual_takeover"
    human = ctx.last_human_public_update_at if ctx is not None else None
    if (
        human is not None
        and (case.last_customer_update_at is None or human > case.last_customer_update_at)
        and now - human <= timedelta(hours=t.human_handoff_hours)
        and (
            any(c.at < human for c in case.contacts)
            if kind == "reply"
            else ctx is None or ctx.last_backend_change_at is None or ctx.last_backend_change_at <= human
        )
    ):
        return "human_update_newer"
    if (
        kind == "proactive_update"
        and trigger is not None
        and not trigger.material
        and case.last_proactive_at is not None
        and now - case.last_proactive_at < timedelta(hours=t.proactive_min_interval_hours)
    ):
        return "throttled"
    if a.confidence == "low" and kind == "reply" and a.condition_type != "missing_order_data":
        return "low_confidence"
    return None


def _deliver(ev: Evaluation, a: Assessment, kind: Kind, text: str, mode: Mode, channel: str, ticket: str | None) -> str:
    """Write a customer message that passed every gate: on ``wismo.replies`` in live mode, else as a
    testing-mode draft note (same ``action_id`` either way). Returns the action id."""
    aid = action_id(ev.event.event_id, ev.case.wismo_case_id, kind)
    base = _base(ev, a, aid=aid, kind=kind, mode=mode, text=text, channel=channel, ticket=ticket)
    if mode == "live":
        _emit(ev, TOPIC_REPLIES, engine_record(ActionRecord, base))
    else:
        base["kind"] = "internal_note"
        base.update(draft=True, draft_kind=kind, note_reason="testing_mode")
        _emit(ev, TOPIC_NOTES, engine_record(ActionRecord, base))
    return aid


def _note(
    ev: Evaluation,
    a: Assessment,
    *,
    sub: str,
    text: str,
    mode: Mode,
    channel: str,
    ticket: str | None,
    reason: str,
    draft_kind: Kind | None = None,
    violations: list[str] | None = None,
) -> None:
    aid = action_id(ev.event.event_id, ev.case.wismo_case_id, draft_kind or "internal_note", sub)
    rec = engine_record(
        ActionRecord,
        _base(ev, a, aid=aid, kind="internal_note", mode=mode, text=text, channel=channel, ticket=ticket)
        | {
            "draft": draft_kind is not None,
            "draft_kind": draft_kind,
            "note_reason": reason,
            "guardrail_violations": violations or [],
        },
    )
    _emit(ev, TOPIC_NOTES, rec)


def evaluate(ev: Evaluation) -> DecisionRecord:
    """Route, assess and decide one evaluation; append its records to ``ev.outputs``; return the audit
    record (also appended). Never raises for a context the fold can produce."""
    case, ctx, pol = ev.case, ev.ctx, ev.policy
    now = ev.event.occurred_at
    t = pol.thresholds
    rt = route(ctx, case, now, t, missing=ev.missing)
    a = assess(HandlerInput(ctx, case, rt, now, pol, ev.contact, ev.signals, ev.ambiguous))
    channel, ticket = _channel(ev)
    mode = pol.mode_for(channel, a.condition_type)
    suppressed: str | None = None
    trigger: Trigger | None = None

    if ev.backend_changed:
        case.checkpoints_without_change = 0
    if case.checkpoints_without_change >= t.stale_checkpoints_before_escalation:
        _hand_over(a)  # checkpoints went out with no backend change until the case was escalated
    if ctx is not None:
        case.shipment_ids = sorted(ctx.shipments)
        case.last_backend_status_seen = _backend_status(ctx)
    holds = rt.inputs.get("holds")
    case.restricted_state = ",".join(holds) if holds else None
    own = rt.underlying if a.condition_type == "repeated_contact" else a.condition_type  # the order's own condition

    # --- resolution drafts -------------------------------------------------------------------------
    requests: list[ActionType] = []
    approved: list[ActionType] = []  # asked again, already approved: confirmed, not drafted again
    if ev.contact is not None and a.condition_type != "missing_order_data":
        for x in requested_actions(ev.contact.intents, ev.contact.resolution):
            (approved if x in case.approved_actions else requests).append(x)
    draft_ids: list[str] = []
    # The kill switch turns automation off: everything becomes notes/escalations (SPEC §8), so nothing is drafted.
    # A restricted hold drafts too (SPEC §7 makes no exception): the hold's reviewer decides the request with
    # the hold, and the customer's reply still carries only the approved verification wording.
    if (requests or a.action_requests) and ctx is not None and not pol.modes.kill_switch:
        types = _draft_types(case, requests, a.action_requests)
        draft_ids = _drafts(ev, a, own, types, mode, channel, ticket)

    # --- the customer-visible message --------------------------------------------------------------
    kind: Kind | None = None
    if ev.contact is not None:
        if a.result.customer_safe_summary or requests or approved:
            kind = "reply"
    elif ev.event.type in ("ticket.message", "review.decision"):
        kind = None
    elif case.is_open:
        follow_up_due = bool(
            ev.follow_up or (case.next_follow_up_due_at is not None and now >= case.next_follow_up_due_at)
        )
        signals = ev.signals
        if (
            own in ETA_CONDITIONS
            and SIG_ETA_SLIPPED not in signals
            and eta_slipped_since_told(a.status_key, case.last_status_sent, t.supplier_slip_days)
        ):
            signals = signals | {SIG_ETA_SLIPPED}  # small moves that add up to a slip versus what was told
        trigger = detect_trigger(own, a.status_key, signals, case, follow_up_due=follow_up_due)
        if trigger is not None and a.result.customer_safe_summary:
            kind = "proactive_update"
    extra_reasons: list[str] = []
    violations: list[str] = []
    due = a.next_follow_up_due_at
    sent = False
    if kind is not None:
        checkpoint = due if a.checkpoint_customer_facing else None
        # The checkpoint that escalates a case stuck with no backend change hands it to a person: the message
        # says so and promises no further automated checkpoint (no "no change" message every cycle after).
        checkpoint_due = trigger is not None and trigger.name == "follow_up_due"
        stale = checkpoint_due and case.checkpoints_without_change + 1 >= t.stale_checkpoints_before_escalation
        if stale:
            checkpoint = None
            _hand_over(a)
        text = customer_text(
            ctx,
            a,
            tz=pol.communications.timezone,
            sign_off=pol.communications.sign_off,
            requests=requests,
            approved=approved,
            executed=pol.actions.writes_enabled,
            checkpoint=checkpoint,
            unchanged=checkpoint_due and a.status_key == case.last_status_sent,
            handed_over=stale,
            unfound_number=ev.contact.unfound_number if ev.contact is not None else "",
        )
        suppressed = _withheld(case, ctx, a, kind, trigger, now, t)
        if suppressed is None:
            violations = check_customer_text(text, a.facts())
            if violations:
                suppressed = "guardrail_failed"
                extra_reasons.append("guardrail_failed")
        if suppressed == "throttled":
            # Nothing now. The change waits for the next evaluation after the window opens (a backend event, a
            # clock tick or the case's own checkpoint), which sends it with whatever is newest by then; no
            # follow-up is added at the moment the window opens, so a change that comes later is the one sent.
            case.pending_status_key = a.status_key
        elif suppressed is not None:
            # A proactive update withheld again for the same reason with the same status (a sweep or follow-up
            # re-evaluating an unchanged case) was already noted, and escalated if the guardrail failed.
            withheld = f"{suppressed}:{a.status_key}" if kind == "proactive_update" else None
            if withheld is None or withheld != case.last_withheld:
                _note(
                    ev,
                    a,
                    sub="",
                    text=text,
                    mode=mode,
                    channel=channel,
                    ticket=ticket,
                    reason=suppressed,
                    draft_kind=kind,
                    violations=violations,
                )
                if withheld is not None:
                    case.last_withheld = withheld
            elif "guardrail_failed" in extra_reasons:
                extra_reasons.remove("guardrail_failed")
        else:
            aid = _deliver(ev, a, kind, text, mode, channel, ticket)
            sent = True
            _record_sent(case, aid, kind, now, a.condition_type, a.status_key, promised=checkpoint is not None)
            if checkpoint_due:
                case.checkpoints_without_change += 1
                if stale:
                    extra_reasons.append("follow_up_stalled")
    elif ev.contact is None and ev.event.type == "ticket.message":
        p = ev.event.payload
        suppressed = ("human_update" if p.public else "teammate_internal_note") if p.author == "agent" else None
    elif trigger is None and ev.contact is None:
        suppressed = "no_change" if case.is_open else "case_closed"

    # --- escalation ---------------------------------------------------------------------------------
    reasons = list(a.escalation_reasons)
    if requests:
        reasons.append("customer_requested_action")
        if ctx is not None and t.is_high_value(ctx.order_value) and "high_value" not in reasons:
            reasons.append("high_value")  # SPEC §7: a requested action on a high-value order needs senior review
    if extra_reasons:
        reasons += [x for x in extra_reasons if x not in reasons]
    if reasons:
        key = f"{a.condition_type}|{','.join(sorted(reasons))}"
        if ev.contact is not None or key not in case.escalation_keys or "guardrail_failed" in extra_reasons:
            _escalate(ev, a, reasons, mode, channel, ticket, draft_ids, requests, violations)
            if key not in case.escalation_keys:
                case.escalation_keys.append(key)

    # --- follow-up commitment -----------------------------------------------------------------------
    if (
        not sent
        and case.checkpoint_promised
        and case.next_follow_up_due_at is not None
        and case.next_follow_up_due_at > now
        and (due is None or case.next_follow_up_due_at < due)
    ):
        due = case.next_follow_up_due_at  # never let a re-evaluation push back a promise already made
    if sent and not (kind is not None and a.checkpoint_customer_facing and due is not None):
        case.checkpoint_promised = False
    case.next_follow_up_due_at = due
    case.follow_up_reason = a.follow_up_reason if due is not None else None
    case.condition_type = a.condition_type
    case.last_evaluated_at = now
    cancelled = ctx is not None and ctx.cancelled and not any(s.physically_scanned for s in ctx.shipments.values())
    if case.is_open and (a.close_case or a.condition_type == "delivered" or cancelled):
        case.status = "closed"
        case.closed_at = now
        case.next_follow_up_due_at = None

    rec = decision_record(
        decision_id=decision_id(ev.event.event_id, case.wismo_case_id),
        case_id=case.wismo_case_id,
        order_id=case.order_id,
        condition_type=a.condition_type,
        handler=a.handler,
        recommended_action=a.recommended_action,
        escalation_reasons=reasons,
        mode=mode,
        caused_by=ev.event.event_id,
        evaluated_at=now,
        suppressed=suppressed,
        action_ids=list(ev.action_ids),
        event_type=ev.event.type,
        trigger=trigger.name if trigger else None,
        inputs=_inputs(ev, rt),
        confidence=a.confidence,
        next_follow_up_due_at=case.next_follow_up_due_at,
        kill_switch=pol.modes.kill_switch,
    )
    ev.outputs.append((TOPIC_DECISIONS, rec))
    return rec


def _hand_over(a: Assessment) -> None:
    """A case whose checkpoints stalled with no backend change is escalated to a person: its records
    recommend :func:`escalated` (a review the handler recommends stays as it is) until the backend moves."""
    a.recommend(escalated(a.recommended_action))


def _draft_types(case: CaseState, requests: list[ActionType], own: list[ActionType]) -> list[ActionType]:
    """The actions to draft now. A customer's request is drafted unless the same action already waits for
    approval; a handler's own resolution path (return to sender, delivery dispute) is drafted once per
    case, whatever came of it."""
    pending = {d.action_type for d in case.drafts.values() if d.approval_state == "pending_approval"}
    drafted = {d.action_type for d in case.drafts.values()}
    return list(dict.fromkeys([x for x in requests if x not in pending] + [x for x in own if x not in drafted]))


def _backend_status(ctx: OrderContext) -> str | None:
    latest = None
    for s in ctx.shipments.values():
        if s.status_at is not None and (latest is None or s.status_at > latest[0]):
            latest = (s.status_at, f"{s.shipment_id}:{s.status}" + (f"/{s.detail}" if s.detail else ""))
    return latest[1] if latest else None


_INPUT_VALUE_TYPES = (str, int, float, list, dict, datetime)
"""Route inputs of these types are copied into the decision record's ``inputs``."""


def _inputs(ev: Evaluation, rt: Route) -> dict[str, Any]:
    out: dict[str, Any] = {"route_reason": rt.reason, "underlying": rt.underlying}
    if rt.shipment_ids:
        out["shipments"] = list(rt.shipment_ids)
    if rt.missing:
        out["missing"] = list(rt.missing)
    if ev.signals:
        out["signals"] = sorted(ev.signals)
    if ev.contact is not None:
        out["intents"] = sorted(ev.contact.intents)
    if rt.inputs:
        out.update({k: v for k, v in rt.inputs.items() if isinstance(v, _INPUT_VALUE_TYPES)})
    return out


def _record_sent(
    case: CaseState, aid: str, kind: str, now: datetime, condition: str, status_key: str, *, promised: bool
) -> None:
    case.last_customer_update_at = now
    if kind == "proactive_update":
        case.last_proactive_at = now
    case.last_status_sent = status_key
    case.pending_status_key = None
    case.last_withheld = None
    case.checkpoint_promised = promised
    case.sent.append(SentUpdate(action_id=aid, kind=kind, at=now, condition_type=condition, status_key=status_key))
    if len(case.sent) > MAX_SENT_KEPT:
        del case.sent[: len(case.sent) - MAX_SENT_KEPT]


def _drafts(
    ev: Evaluation,
    a: Assessment,
    own: ConditionType,
    types: list[ActionType],
    mode: Mode,
    channel: str,
    ticket: str | None,
) -> list[str]:
    ctx = ev.ctx
    assert ctx is not None
    ids = []
    for action in types:
        el = check_eligibility(action, ctx, own, ev.policy)  # the order's own condition, not repeated_contact
        state: ApprovalState = "pending_approval" if el.eligible else "not_eligible"
        aid = action_id(ev.event.event_id, ev.case.wismo_case_id, "action_draft", action)
        text = (
            f"Draft {action.replace('_', ' ')} for order #{ctx.order_number}: "
            f"{'eligible' if el.eligible else 'not eligible'} ({'; '.join(el.reasons)}). "
            f"{'Needs approval before anything is done.' if el.requires_approval else ''} "
            f"Writes {'enabled' if el.write_enabled else 'disabled'} by policy."
        ).strip()
        amount = str(ctx.order_value) if action in ("refund", "replacement") else None
        rec = engine_record(
            ActionDraftRecord,
            _base(ev, a, aid=aid, kind="action_draft", mode=mode, text=text, channel=channel, ticket=ticket)
            | {
                "action_type": action,
                "approval_state": state,
                "eligible": el.eligible,
                "eligibility_reasons": list(el.reasons),
                "requires_approval": el.requires_approval,
                "write_enabled": el.write_enabled,
                "amount": amount,
                "currency": ctx.currency or None,
            },
        )
        _emit(ev, TOPIC_ACTIONS, rec)
        ev.case.drafts[aid] = DraftState(action_id=aid, action_type=action, approval_state=state)
        ids.append(aid)
    return ids


def _escalate(
    ev: Evaluation,
    a: Assessment,
    reasons: list[str],
    mode: Mode,
    channel: str,
    ticket: str | None,
    draft_ids: list[str],
    requests: Sequence[ActionType] = (),
    violations: Sequence[str] = (),
) -> None:
    """Write one escalation packet (SPEC §7). ``requests``: the actions the customer asked for, which the
    reviewer is asked to decide when the handler names no decision of its own (by hand when the kill switch
    is on, since nothing was drafted); ``violations``: why the guardrail withheld the customer text, which
    the reviewer is asked to fix."""
    case, ctx = ev.case, ev.ctx
    now = ev.event.occurred_at
    aid = action_id(ev.event.event_id, case.wismo_case_id, "escalation")
    priority = a.priority
    if "repeated_contact" in reasons or "high_value" in reasons:
        priority = "high" if priority == "normal" else priority
    if "guardrail_failed" in reasons and priority == "normal":
        priority = "high"
    deadline = now + ESCALATION_DEADLINE[priority]
    decide = a.requested_decision or _requested_decision(requests, draft_ids, violations)
    if a.requested_decision and requests and not a.action_requests:
        # The handler's own question (a hold to review, a returning parcel) does not cover what the customer
        # asked for; the reviewer answers both, and an approval approves these drafts.
        decide += " " + _requested_decision(requests, draft_ids)
    if requests and ev.policy.modes.kill_switch:
        decide += " The kill switch is on, so nothing was drafted: carry out the request by hand if approved."
    facts: dict[str, Any] = {"order_id": case.order_id}
    label = f"case {case.wismo_case_id}"
    if ctx is not None and ctx.known:
        label = f"order #{ctx.order_number}"
        facts.update(
            {
                "order_number": ctx.order_number,
                "order_value": str(ctx.order_value),
                "currency": ctx.currency,
                "placed_at": ctx.placed_at.isoformat() if ctx.placed_at else None,
                "ship_by": ctx.ship_by.isoformat() if ctx.ship_by else None,
                "items": [{"sku": i.sku, "title": i.title, "qty": i.qty} for i in ctx.items],
                "shipments": {
                    sid: {
                        "status": s.status,
                        "detail": s.detail,
                        "carrier": s.carrier,
                        "tracking_number": s.tracking_number,
                        "items": s.items,
                    }
                    for sid, s in ctx.shipments.items()
                },
                "holds": sorted(ctx.holds),
                "contacts": len(case.contacts),
            }
        )
    base = _base(
        ev,
        a,
        aid=aid,
        kind="escalation",
        mode=mode,
        text=escalation_text(case.wismo_case_id, label, a, reasons, deadline, aid, decide, order_facts_line(ctx)),
        channel=channel,
        ticket=ticket,
    )
    base["escalation_reasons"] = list(reasons)
    base["recommended_action"] = escalated(a.recommended_action)
    rec = engine_record(
        EscalationRecord,
        base
        | {
            "escalation_id": aid,
            "team": a.team,
            "priority": priority,
            "order_facts": facts,
            "customer_impact": a.customer_impact or DEFAULT_IMPACT,
            "requested_decision": decide,
            "decision_options": ["approved", "denied", "changes_requested", "manual_takeover"],
            "deadline": deadline,
            "answer_via": f"review.decision event on wismo.in.review with escalation_id={aid}",
            "action_draft_ids": draft_ids,
        },
    )
    _emit(ev, TOPIC_ESCALATIONS, rec)
    case.escalations[aid] = OpenEscalation(
        escalation_id=aid,
        condition_type=a.condition_type,
        reasons=list(reasons),
        team=a.team,
        at=now,
        action_draft_ids=draft_ids,
    )
    for d in draft_ids:
        if d in case.drafts:
            case.drafts[d].escalation_id = aid


def _requested_decision(requests: Sequence[ActionType], draft_ids: list[str], violations: Sequence[str] = ()) -> str:
    """What the reviewer decides when the handler names nothing: the customer's requests, the customer text
    the guardrail withheld, else the case."""
    asks: list[str] = []
    if requests:
        drafts = f" (action drafts {', '.join(draft_ids)})" if draft_ids else ""
        asks.append(
            f"Approve or deny the customer's request to {' and '.join(ACTION_PHRASE[r] for r in requests)}{drafts}."
        )
    if violations:
        asks.append(
            "Write the customer an accurate message yourself: the automated draft (in the internal note) was "
            f"withheld by the guardrail: {'; '.join(violations)}."
        )
    return " ".join(asks) or "Review the case and decide the next step."


def refuse_review(ev: Evaluation, escalation_id: str, decision: Decision, reviewer: str, why: str) -> DecisionRecord:
    """A decision from a reviewer the policy does not entitle to give it: nothing changes on the case (the
    escalation and its drafts stay open for an entitled reviewer); an internal note and the decision record
    say who was refused and why. Idempotent by action_id."""
    case, ctx, pol = ev.case, ev.ctx, ev.policy
    now = ev.event.occurred_at
    rt = route(ctx, case, now, pol.thresholds, missing=ev.missing)
    a = assess(HandlerInput(ctx=ctx, case=case, route=rt, now=now, policy=pol))
    channel, ticket = _channel(ev)
    mode = pol.mode_for(channel, a.condition_type)
    note = (
        f"Refused: {decision.replace('_', ' ')} on escalation {escalation_id} by {reviewer}, because {why}. "
        "The escalation stays open for an authorised reviewer."
    )
    _note(ev, a, sub="review", text=note, mode=mode, channel=channel, ticket=ticket, reason="reviewer_not_authorized")
    inputs = {"escalation_id": escalation_id, "reviewer": reviewer, "refused": why}
    return _review_decision(ev, a, mode, decision, inputs, suppressed="reviewer_not_authorized")


_STILL_OPEN = ("pending_approval", "not_eligible", "changes_requested")
"""Draft states a reviewer's answer can still change. ``changes_requested`` is not an outcome: the reviewer
sent the draft back, so a later ``approved``, ``denied`` or ``manual_takeover`` on it is applied."""


def apply_review(
    ev: Evaluation, escalation_id: str, decision: Decision, reviewer: str, rationale: str | None
) -> DecisionRecord:
    """A reviewer's answer: internal note, updated drafts, saved values, and the case resumes.

    Approved customer-requested actions are confirmed to the customer (they are approved now, so saying
    so is no longer a promise); they execute only when policy enables writes. May run twice; the
    records are idempotent by action_id.
    """
    case, ctx, pol = ev.case, ev.ctx, ev.policy
    now = ev.event.occurred_at
    esc = case.escalations.get(escalation_id)
    if esc is not None:
        esc.state = decision
    draft_ids = case.answered_draft_ids(escalation_id)
    rt = route(ctx, case, now, pol.thresholds, missing=ev.missing)
    a = assess(HandlerInput(ctx=ctx, case=case, route=rt, now=now, policy=pol))
    channel, ticket = _channel(ev)
    mode = pol.mode_for(channel, a.condition_type)
    approved: list[str] = []
    for did in draft_ids:
        d = case.drafts.get(did)
        if d is None or d.approval_state not in _STILL_OPEN or d.approval_state == decision:
            continue  # already decided: a repeated decision changes nothing
        d.approval_state = decision
        executed = decision == "approved" and pol.actions.writes_enabled
        if decision == "approved":
            approved.append(d.action_type)
            if d.action_type not in case.approved_actions:
                case.approved_actions.append(d.action_type)
        aid = action_id(ev.event.event_id, case.wismo_case_id, "action_draft", did)
        text = f"{d.action_type.replace('_', ' ').capitalize()} {decision.replace('_', ' ')} by {reviewer}" + (
            "; executed."
            if executed
            else "; execution left to a teammate (writes disabled)."
            if decision == "approved"
            else "."
        )
        _emit(
            ev,
            TOPIC_ACTIONS,
            ActionDraftRecord(
                **_base(ev, a, aid=aid, kind="action_draft", mode=mode, text=text, channel=channel, ticket=ticket),
                action_type=d.action_type,
                approval_state=decision,
                eligible=True,
                eligibility_reasons=[f"reviewed by {reviewer}"],
                requires_approval=True,
                write_enabled=pol.actions.writes_enabled,
                executed=executed,
                draft_of=did,
                amount=str(ctx.order_value) if ctx is not None and d.action_type in ("refund", "replacement") else None,
                currency=(ctx.currency or None) if ctx is not None else None,
            ),
        )
    case.reviewer_decisions.append(
        ReviewerDecision(
            event_id=ev.event.event_id, escalation_id=escalation_id, decision=decision, reviewer=reviewer, at=now
        )
    )
    if decision == "manual_takeover":
        case.manual_takeover = True
    claim_denied = decision == "denied" and a.condition_type == "delivered_not_received"
    note = (
        f"Reviewer {reviewer} answered escalation {escalation_id}: {decision.replace('_', ' ')}."
        + (f" Rationale: {rationale}" if rationale else "")
        + (" Automated customer messages are now off for this case." if decision == "manual_takeover" else "")
        + (
            " Tell the customer the outcome yourself: automated messages do not announce a denied claim, and "
            "the case escalates at its next checkpoint until a teammate's public reply shows they were told."
            if claim_denied
            else ""
        )
    )
    _note(ev, a, sub="review", text=note, mode=mode, channel=channel, ticket=ticket, reason="review_decision")
    if approved and not case.manual_takeover:
        text = approval_text(ctx, approved, executed=pol.actions.writes_enabled, sign_off=pol.communications.sign_off)
        facts = replace(a.facts(), approved_actions=frozenset(case.approved_actions), restricted_hold=False)
        violations = check_customer_text(text, facts)
        if violations:
            _note(
                ev,
                a,
                sub="",
                text=text,
                mode=mode,
                channel=channel,
                ticket=ticket,
                reason="guardrail_failed",
                draft_kind="reply",
                violations=violations,
            )
            _escalate(ev, a, ["guardrail_failed"], mode, channel, ticket, [], violations=violations)  # SPEC §5
        else:
            aid = _deliver(ev, a, "reply", text, mode, channel, ticket)
            _record_sent(case, aid, "reply", now, a.condition_type, a.status_key, promised=False)
    if claim_denied:
        case.dnr_claimed_at = None  # the dispute is settled: delivered again (see standard_status._claim_denied)
    case.next_follow_up_due_at = a.next_follow_up_due_at
    case.condition_type = a.condition_type
    return _review_decision(ev, a, mode, decision, {"escalation_id": escalation_id, "reviewer": reviewer})


def _review_decision(
    ev: Evaluation, a: Assessment, mode: Mode, decision: Decision, inputs: dict[str, Any], suppressed: str | None = None
) -> DecisionRecord:
    """The audit record of a reviewer's decision (applied, or refused with ``suppressed``)."""
    case = ev.case
    rec = decision_record(
        decision_id=decision_id(ev.event.event_id, case.wismo_case_id),
        case_id=case.wismo_case_id,
        order_id=case.order_id,
        condition_type=a.condition_type,
        handler=a.handler,
        recommended_action=a.recommended_action,
        escalation_reasons=list(a.escalation_reasons),
        mode=mode,
        caused_by=ev.event.event_id,
        evaluated_at=ev.event.occurred_at,
        suppressed=suppressed,
        action_ids=list(ev.action_ids),
        event_type=ev.event.type,
        trigger=f"review_{decision}",
        inputs=inputs,
        confidence=a.confidence,
        next_follow_up_due_at=case.next_follow_up_due_at,
        kill_switch=ev.policy.modes.kill_switch,
    )
    _emit(ev, TOPIC_DECISIONS, rec)
    return rec
