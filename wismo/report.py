"""Operations report figures from wismo's output records (pure: parsed records in, figures out; no I/O).

:func:`build_figures` takes the records of the output topics (EVENTS.md "Output: action records"), as parsed
JSON objects keyed by canonical topic name, and computes what ``wismo report`` shows. Every time is event
time (``evaluated_at`` of a decision, ``created_at`` of an action record), never the wall clock, so the same
records always give the same figures. A record that lacks a field a figure needs (or holds a value of the
wrong type, or a timestamp without a UTC offset) is left out of the figures and counted in
:attr:`Figures.notes`; nothing here raises for bad input. A record repeated exactly, with the same id on the
same topic (an outbox re-publish), is counted once.

Definitions (also printed in the report):

* **Escalation rate by condition**: cases escalated while in the condition (an escalation record with that
  ``condition_type``) / cases evaluated in the condition at least once (a decision, or an escalation, with
  that ``condition_type``).
* **Follow-up timeliness**: a decision *sets* a checkpoint when its ``next_follow_up_due_at`` is later than
  its own ``evaluated_at`` and differs from the previous decision of the same case. The checkpoint is
  *answered* by the first later decision of the case that is evaluated at or after the due time, or that
  replaces or clears it (a different ``next_follow_up_due_at``: a new promise, or the case closed).
  Answered at or before the due time: *on time*; after it: *late*. Never answered: *missed* when the data
  runs to or past the due time (the latest event time in the records), else *pending*. The on-time share is
  on time / (on time + late + missed). A checkpoint is *set with a customer message* when its decision also
  wrote a reply or proactive update (or, in testing mode, the draft of one): usually the message names it.
* **Time from backend exception to first customer update**, per *exception episode*: an episode starts at a
  decision that enters a backend-exception condition (:data:`wismo.conditions.EXCEPTION_CONDITIONS`, the set
  the Prometheus metric uses; a different condition from the case's previous decision) while no episode of
  the case is open. It ends *updated* at the case's first customer message created at or after its start: a
  ``reply`` or ``proactive_update``, or in testing mode the draft note of one (``note_reason:
  testing_mode``); *cleared* when a decision leaves the exception conditions first (with no message at that
  same time); else it is *waiting* (no update yet). Moving from one exception condition to another before
  the update continues the same episode: the customer has still heard nothing since the first. Notes
  withheld for another reason (guardrail, teammate update, manual takeover, low confidence) were not sent
  and do not count.
* **Guardrail failures**: internal notes with ``note_reason: guardrail_failed``, one row per violation,
  grouped by the violation's category (the text before its first colon).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

from wismo.conditions import EXCEPTION_CONDITIONS, PRECEDENCE
from wismo.records import OUTPUT_TOPICS, TOPIC_DECISIONS, TOPIC_DLQ, Kind

RawRecords = Mapping[str, Sequence[Any]]
"""Canonical output topic name -> its records as parsed JSON (anything; non-objects are noted and skipped)."""

KINDS: tuple[str, ...] = get_args(Kind)
CUSTOMER_KINDS = ("reply", "proactive_update")

Unit = Literal["hour", "day", "week", "month"]
Outcome = Literal["on_time", "late", "missed", "pending"]
OUTCOMES: tuple[Outcome, ...] = ("on_time", "late", "missed", "pending")

DELAY_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("at once", timedelta(0)),
    ("under 1 h", timedelta(hours=1)),
    ("1-4 h", timedelta(hours=4)),
    ("4-24 h", timedelta(hours=24)),
    ("1-3 days", timedelta(days=3)),
    ("over 3 days", None),
)
"""Histogram buckets of the time to first update: a delay falls in the first bucket whose bound it does not
exceed ("at once": zero, the update came with the evaluation that found the exception)."""
EpisodeEnd = Literal["updated", "cleared", "waiting"]
CLEARED = "cleared first"
NO_UPDATE = "no update yet"

MAX_NOTE_EXAMPLES = 20
"""At most this many example problems are listed; all are counted."""


# ---- parsed records -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decision:
    """The fields of a ``wismo.decisions`` record the report uses."""

    decision_id: str
    case_id: str
    order_id: str | None
    condition: str
    mode: str
    evaluated_at: datetime
    suppressed: str | None
    action_ids: tuple[str, ...]
    next_follow_up_due_at: datetime | None
    kill_switch: bool
    seq: int
    """Position in the input (ties on ``evaluated_at`` keep processing order)."""


@dataclass(frozen=True, slots=True)
class Action:
    """The fields of a replies / notes / escalations / actions record the report uses."""

    topic: str
    action_id: str
    kind: str
    mode: str
    case_id: str
    condition: str
    created_at: datetime
    draft: bool
    draft_kind: str | None
    note_reason: str | None
    violations: tuple[str, ...]
    escalation_reasons: tuple[str, ...]
    seq: int

    @property
    def customer_message(self) -> bool:
        """A reply or proactive update that reached the customer, or in testing mode the draft of one."""
        if self.kind in CUSTOMER_KINDS:
            return True
        return self.kind == "internal_note" and self.note_reason == "testing_mode" and self.draft_kind in CUSTOMER_KINDS


class _Bad(Exception):
    """A record that cannot be used: the message says which field and why."""


def _req_str(rec: Mapping[str, Any], name: str) -> str:
    v = rec.get(name)
    if not isinstance(v, str) or not v:
        raise _Bad(f"{name} missing or not a string")
    return v


def _opt_str(rec: Mapping[str, Any], name: str) -> str | None:
    v = rec.get(name)
    if v is None:
        return None
    if not isinstance(v, str):
        raise _Bad(f"{name} is not a string")
    return v


def _str_list(rec: Mapping[str, Any], name: str) -> tuple[str, ...]:
    v = rec.get(name)
    if v is None:
        return ()
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise _Bad(f"{name} is not a list of strings")
    return tuple(v)


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 timestamp with an offset -> an aware UTC datetime; anything else -> None."""
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    if t.utcoffset() is None:
        return None
    return t.astimezone(UTC)


def _req_time(rec: Mapping[str, Any], name: str) -> datetime:
    t = parse_time(rec.get(name))
    if t is None:
        raise _Bad(f"{name} missing or not an RFC 3339 time with an offset")
    return t


def _opt_time(rec: Mapping[str, Any], name: str) -> datetime | None:
    v = rec.get(name)
    if v is None:
        return None
    t = parse_time(v)
    if t is None:
        raise _Bad(f"{name} is not an RFC 3339 time with an offset")
    return t


def _decision(rec: Mapping[str, Any], seq: int) -> Decision:
    return Decision(
        decision_id=_req_str(rec, "decision_id"),
        case_id=_req_str(rec, "case_id"),
        order_id=_opt_str(rec, "order_id"),
        condition=_req_str(rec, "condition_type"),
        mode=_opt_str(rec, "mode") or "unknown",
        evaluated_at=_req_time(rec, "evaluated_at"),
        suppressed=_opt_str(rec, "suppressed"),
        action_ids=_str_list(rec, "action_ids"),
        next_follow_up_due_at=_opt_time(rec, "next_follow_up_due_at"),
        kill_switch=rec.get("kill_switch") is True,
        seq=seq,
    )


def _action(topic: str, rec: Mapping[str, Any], seq: int) -> Action:
    return Action(
        topic=topic,
        action_id=_req_str(rec, "action_id"),
        kind=_req_str(rec, "kind"),
        mode=_opt_str(rec, "mode") or "unknown",
        case_id=_req_str(rec, "case_id"),
        condition=_req_str(rec, "condition_type"),
        created_at=_req_time(rec, "created_at"),
        draft=rec.get("draft") is True,
        draft_kind=_opt_str(rec, "draft_kind"),
        note_reason=_opt_str(rec, "note_reason"),
        violations=_str_list(rec, "guardrail_violations"),
        escalation_reasons=_str_list(rec, "escalation_reasons"),
        seq=seq,
    )


@dataclass
class _Parsed:
    decisions: list[Decision] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    dead_letters: Counter[str] = field(default_factory=Counter)
    records_by_topic: Counter[str] = field(default_factory=Counter)
    problems: int = 0
    duplicates: int = 0
    examples: list[str] = field(default_factory=list)

    def bad(self, text: str) -> None:
        self.problems += 1
        if len(self.examples) < MAX_NOTE_EXAMPLES:
            self.examples.append(text)


_ID_FIELD = {TOPIC_DECISIONS: "decision_id", TOPIC_DLQ: "dlq_id"}


def _parse(records: RawRecords) -> _Parsed:
    out = _Parsed()
    seq = 0
    for topic in OUTPUT_TOPICS:
        seen: dict[str, Mapping[str, Any]] = {}
        id_field = _ID_FIELD.get(topic, "action_id")
        for n, rec in enumerate(records.get(topic, ()), 1):
            seq += 1
            if not isinstance(rec, Mapping):
                out.bad(f"{topic} record {n}: not a JSON object")
                continue
            rid = rec.get(id_field)
            if isinstance(rid, str) and seen.get(rid) == rec:
                out.duplicates += 1
                continue
            try:
                if topic == TOPIC_DECISIONS:
                    out.decisions.append(_decision(rec, seq))
                elif topic == TOPIC_DLQ:
                    et = rec.get("error_type")
                    out.dead_letters[et if isinstance(et, str) and et else "(no error_type)"] += 1
                else:
                    out.actions.append(_action(topic, rec, seq))
            except _Bad as exc:
                out.bad(f"{topic} record {n}: {exc}")
                continue
            if isinstance(rid, str):
                seen[rid] = rec
            out.records_by_topic[topic] += 1
    return out


# ---- figures ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Headline:
    """Totals: evaluations, cases, outputs by kind and mode, dead letters, suppressions."""

    evaluations: int
    cases: int
    orders: int
    first_at: datetime | None
    last_at: datetime | None
    records_by_topic: dict[str, int]
    outputs_by_kind: dict[str, int]
    drafts: int
    notes_by_reason: dict[str, int]
    customer_messages: int
    """Replies and proactive updates sent (live), plus testing-mode drafts of them."""
    customer_messages_by_mode: dict[str, int]
    decisions_by_mode: dict[str, int]
    kill_switch_evaluations: int
    dead_letters_by_type: dict[str, int]
    suppressed_by_reason: dict[str, int]
    escalations_by_reason: dict[str, int]

    @property
    def dead_letters(self) -> int:
        return sum(self.dead_letters_by_type.values())

    @property
    def escalations(self) -> int:
        return self.outputs_by_kind.get("escalation", 0)


@dataclass(frozen=True, slots=True)
class Timeline:
    """Evaluations per condition per time bucket (by ``evaluated_at``). ``starts`` are contiguous bucket starts
    (UTC); ``counts[condition][i]`` is the count in bucket ``i``. Empty when there are no decisions."""

    unit: Unit
    starts: list[datetime]
    counts: dict[str, list[int]]

    @property
    def total(self) -> int:
        return sum(sum(v) for v in self.counts.values())


@dataclass(frozen=True, slots=True)
class EscalationRow:
    condition: str
    cases: int
    escalated_cases: int
    evaluations: int
    escalations: int

    @property
    def rate(self) -> float | None:
        return self.escalated_cases / self.cases if self.cases else None


@dataclass(frozen=True, slots=True)
class Commitment:
    """One checkpoint a decision set, and what became of it (see the module docstring)."""

    case_id: str
    condition: str
    set_at: datetime
    due: datetime
    with_message: bool
    outcome: Outcome
    answered_at: datetime | None

    @property
    def lateness(self) -> timedelta | None:
        if self.answered_at is None or self.answered_at <= self.due:
            return None
        return self.answered_at - self.due


@dataclass(frozen=True, slots=True)
class FollowUps:
    commitments: list[Commitment]
    horizon: datetime | None
    """The latest event time in the records: a checkpoint due after it is pending, not missed."""

    def counts(self, *, with_message_only: bool = False) -> dict[Outcome, int]:
        c: Counter[Outcome] = Counter(x.outcome for x in self.commitments if x.with_message or not with_message_only)
        return {o: c.get(o, 0) for o in OUTCOMES}

    def on_time_share(self, *, with_message_only: bool = False) -> float | None:
        """On time / (on time + late + missed); None when no checkpoint has fallen due."""
        c = self.counts(with_message_only=with_message_only)
        judged = c["on_time"] + c["late"] + c["missed"]
        return c["on_time"] / judged if judged else None


@dataclass(frozen=True, slots=True)
class FirstUpdate:
    """One exception episode of a case (see the module docstring): when it started, in which condition, and
    how it ended (``ended_at``: the update, or the decision that cleared it; None while waiting)."""

    case_id: str
    condition: str
    exception_at: datetime
    end: EpisodeEnd
    ended_at: datetime | None
    update_kind: str | None

    @property
    def delay(self) -> timedelta | None:
        """Time to the first customer update; None unless ``end`` is ``updated``."""
        if self.end != "updated" or self.ended_at is None:
            return None
        return self.ended_at - self.exception_at


@dataclass(frozen=True, slots=True)
class DelayRow:
    """Time to first update of the episodes that started in ``condition`` (``"all"`` for every episode)."""

    condition: str
    episodes: int
    updated: int
    cleared: int
    median: timedelta | None
    p90: timedelta | None
    longest: timedelta | None

    @property
    def waiting(self) -> int:
        return self.episodes - self.updated - self.cleared


@dataclass(frozen=True, slots=True)
class FirstUpdates:
    episodes: list[FirstUpdate]

    def histogram(self) -> list[tuple[str, int]]:
        """Updated episodes per delay bucket (:data:`DELAY_BUCKETS`), then the cleared and waiting ones."""
        counts = [0] * len(DELAY_BUCKETS)
        for c in self.episodes:
            d = c.delay
            if d is None:
                continue
            for i, (_, bound) in enumerate(DELAY_BUCKETS):
                if bound is None or d <= bound:
                    counts[i] += 1
                    break
        ends = Counter(c.end for c in self.episodes)
        return [(label, n) for (label, _), n in zip(DELAY_BUCKETS, counts, strict=True)] + [
            (CLEARED, ends["cleared"]),
            (NO_UPDATE, ends["waiting"]),
        ]

    def rows(self) -> list[DelayRow]:
        """One row per exception condition seen (precedence order), then ``all``."""
        by: defaultdict[str, list[FirstUpdate]] = defaultdict(list)
        for c in self.episodes:
            by[c.condition].append(c)
        rows = [_delay_row(cond, by[cond]) for cond in _ordered(by)]
        return [*rows, _delay_row("all", self.episodes)] if rows else []


def _delay_row(condition: str, episodes: Sequence[FirstUpdate]) -> DelayRow:
    delays = sorted(d for c in episodes if (d := c.delay) is not None)
    cleared = sum(1 for c in episodes if c.end == "cleared")
    if not delays:
        return DelayRow(condition, len(episodes), 0, cleared, None, None, None)
    mid = len(delays) // 2
    median = delays[mid] if len(delays) % 2 else (delays[mid - 1] + delays[mid]) / 2
    p90 = delays[max(0, math.ceil(0.9 * len(delays)) - 1)]  # nearest rank
    return DelayRow(condition, len(episodes), len(delays), cleared, median, p90, delays[-1])


@dataclass(frozen=True, slots=True)
class GuardrailFailure:
    case_id: str
    condition: str
    created_at: datetime
    category: str
    detail: str


@dataclass(frozen=True, slots=True)
class Guardrails:
    notes: int
    """internal notes withheld by the guardrail"""
    failures: list[GuardrailFailure]

    def by_category(self) -> list[tuple[str, int]]:
        c = Counter(f.category for f in self.failures)
        return sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))

    def by_condition(self) -> list[tuple[str, int]]:
        c = Counter(f.condition for f in self.failures)
        return [(k, c[k]) for k in _ordered(c)]


@dataclass(frozen=True, slots=True)
class Figures:
    source: str
    headline: Headline
    timeline: Timeline
    escalation: list[EscalationRow]
    follow_ups: FollowUps
    first_updates: FirstUpdates
    guardrails: Guardrails
    notes: list[str]
    """What the reader and the parser could not use (counts first, then examples)."""


# ---- computing ----------------------------------------------------------------------------------------------


def _ordered(keys: Mapping[str, object] | set[str]) -> list[str]:
    """Conditions in SPEC §3 precedence, then any unknown names alphabetically."""
    rank = {c: i for i, c in enumerate(PRECEDENCE)}
    return sorted(keys, key=lambda k: (rank.get(k, len(rank)), k))


def _by_count(c: Counter[str]) -> dict[str, int]:
    return dict(sorted(((k, v) for k, v in c.items() if v), key=lambda kv: (-kv[1], kv[0])))


def _headline(p: _Parsed) -> Headline:
    times = [d.evaluated_at for d in p.decisions] + [a.created_at for a in p.actions]
    kinds = Counter(a.kind for a in p.actions)
    customer = [a for a in p.actions if a.customer_message]
    escalation_reasons: Counter[str] = Counter()
    for a in p.actions:
        if a.kind == "escalation":
            escalation_reasons.update(a.escalation_reasons or ("(none)",))
    return Headline(
        evaluations=len(p.decisions),
        cases=len({d.case_id for d in p.decisions} | {a.case_id for a in p.actions}),
        orders=len({d.order_id for d in p.decisions if d.order_id}),
        first_at=min(times) if times else None,
        last_at=max(times) if times else None,
        records_by_topic={t: p.records_by_topic.get(t, 0) for t in OUTPUT_TOPICS},
        outputs_by_kind={k: kinds.get(k, 0) for k in KINDS} | {k: v for k, v in kinds.items() if k not in KINDS},
        drafts=sum(1 for a in p.actions if a.kind == "internal_note" and a.draft),
        notes_by_reason=_by_count(Counter(a.note_reason or "(none)" for a in p.actions if a.kind == "internal_note")),
        customer_messages=len(customer),
        customer_messages_by_mode=_by_count(Counter(a.mode for a in customer)),
        decisions_by_mode=_by_count(Counter(d.mode for d in p.decisions)),
        kill_switch_evaluations=sum(1 for d in p.decisions if d.kill_switch),
        dead_letters_by_type=_by_count(p.dead_letters),
        suppressed_by_reason=_by_count(Counter(d.suppressed for d in p.decisions if d.suppressed)),
        escalations_by_reason=_by_count(escalation_reasons),
    )


def choose_unit(first: datetime, last: datetime) -> Unit:
    """The bucket size for a span: hours up to 2 days, days up to 92 days, weeks up to 2 years, else months."""
    span = last - first
    if span <= timedelta(hours=48):
        return "hour"
    if span <= timedelta(days=92):
        return "day"
    if span <= timedelta(weeks=104):
        return "week"
    return "month"


def bucket_start(t: datetime, unit: Unit) -> datetime:
    """The start (UTC) of the bucket holding ``t``; weeks start on Monday."""
    t = t.astimezone(UTC)
    if unit == "hour":
        return t.replace(minute=0, second=0, microsecond=0)
    day = t.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_bucket(start: datetime, unit: Unit) -> datetime:
    if unit == "hour":
        return start + timedelta(hours=1)
    if unit == "day":
        return start + timedelta(days=1)
    if unit == "week":
        return start + timedelta(weeks=1)
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)


def _timeline(decisions: Sequence[Decision]) -> Timeline:
    if not decisions:
        return Timeline("day", [], {})
    first = min(d.evaluated_at for d in decisions)
    last = max(d.evaluated_at for d in decisions)
    unit = choose_unit(first, last)
    starts = [bucket_start(first, unit)]
    end = bucket_start(last, unit)
    while starts[-1] < end:
        starts.append(next_bucket(starts[-1], unit))
    index = {s: i for i, s in enumerate(starts)}
    counts: dict[str, list[int]] = {}
    for d in decisions:
        row = counts.setdefault(d.condition, [0] * len(starts))
        row[index[bucket_start(d.evaluated_at, unit)]] += 1
    return Timeline(unit, starts, {c: counts[c] for c in _ordered(counts)})


def _escalation(p: _Parsed) -> list[EscalationRow]:
    cases: defaultdict[str, set[str]] = defaultdict(set)
    escalated: defaultdict[str, set[str]] = defaultdict(set)
    evaluations: Counter[str] = Counter()
    escalations: Counter[str] = Counter()
    for d in p.decisions:
        cases[d.condition].add(d.case_id)
        evaluations[d.condition] += 1
    for a in p.actions:
        if a.kind == "escalation":
            cases[a.condition].add(a.case_id)
            escalated[a.condition].add(a.case_id)
            escalations[a.condition] += 1
    return [EscalationRow(c, len(cases[c]), len(escalated[c]), evaluations[c], escalations[c]) for c in _ordered(cases)]


def _by_case(decisions: Sequence[Decision]) -> dict[str, list[Decision]]:
    by: defaultdict[str, list[Decision]] = defaultdict(list)
    for d in decisions:
        by[d.case_id].append(d)
    for seq in by.values():
        seq.sort(key=lambda d: (d.evaluated_at, d.seq))
    return dict(by)


def _follow_ups(by_case: Mapping[str, list[Decision]], messages: set[str], horizon: datetime | None) -> FollowUps:
    out: list[Commitment] = []
    for case_id, decisions in by_case.items():
        open_: tuple[Decision, bool] | None = None
        last_due: datetime | None = None
        for d in decisions:
            due = d.next_follow_up_due_at
            if open_ is not None:
                setter, with_message = open_
                promised = setter.next_follow_up_due_at
                assert promised is not None
                if d.evaluated_at >= promised or due != promised:
                    outcome: Outcome = "on_time" if d.evaluated_at <= promised else "late"
                    out.append(
                        Commitment(
                            case_id,
                            setter.condition,
                            setter.evaluated_at,
                            promised,
                            with_message,
                            outcome,
                            d.evaluated_at,
                        )
                    )
                    open_ = None
            if due is not None and due != last_due and due > d.evaluated_at:
                open_ = (d, any(a in messages for a in d.action_ids))
            last_due = due
        if open_ is not None:
            setter, with_message = open_
            promised = setter.next_follow_up_due_at
            assert promised is not None
            ended: Outcome = "missed" if horizon is not None and promised <= horizon else "pending"
            out.append(Commitment(case_id, setter.condition, setter.evaluated_at, promised, with_message, ended, None))
    out.sort(key=lambda c: (c.due, c.case_id))
    return FollowUps(out, horizon)


def _episodes(case_id: str, decisions: Sequence[Decision], messages: Sequence[Action]) -> list[FirstUpdate]:
    """The exception episodes of one case; ``messages`` are its customer messages in time order."""

    times = [m.created_at for m in messages]

    def first_message(start: Decision) -> Action | None:
        i = bisect_left(times, start.evaluated_at)
        return messages[i] if i < len(messages) else None

    def ended(start: Decision, end: EpisodeEnd, at: datetime | None, m: Action | None = None) -> FirstUpdate:
        kind = (m.draft_kind or m.kind) if m is not None else None
        return FirstUpdate(case_id, start.condition, start.evaluated_at, end, at, kind)

    out: list[FirstUpdate] = []
    open_: Decision | None = None
    previous: str | None = None
    for d in decisions:
        if open_ is not None:
            m = first_message(open_)
            if m is not None and m.created_at < d.evaluated_at:
                out.append(ended(open_, "updated", m.created_at, m))
                open_ = None
            elif d.condition not in EXCEPTION_CONDITIONS:
                same_time = m is not None and m.created_at == d.evaluated_at
                out.append(
                    ended(open_, "updated", m.created_at, m)
                    if m and same_time
                    else ended(open_, "cleared", d.evaluated_at)
                )
                open_ = None
        if open_ is None and d.condition in EXCEPTION_CONDITIONS and d.condition != previous:
            open_ = d
        previous = d.condition
    if open_ is not None:
        m = first_message(open_)
        out.append(ended(open_, "updated", m.created_at, m) if m is not None else ended(open_, "waiting", None))
    return out


def _first_updates(by_case: Mapping[str, list[Decision]], actions: Sequence[Action]) -> FirstUpdates:
    messages: defaultdict[str, list[Action]] = defaultdict(list)
    for a in actions:
        if a.customer_message:
            messages[a.case_id].append(a)
    out: list[FirstUpdate] = []
    for case_id, decisions in by_case.items():
        msgs = sorted(messages.get(case_id, ()), key=lambda a: (a.created_at, a.seq))
        out += _episodes(case_id, decisions, msgs)
    out.sort(key=lambda c: (c.exception_at, c.case_id))
    return FirstUpdates(out)


def _guardrails(actions: Sequence[Action]) -> Guardrails:
    notes = [a for a in actions if a.kind == "internal_note" and a.note_reason == "guardrail_failed"]
    failures: list[GuardrailFailure] = []
    for a in sorted(notes, key=lambda a: (a.created_at, a.seq)):
        for v in a.violations or ("(no violation recorded)",):
            category, sep, detail = v.partition(":")
            failures.append(
                GuardrailFailure(a.case_id, a.condition, a.created_at, category.strip() if sep else v, detail.strip())
            )
    return Guardrails(len(notes), failures)


def build_figures(records: RawRecords, *, source: str = "", notes: Sequence[str] = ()) -> Figures:
    """Every figure of the report from the output records (see the module docstring for the definitions).
    ``notes`` (from the reader: unreadable lines, missing topics) are kept in :attr:`Figures.notes`. Never
    raises for bad records: they are left out and counted."""
    p = _parse(records)
    by_case = _by_case(p.decisions)
    head = _headline(p)
    messages = {a.action_id for a in p.actions if a.customer_message}
    all_notes = list(notes)
    if p.duplicates:
        all_notes.append(f"{p.duplicates} record(s) repeated exactly (same id, same topic) were counted once")
    if p.problems:
        all_notes.append(f"{p.problems} record(s) could not be used and were left out of the figures")
        all_notes += p.examples
    return Figures(
        source=source,
        headline=head,
        timeline=_timeline(p.decisions),
        escalation=_escalation(p),
        follow_ups=_follow_ups(by_case, messages, head.last_at),
        first_updates=_first_updates(by_case, p.actions),
        guardrails=_guardrails(p.actions),
        notes=all_notes,
    )


__all__ = [
    "CLEARED",
    "CUSTOMER_KINDS",
    "DELAY_BUCKETS",
    "NO_UPDATE",
    "OUTCOMES",
    "Commitment",
    "DelayRow",
    "EscalationRow",
    "Figures",
    "FirstUpdate",
    "FirstUpdates",
    "FollowUps",
    "GuardrailFailure",
    "Guardrails",
    "Headline",
    "RawRecords",
    "Timeline",
    "bucket_start",
    "build_figures",
    "choose_unit",
    "next_bucket",
    "parse_time",
]
