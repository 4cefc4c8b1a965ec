"""The end-of-run summary table of ``wismo replay`` (pure: data in, text out; no I/O).

:class:`OutputCounts` tallies what the pipeline emitted (fed every input's outputs, e.g. as the ``tap`` of
:func:`wismo.replay.replay_files`); :func:`render_summary` turns it and the pipeline's
:class:`~wismo.pipeline.Stats` into a plain-text table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import get_args

import orjson
from pydantic import BaseModel

from wismo.conditions import PRECEDENCE
from wismo.pipeline import Stats
from wismo.records import (
    OUTPUT_TOPICS,
    TOPIC_DECISIONS,
    TOPIC_DLQ,
    ActionRecord,
    DeadLetter,
    DecisionRecord,
    EscalationRecord,
    Kind,
)

KINDS: tuple[str, ...] = get_args(Kind)
LABEL_WIDTH = 40


@dataclass
class OutputCounts:
    """Counts of the output records, by kind and reason (what :class:`Stats` does not break down)."""

    topics: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    drafts: int = 0
    """internal notes that are drafts (``draft: true``: testing mode or a withheld customer text)"""
    conditions: Counter[str] = field(default_factory=Counter)
    """condition_type per ``wismo.decisions`` record"""
    escalation_reasons: Counter[str] = field(default_factory=Counter)
    dead_letters: Counter[str] = field(default_factory=Counter)
    """dead letters by ``error_type``"""

    def observe_raw(self, topic: str, data: bytes) -> None:
        """The same counts from one serialised record (a partitioned replay hands records over as JSON)."""
        self.topics[topic] += 1
        rec = orjson.loads(data)
        if topic == TOPIC_DECISIONS:
            self.conditions[rec["condition_type"]] += 1
        elif topic == TOPIC_DLQ:
            self.dead_letters[rec["error_type"]] += 1
        else:
            self.kinds[rec["kind"]] += 1
            if rec["kind"] == "internal_note" and rec.get("draft"):
                self.drafts += 1
            if rec["kind"] == "escalation":
                self.escalation_reasons.update(rec.get("escalation_reasons") or ["(none)"])

    def observe(self, outputs: Iterable[tuple[str, BaseModel]]) -> None:
        for topic, rec in outputs:
            self.topics[topic] += 1
            if isinstance(rec, ActionRecord):
                self.kinds[rec.kind] += 1
                if rec.kind == "internal_note" and rec.draft:
                    self.drafts += 1
                if isinstance(rec, EscalationRecord):
                    self.escalation_reasons.update(rec.escalation_reasons or ["(none)"])
            elif isinstance(rec, DecisionRecord):
                self.conditions[rec.condition_type] += 1
            elif isinstance(rec, DeadLetter):
                self.dead_letters[rec.error_type] += 1


def _n(v: int) -> str:
    return f"{v:,}"


def _row(label: str, value: str, indent: int = 2) -> str:
    pad = LABEL_WIDTH - indent
    return f"{' ' * indent}{label:<{pad}} {value:>12}"


def _section(title: str, rows: list[tuple[str, int]], *, empty: str = "(none)") -> list[str]:
    lines = ["", title]
    if not rows:
        lines.append(f"  {empty}")
    lines += [_row(k, _n(v)) for k, v in rows]
    return lines


def _by_count(c: Mapping[str, int]) -> list[tuple[str, int]]:
    """Largest first, then by name."""
    return sorted(((k, v) for k, v in c.items() if v), key=lambda kv: (-kv[1], kv[0]))


def _by_precedence(c: Mapping[str, int]) -> list[tuple[str, int]]:
    rank: dict[str, int] = {name: i for i, name in enumerate(PRECEDENCE)}
    return sorted(((k, v) for k, v in c.items() if v), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))


def render_summary(
    stats: Stats, counts: OutputCounts, *, elapsed_s: float, inputs: int = 1, out_dir: str | None = None
) -> str:
    """The summary table: events, conditions, outputs by topic and kind, escalations and suppressions."""
    rate = stats.events_in / elapsed_s if elapsed_s > 0 else 0.0
    head = f"wismo replay: {_n(stats.events_in)} events from {inputs} file(s) in {elapsed_s:.2f} s"
    if out_dir is not None:
        head += f" -> {out_dir}"
    lines = [head, "", "Events"]
    lines.append(_row("events read", _n(stats.events_in)))
    lines.append(_row("events/s", f"{rate:,.0f}"))
    lines.append(_row("duplicates dropped (event_id)", _n(stats.duplicates)))
    lines.append(_row("duplicate backend statuses dropped", _n(stats.duplicate_status)))
    lines.append(_row("dead letters", _n(stats.dead_letters)))
    lines += [_row(f"{k}", _n(v), indent=4) for k, v in _by_count(counts.dead_letters)]
    lines.append(_row("follow-ups fired", _n(stats.follow_ups_fired)))
    lines.append(_row("evaluations", _n(stats.evaluations)))

    conditions = counts.conditions if counts.conditions else stats.conditions
    lines += _section("Conditions (decisions)", _by_precedence(conditions))

    topics = {t: stats.outputs.get(t, counts.topics.get(t, 0)) for t in OUTPUT_TOPICS}
    lines += ["", "Outputs by topic"]
    lines += [_row(t, _n(v)) for t, v in topics.items()]
    lines += [_row(t, _n(v)) for t, v in sorted(stats.outputs.items()) if t not in topics]

    lines += ["", "Outputs by kind"]
    for kind in KINDS:
        lines.append(_row(kind, _n(counts.kinds.get(kind, 0))))
        if kind == "internal_note":
            lines.append(_row("of which drafts", _n(counts.drafts), indent=4))

    lines += _section("Escalations by reason", _by_count(counts.escalation_reasons))
    lines += _section("Suppressed by reason", _by_count(stats.suppressed))
    return "\n".join(lines) + "\n"
