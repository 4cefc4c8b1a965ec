"""The in-process pipeline: intake -> dedupe -> order context -> routing -> handler -> decision.

:class:`Pipeline` holds all state in memory (:class:`MemoryState`) and is what ``wismo replay`` runs; the
streaming runtime drives the same stages with Redis-backed state. Guarantees:

* never raises for any input line: bad input becomes a ``wismo.dlq`` record, and an unexpected error
  while processing a valid event becomes a ``wismo.dlq`` record of type ``internal_error``;
* an ``event_id`` already applied is ignored; a backend fact already applied produces nothing new;
* all time logic uses event time: the follow-up monitor fires each promised checkpoint as a
  ``clock.tick`` for its order (event id ``followup:<case>:<due>``) as soon as an input event's time
  passes it, before that event is processed; so a replay is exact and repeatable.
"""

from __future__ import annotations

import heapq
import re
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel

from wismo.case import CaseState, case_id_for
from wismo.conditions import EXCEPTION_CONDITIONS, ConditionType
from wismo.context import OrderContext
from wismo.events import (
    AllocationFailed,
    ClockTick,
    EmptyPayload,
    Event,
    ReviewDecision,
    SupplierEtaChanged,
    TicketMessage,
)
from wismo.handlers.base import ContactInfo
from wismo.ids import follow_up_event_id
from wismo.policy import Policy
from wismo.processors.contacts import record_contact, record_human_update
from wismo.processors.decision import Evaluation, apply_review, evaluate, refuse_review
from wismo.processors.dedupe import already_applied
from wismo.processors.fold import BACKEND_SOURCES, SIG_SUPERSEDED, fold_event
from wismo.processors.intake import dead_letter, parse_line
from wismo.processors.intents import (
    acknowledges_receipt,
    extract_order_number,
    extract_order_numbers,
    recognise_intents,
    requested_resolution,
)
from wismo.processors.matching import MatchResult, OrderSummary, match_named, match_ticket
from wismo.processors.reviewer_auth import refusal
from wismo.records import TOPIC_DLQ, ActionRecord, DeadLetter, DeadLetterType, DecisionRecord

Output = tuple[str, BaseModel]

FORWARD_TICKET = "forward:ticket"
"""Pseudo-topic of an output that is an input event to re-publish: a ticket matched to an order whose
partition another worker owns (see ``Pipeline(owns=...)``). The streaming worker maps it to the ticket
topic, keyed by the order id; ``wismo replay`` never produces it."""

SWEEP_SLICE_PREFIX = "slice:"
"""Event ids of the per-order ticks a streaming worker sends itself for the part of a large sweep it does not
evaluate at once (``slice:<sweep event id>:<order id>``, see :func:`sweep_slice_tick`)."""


def sweep_slice_tick(sweep: ClockTick, order_id: str) -> ClockTick:
    """The tick that evaluates ``order_id`` for ``sweep`` later (same event time); deterministic, so a
    re-published slice is absorbed by dedupe."""
    return ClockTick(
        event_id=f"{SWEEP_SLICE_PREFIX}{sweep.event_id}:{order_id}",
        source="clock",
        type="clock.tick",
        occurred_at=sweep.occurred_at,
        order_id=order_id,
        payload=EmptyPayload(),
    )


FOLLOW_UP_TICK_ID = re.compile(
    r"^followup:(?P<case>WC-(?P<key>.+)-\d+):(?P<due>\d{4}-\d\d-\d\dT[0-9:.]+[+-]\d\d:\d\d)$"
)
"""A follow-up tick's id (:func:`wismo.ids.follow_up_event_id`): the case id and the due time."""


@dataclass
class MemoryState:
    """All pipeline state, in memory. Keys mirror the Redis layout of the streaming runtime."""

    contexts: dict[str, OrderContext] = field(default_factory=dict)
    cases: dict[str, CaseState] = field(default_factory=dict)
    """case key (order id, or ``ticket:<id>`` for an unidentified ticket) -> current case"""
    seen: set[str] = field(default_factory=set)
    by_customer: dict[str, set[str]] = field(default_factory=dict)
    """``id:<customer id>`` / ``email:<address>`` -> order ids"""
    by_number: dict[str, str] = field(default_factory=dict)
    by_ticket: dict[str, str] = field(default_factory=dict)
    follow_ups: list[tuple[datetime, str, str]] = field(default_factory=list)
    """heap of (due, case key, case id)"""
    watermark: datetime | None = None


_Observed = tuple[ConditionType | None, datetime | None, bool, datetime | None]
"""A case before an evaluation: (condition, last customer update, checkpoint promised, follow-up due)."""


@dataclass
class Stats:
    events_in: int = 0
    events_by_type: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    duplicate_status: int = 0
    dead_letters: int = 0
    follow_ups_fired: int = 0
    sweep_slices_overtaken: int = 0
    """Deferred sweep evaluations (streaming worker) skipped because a newer evaluation of the case came first."""
    evaluations: int = 0
    conditions: Counter[str] = field(default_factory=Counter)
    outputs: Counter[str] = field(default_factory=Counter)
    suppressed: Counter[str] = field(default_factory=Counter)
    # The figures the rollout plan monitors (exported as Prometheus metrics by the worker):
    dead_letter_types: Counter[str] = field(default_factory=Counter)
    actions: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """(kind, mode, channel) of every reply, note, escalation and action draft"""
    escalations: Counter[str] = field(default_factory=Counter)
    """escalation records by condition"""
    guardrail_failures: Counter[str] = field(default_factory=Counter)
    """customer texts withheld by the guardrail check, by condition"""
    contacts: Counter[tuple[str, str]] = field(default_factory=Counter)
    """customer contacts by (channel, ``first`` | ``repeat`` on the same case)"""
    contact_outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    """customer contacts by (channel, ``answered`` | ``escalated`` | ``unanswered``): answered = a reply
    (sent, or drafted in testing mode) and no escalation, i.e. deflected"""
    proactive_updates: Counter[str] = field(default_factory=Counter)
    """proactive updates (sent or drafted) by ``no_ticket`` (the customer had not written) | ``open_ticket``"""
    follow_ups_scheduled: int = 0
    promised_follow_ups: Counter[str] = field(default_factory=Counter)
    """customer-facing checkpoints by outcome: ``on_time`` (an update went out by the promised time),
    ``late`` (after it), ``missed`` (the time came and nothing could be sent)"""
    exception_to_update_seconds: list[float] = field(default_factory=list)
    """event-time seconds from a case entering a backend-exception condition to its first customer update;
    drained by the worker's metrics after each batch"""


def _decision_types(case: CaseState, escalation_id: str) -> list[str]:
    """What a decision on ``escalation_id`` decides: the types of its action drafts (a draft answered directly
    is its own), or none for an escalation without drafts."""
    ids = case.answered_draft_ids(escalation_id)
    return sorted({case.drafts[d].action_type for d in ids if d in case.drafts})


def norm_order_number(n: str) -> str:
    """The form order numbers are indexed and looked up in (``#1001 `` and ``1001`` are the same order)."""
    return n.strip().lstrip("#").upper()


def customer_refs(customer_id: str | None, email: str | None) -> list[str]:
    """The customer index keys (``MemoryState.by_customer``, the worker's Redis index) of a customer."""
    return ([f"id:{customer_id}"] if customer_id else []) + ([f"email:{email}"] if email else [])


@dataclass(frozen=True, slots=True)
class TicketLookup:
    """What a ticket without an order id is matched by: the order number it gives (or its text mentions), the
    customer id, and the e-mail address (trimmed, lower case)."""

    number: str | None
    customer_id: str | None
    email: str | None
    numbers: tuple[str, ...] = ()
    """Every order number the text names, when the ticket gives none in ``order_number``."""

    @staticmethod
    def of(event: TicketMessage) -> TicketLookup:
        p = event.payload
        numbers = () if p.order_number else extract_order_numbers(p.text)
        return TicketLookup(
            number=p.order_number or extract_order_number(p.text),
            numbers=numbers,
            customer_id=p.customer.id if p.customer else None,
            email=p.customer.email.strip().lower() if p.customer and p.customer.email else None,
        )

    @property
    def refs(self) -> list[str]:
        return customer_refs(self.customer_id, self.email)

    @property
    def all_numbers(self) -> list[str]:
        """Every order number the ticket names, normalised (the state a match may read)."""
        named = [self.number] if self.number else []
        return list(dict.fromkeys(norm_order_number(n) for n in [*named, *self.numbers]))


def _sku_not_on_order(event: Event, ctx: OrderContext | None) -> str | None:
    """Why a supplier ETA or allocation failure cannot apply to its order: its SKU is not one of the order's
    items (a mis-keyed event; telling the customer about another product's stock would be false). None when
    it applies, or when the order's items are not known yet (routing then ignores a SKU that turns out not to
    be on the order)."""
    if not isinstance(event, SupplierEtaChanged | AllocationFailed) or ctx is None or not ctx.items:
        return None
    sku = event.payload.sku
    if any(item.sku == sku for item in ctx.items):
        return None
    skus = ", ".join(sorted({item.sku for item in ctx.items}))
    return (
        f"{event.type} for SKU {sku!r}, which is not an item of order {ctx.order_id!r} (its SKUs: {skus}); "
        "check the event's order_id and sku"
    )


def in_progress(case: CaseState | None, ctx: OrderContext | None) -> bool:
    """An order a sweep re-evaluates: open case, known, not cancelled, not delivered (EVENTS.md)."""
    return (
        case is not None
        and case.is_open
        and ctx is not None
        and ctx.known
        and not ctx.cancelled
        and not ctx.all_delivered
    )


class Pipeline:
    """Runs canonical events through every stage, in order; returns the output records per input."""

    def __init__(
        self, policy: Policy, state: MemoryState | None = None, *, owns: Callable[[str], bool] | None = None
    ) -> None:
        """``owns(order_id)`` tells whether this pipeline may process an order (the streaming worker owns
        only its partitions); a ticket matched to an order it does not own is returned as a
        :data:`FORWARD_TICKET` output instead of being processed. ``None``: every order is ours."""
        self.policy = policy
        self.state = state or MemoryState()
        self.owns = owns
        self.tool_failures: dict[str, str] = {}
        """order id -> a live look-up that failed for it (set by the streaming worker per batch): a customer
        contact about that order routes to missing_order_data naming the failing system."""
        self.stats = Stats()
        self._input: tuple[str | bytes | None, str | None, int | None] = (None, None, None)
        """The raw input being processed, so a dead letter raised deep inside keeps the original line."""

    # ---- entry points ---------------------------------------------------------------------------

    def process_line(
        self, raw: str | bytes, *, source_name: str | None = None, line: int | None = None
    ) -> list[Output]:
        parsed = parse_line(raw, source_name=source_name, line=line)
        if isinstance(parsed, DeadLetter):
            self.stats.events_in += 1
            self.stats.dead_letters += 1
            self.stats.dead_letter_types[parsed.error_type] += 1
            return [(TOPIC_DLQ, parsed)]
        return self.process_event(parsed, raw=raw, source_name=source_name, line=line)

    def process_event(
        self,
        event: Event,
        *,
        raw: str | bytes | None = None,
        source_name: str | None = None,
        line: int | None = None,
    ) -> list[Output]:
        self.stats.events_in += 1
        self.stats.events_by_type[event.type] += 1
        self._input = (raw, source_name, line)
        st = self.state
        if st.watermark is None or event.occurred_at > st.watermark:
            st.watermark = event.occurred_at
        # The event's own order first catches up on its follow-ups (a clock tick evaluates its orders itself).
        out = [] if isinstance(event, ClockTick) or event.order_id is None else self._fire_own(event.order_id, event)
        try:
            out += self._process(event)
            self._tally(out)
        except Exception as exc:
            tb = traceback.extract_tb(exc.__traceback__)[-1]
            reason = f"internal error {type(exc).__name__}: {exc} (at {tb.filename.rsplit('/', 1)[-1]}:{tb.lineno})"
            self.stats.dead_letter_types["internal_error"] += 1  # not tallied: _tally did not run
            out += self._event_dead_letter(event, reason, "internal_error")
        return out

    def _fire_own(self, key: str, event: Event) -> list[Output]:
        """Fire the follow-ups of ``key``'s case that fell due before ``event`` (not a clock tick), each at its
        own due time, oldest first, before the event changes the case: a promised checkpoint is kept at the
        promised time, not when the next event happens to arrive.

        Follow-ups are fired per case, when the case's own next input comes (here), and for every case at the
        end of a replay's input (:meth:`advance_to`; in a worker, the follow-up monitor fires them): never by
        another order's event. So a ``clock.tick`` for
        the order (or a sweep while it is in progress) that comes after the due time, whatever other orders did
        meanwhile, re-evaluates it at the tick's time, sees every threshold crossed and checkpoint fallen due
        since its last evaluation, and what it sends carries the tick's id, as SPEC §2's scheduled sweep and an
        operator reading it expect (a follow-up has an id no one outside can predict). In a live deployment the
        follow-up monitor fires them on time; in a replay whose ticks are sparser than the checkpoints, a
        promised checkpoint goes out at the tick and counts as late (``Stats.promised_follow_ups``). The
        evaluation of a case depends only on that case, its order and the time, so the records are those of
        firing at the due time; only their place in the output files differs."""
        st = self.state
        now = event.occurred_at
        out: list[Output] = []
        while True:
            case = st.cases.get(key)
            due = case.next_follow_up_due_at if case is not None else None
            if case is None or due is None or due > now or not case.is_open:
                return out
            fired = self._fire(key, case, due)
            if fired is None:
                return out
            out += fired

    def _fire(self, key: str, case: CaseState, due: datetime) -> list[Output] | None:
        """Evaluate ``case``'s follow-up due at ``due``; None if it already fired (its tick id was seen)."""
        st = self.state
        tick = ClockTick(
            event_id=follow_up_event_id(case.wismo_case_id, due),
            source="clock",
            type="clock.tick",
            occurred_at=due,
            order_id=case.order_id,
            payload=EmptyPayload(),
        )
        if tick.event_id in st.seen:
            return None
        st.seen.add(tick.event_id)
        self.stats.follow_ups_fired += 1
        return self._evaluate(key, tick, follow_up=True)

    def advance_to(self, now: datetime) -> list[Output]:
        """Fire every case's follow-ups due at or before ``now`` (event time), oldest first, each at its own due
        time: what the end of a replay's input does for cases that had no further input (see
        :meth:`_fire_own`)."""
        st = self.state
        if st.watermark is None or now > st.watermark:
            st.watermark = now
        out: list[Output] = []
        heap = st.follow_ups
        while heap and heap[0][0] <= st.watermark:
            due, key, case_id = heapq.heappop(heap)
            case = st.cases.get(key)
            if case is None or case.wismo_case_id != case_id or not case.is_open or case.next_follow_up_due_at != due:
                continue  # superseded commitment
            out += self._fire(key, case, due) or []
        return out

    def end_of_input(self) -> list[Output]:
        """At the end of an input: every follow-up due by the newest event time seen (:meth:`advance_to`)."""
        wm = self.state.watermark
        return [] if wm is None else self.advance_to(wm)

    # ---- stages ---------------------------------------------------------------------------------

    def _process(self, event: Event) -> list[Output]:
        st = self.state
        if event.event_id in st.seen:
            self.stats.duplicates += 1
            return []
        if isinstance(event, TicketMessage):
            st.seen.add(event.event_id)
            return self._ticket(event)
        if isinstance(event, ClockTick):
            st.seen.add(event.event_id)
            if event.event_id.startswith("followup:"):
                return self._follow_up_tick(event)
            if event.order_id is not None and event.event_id.startswith(SWEEP_SLICE_PREFIX):
                return self._sweep_slice(event)
            if event.order_id is None:
                out: list[Output] = []
                contexts = st.contexts
                for key in sorted(k for k, c in st.cases.items() if in_progress(c, contexts.get(k))):
                    out += self._evaluate(key, event)
                return out
            return self._evaluate(event.order_id, event)
        if isinstance(event, ReviewDecision):
            return self._review(event)
        order_id = event.order_id
        assert order_id is not None
        ctx = st.contexts.get(order_id)
        dup = already_applied(event, ctx, self.policy.thresholds)
        if dup is not None:
            st.seen.add(event.event_id)
            self.stats.duplicate_status += 1
            return []
        st.seen.add(event.event_id)
        stranger = _sku_not_on_order(event, ctx)
        if stranger is not None:
            return self._unknown_reference(event, stranger)
        if ctx is None:
            ctx = st.contexts[order_id] = OrderContext(order_id=order_id)
        signals = fold_event(event, ctx, self.policy.thresholds, self.policy.communications.timezone)
        if event.type == "order.placed":
            self._index_order(ctx)
        return self._evaluate(
            order_id,
            event,
            signals=frozenset(signals),
            backend_changed=event.source in BACKEND_SOURCES and SIG_SUPERSEDED not in signals,
        )

    def _follow_up_tick(self, tick: ClockTick) -> list[Output]:
        """A follow-up published by the streaming runtime's monitor (same id as the one :meth:`advance_to`
        would fire). Evaluated as that follow-up when the case still holds the commitment; otherwise it was
        superseded and is ignored, as :meth:`advance_to` ignores a superseded heap entry."""
        m = FOLLOW_UP_TICK_ID.match(tick.event_id)
        if m is None:
            return self._evaluate(tick.order_id, tick) if tick.order_id else []
        key = m["key"]
        case = self.state.cases.get(key)
        due = case.next_follow_up_due_at if case is not None else None
        if (
            case is None
            or due is None
            or not case.is_open
            or case.wismo_case_id != m["case"]
            or follow_up_event_id(case.wismo_case_id, due) != tick.event_id
        ):
            return []
        self.stats.follow_ups_fired += 1
        return self._evaluate(key, tick, follow_up=True)

    def _sweep_slice(self, tick: ClockTick) -> list[Output]:
        """A sweep's evaluation of one order, deferred by the streaming worker (see :data:`SWEEP_SLICE_PREFIX`).
        Evaluated as the sweep would have, unless the order is no longer in progress or its case was already
        evaluated at or after the sweep's time (a newer event overtook the slice: its evaluation saw every
        time threshold the sweep was to notice)."""
        key = tick.order_id
        assert key is not None
        if not self.is_in_progress(key):
            return []
        done = self.state.cases[key].last_evaluated_at
        if done is not None and done >= tick.occurred_at:
            self.stats.sweep_slices_overtaken += 1
            return []
        return self._evaluate(key, tick)

    def is_in_progress(self, key: str) -> bool:
        """What a ``clock.tick`` without an order re-evaluates (EVENTS.md); see :func:`in_progress`."""
        return in_progress(self.state.cases.get(key), self.state.contexts.get(key))

    def _index_order(self, ctx: OrderContext) -> None:
        st = self.state
        if ctx.order_number:
            st.by_number[norm_order_number(ctx.order_number)] = ctx.order_id
        for ref in customer_refs(ctx.customer_id, ctx.customer_email):
            st.by_customer.setdefault(ref, set()).add(ctx.order_id)

    def _case(
        self,
        key: str,
        order_id: str | None,
        at: datetime,
        *,
        reopen: bool,
        by_contact: bool = False,
        ticket_id: str | None = None,
    ) -> CaseState:
        """The case of ``key``, opened if there is none; a closed case is followed by case ``n+1`` when
        ``reopen``, except that a customer's reply (``by_contact``: not one saying the order arrived) on the
        ticket our delivered confirmation went to reopens that same case: the confirmation said "reply to this
        message and we will reopen your case", so the reply is a further contact on it (a second one routes to
        repeated_contact, a not-received claim to delivered_not_received). A new ticket after that
        confirmation is a new contact on case ``n+1``: repeated contact counts contacts before resolution."""
        st = self.state
        case = st.cases.get(key)
        if case is None:
            case = st.cases[key] = CaseState(
                wismo_case_id=case_id_for(order_id or key, 1), order_id=order_id, opened_at=at
            )
        elif (
            not case.is_open
            and reopen
            and by_contact
            and case.last_status_sent == "delivered"
            and case.open_ticket_id in (None, ticket_id)
        ):
            case.status = "open"
            case.closed_at = None
        elif not case.is_open and reopen:
            seq = case.seq + 1
            case = st.cases[key] = CaseState(
                wismo_case_id=case_id_for(order_id or key, seq),
                order_id=order_id,
                seq=seq,
                opened_at=at,
                last_status_sent=case.last_status_sent,
            )
        return case

    def _evaluate(
        self,
        key: str,
        event: Event,
        *,
        signals: frozenset[str] = frozenset(),
        contact: ContactInfo | None = None,
        missing: tuple[str, ...] = (),
        ambiguous: bool = False,
        follow_up: bool = False,
        backend_changed: bool = False,
    ) -> list[Output]:
        st = self.state
        ctx = st.contexts.get(key)
        order_id = None if key.startswith("ticket:") else key
        current = st.cases.get(key)
        reopen = (
            current is not None
            and not current.is_open
            and (
                contact is not None
                or bool(
                    backend_changed and ctx is not None and ctx.known and not ctx.cancelled and not ctx.all_delivered
                )
            )
        )
        by_contact = contact is not None and not contact.acknowledges_receipt
        case = self._case(
            key,
            order_id,
            event.occurred_at,
            reopen=reopen,
            by_contact=by_contact,
            ticket_id=contact.ticket_id if contact is not None else None,
        )
        if contact is not None:
            record_contact(case, ctx, contact, event.occurred_at)
            self.stats.contacts[(contact.channel, "repeat" if len(case.contacts) > 1 else "first")] += 1
            if not missing and key in self.tool_failures:
                missing = (self.tool_failures[key],)
        ev = Evaluation(
            event=event,
            ctx=ctx,
            case=case,
            policy=self.policy,
            signals=signals,
            contact=contact,
            missing=missing,
            ambiguous=ambiguous,
            follow_up=follow_up,
            backend_changed=backend_changed,
        )
        before = case.next_follow_up_due_at
        observed = (case.condition_type, case.last_customer_update_at, case.checkpoint_promised, before)
        rec = evaluate(ev)
        self._count(rec)
        self._observe_case(case, ev, observed)
        self._schedule(key, case, before)
        return ev.outputs

    def _schedule(self, key: str, case: CaseState, before: datetime | None) -> None:
        """Queue the case's follow-up when its commitment changed (an unchanged one is already queued)."""
        due = case.next_follow_up_due_at
        if due is not None and case.is_open and due != before:
            heapq.heappush(self.state.follow_ups, (due, key, case.wismo_case_id))
            self.stats.follow_ups_scheduled += 1

    def _tally(self, outputs: list[Output]) -> None:
        """Count one event's output records for the monitored figures (:class:`Stats`)."""
        s = self.stats
        for topic, rec in outputs:
            if isinstance(rec, ActionRecord):
                s.actions[(rec.kind, rec.mode, rec.channel or "none")] += 1
                if rec.kind == "escalation":
                    s.escalations[rec.condition_type] += 1
                elif rec.note_reason == "guardrail_failed":
                    s.guardrail_failures[rec.condition_type] += 1
                if rec.kind == "proactive_update" or rec.draft_kind == "proactive_update":
                    s.proactive_updates["no_ticket" if rec.ticket_id is None else "open_ticket"] += 1
            elif topic == TOPIC_DLQ and isinstance(rec, DeadLetter):
                s.dead_letter_types[rec.error_type] += 1

    def _observe_case(
        self,
        case: CaseState,
        ev: Evaluation,
        before: tuple[ConditionType | None, datetime | None, bool, datetime | None],
    ) -> None:
        """Contact outcomes, promised follow-ups and exception-to-update time of one evaluation."""
        s = self.stats
        now = ev.event.occurred_at
        prev_condition, prev_update, promised, due = before
        updated = case.last_customer_update_at != prev_update
        if ev.contact is not None:
            kinds = {getattr(rec, "kind", None) for _, rec in ev.outputs}
            drafted = any(getattr(rec, "draft_kind", None) == "reply" for _, rec in ev.outputs)
            outcome = (
                "escalated" if "escalation" in kinds else "answered" if "reply" in kinds or drafted else "unanswered"
            )
            s.contact_outcomes[(ev.contact.channel, outcome)] += 1
        if promised and due is not None:
            if updated:
                s.promised_follow_ups["on_time" if now <= due else "late"] += 1
            elif now >= due and (ev.follow_up or ev.event.type == "clock.tick"):
                s.promised_follow_ups["missed"] += 1
        cond = case.condition_type
        if cond in EXCEPTION_CONDITIONS:
            # An episode starts when the case enters the exception conditions, or moves to another one after the
            # customer was told about the last; moving between them before any update continues the episode.
            if case.exception_at is None or (cond != prev_condition and case.exception_answered):
                case.exception_at, case.exception_answered = now, False
            if updated and not case.exception_answered:
                s.exception_to_update_seconds.append((now - case.exception_at).total_seconds())
                case.exception_answered = True
        else:
            case.exception_at, case.exception_answered = None, False

    def _count(self, rec: DecisionRecord) -> None:
        s = self.stats
        s.evaluations += 1
        s.conditions[rec.condition_type] += 1
        if rec.suppressed:
            s.suppressed[rec.suppressed] += 1

    # ---- tickets --------------------------------------------------------------------------------

    def _ticket(self, event: TicketMessage) -> list[Output]:
        st = self.state
        p = event.payload
        if p.author == "agent":
            order_id = event.order_id or st.by_ticket.get(p.ticket_id)
            if order_id is None:
                return []
            if self.owns is not None and event.order_id is None and not self.owns(order_id):
                return self._forward(event, order_id)
            out = self._fire_own(order_id, event) if event.order_id is None else []
            ctx = st.contexts.get(order_id)
            case = self._case(order_id, order_id, event.occurred_at, reopen=False)
            if p.public:
                record_human_update(case, ctx, p.ticket_id, p.channel, event.occurred_at)
            return out + self._evaluate(order_id, event)
        intents = recognise_intents(p.text)
        contact = ContactInfo(
            event_id=event.event_id,
            ticket_id=p.ticket_id,
            channel=p.channel,
            intents=intents,
            resolution=requested_resolution(p.text) if "refund_or_replacement" in intents else None,
            acknowledges_receipt=acknowledges_receipt(p.text),
        )
        order_id = event.order_id or st.by_ticket.get(p.ticket_id)
        if order_id is None:
            match = self._match(event)
            if match.unfound_number:
                contact = replace(contact, unfound_number=match.unfound_number)
            if match.outcome == "matched" and match.order_id is not None:
                order_id = match.order_id
            else:
                key = f"ticket:{p.ticket_id}"
                ambiguous = match.outcome == "ambiguous"
                missing = ("order number (several open orders match)",) if ambiguous else (match.reason,)
                out = self._fire_own(key, event)
                return out + self._evaluate(key, event, contact=contact, missing=missing, ambiguous=ambiguous)
        if self.owns is not None and event.order_id is None and not self.owns(order_id):
            return self._forward(event, order_id)
        out = self._fire_own(order_id, event) if event.order_id is None else []
        st.by_ticket[p.ticket_id] = order_id
        stale = st.cases.get(f"ticket:{p.ticket_id}")
        if stale is not None and stale.is_open:
            stale.status = "closed"  # the unidentified ticket is now matched to its order
            stale.next_follow_up_due_at = None
        return out + self._evaluate(order_id, event, contact=contact)

    def _forward(self, event: TicketMessage, order_id: str) -> list[Output]:
        """Hand a ticket matched to another worker's order to that worker: not marked seen here, so the
        forwarded copy (same event_id) is processed once, there; forwarding twice is absorbed by dedupe."""
        self.state.seen.discard(event.event_id)
        self.state.by_ticket[event.payload.ticket_id] = order_id  # the ticket's next messages forward too
        return [(FORWARD_TICKET, event.model_copy(update={"order_id": order_id}))]

    def _match(self, event: TicketMessage) -> MatchResult:
        st = self.state
        look = TicketLookup.of(event)
        if len(look.numbers) > 1:
            named = [
                s
                for n in look.numbers
                if (oid := st.by_number.get(norm_order_number(n))) is not None and (s := self._summary(oid)) is not None
            ]
            picked = match_named(named, customer_id=look.customer_id, customer_email=look.email)
            if picked is not None:
                return picked
        by_number = None
        if look.number:
            oid = st.by_number.get(norm_order_number(look.number))
            if oid is not None:
                by_number = self._summary(oid)
        ids: set[str] = set()
        for ref in look.refs:
            ids |= st.by_customer.get(ref, set())
        orders = [s for s in (self._summary(i) for i in sorted(ids)) if s is not None]
        return match_ticket(
            order_number=look.number,
            customer_id=look.customer_id,
            customer_email=look.email,
            intents=recognise_intents(event.payload.text),
            by_number=by_number,
            customer_orders=orders,
            now=event.occurred_at,
            lookback_days=self.policy.thresholds.match_lookback_days,
        )

    def _summary(self, order_id: str) -> OrderSummary | None:
        ctx = self.state.contexts.get(order_id)
        if ctx is None or not ctx.known or ctx.placed_at is None:
            return None
        return OrderSummary(
            order_id=order_id,
            order_number=ctx.order_number or "",
            customer_id=ctx.customer_id,
            customer_email=ctx.customer_email,
            placed_at=ctx.placed_at,
            delivered=ctx.all_delivered,
            cancelled=ctx.cancelled,
        )

    def _unknown_reference(self, event: Event, reason: str) -> list[Output]:
        """A valid event that refers to something the order does not have: a ``wismo.dlq`` record of type
        ``unknown_reference`` with the original line; the event changes nothing (it stays marked seen, so a
        redelivery is a duplicate, not a second dead letter)."""
        return self._event_dead_letter(event, reason, "unknown_reference")

    def _event_dead_letter(self, event: Event, reason: str, error_type: DeadLetterType) -> list[Output]:
        """A ``wismo.dlq`` record for the parsed ``event`` being processed, carrying its original input line
        (``self._input``; the event re-serialised when it came without one). Counts ``dead_letters``."""
        self.stats.dead_letters += 1
        raw, source_name, line = self._input
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        return [
            (
                TOPIC_DLQ,
                dead_letter(
                    text if text is not None else event.model_dump_json(),
                    reason,
                    error_type,
                    obj=event.model_dump(mode="json"),
                    source_name=source_name,
                    line=line,
                ),
            )
        ]

    # ---- reviewer decisions ---------------------------------------------------------------------

    def _review(self, event: ReviewDecision) -> list[Output]:
        st = self.state
        order_id = event.order_id
        p = event.payload
        case = st.cases.get(order_id)
        st.seen.add(event.event_id)
        if case is None or (p.escalation_id not in case.escalations and p.escalation_id not in case.drafts):
            return self._unknown_reference(
                event,
                f"review.decision refers to escalation {p.escalation_id!r}, which is not open on order "
                f"{order_id!r}; check the escalation_id and order_id",
            )
        ev = Evaluation(event=event, ctx=st.contexts.get(order_id), case=case, policy=self.policy)
        before = case.next_follow_up_due_at
        why = refusal(
            self.policy.reviewers,
            p.reviewer,
            p.decision,
            _decision_types(case, p.escalation_id),
            ev.ctx.order_value if ev.ctx is not None else Decimal(0),
            self.policy.thresholds.high_value_threshold,
        )
        if why is not None:
            rec = refuse_review(ev, p.escalation_id, p.decision, p.reviewer, why)
        else:
            rec = apply_review(ev, p.escalation_id, p.decision, p.reviewer, p.rationale)
        self._count(rec)
        self._schedule(order_id, case, before)
        return ev.outputs
