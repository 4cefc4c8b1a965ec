"""Shadow mode: a candidate policy runs beside the live one on the same events; its decisions are compared
with the live ones and never sent. Pure: compares decision records (as JSON objects); no I/O.

One comparison record per evaluation where the two differ, on ``wismo.shadow``:
``{"decision_id", "order_id", "case_id", "caused_by", "evaluated_at", "differences": [field, ...],
"live": {...}, "candidate": {...}}`` with the compared fields of each side (``null`` for a side that did not
evaluate at all). Compared fields: condition, handler, recommended action, escalation reasons, mode,
suppression, and the kinds of records written (replies, notes, escalations, drafts). Evaluations that agree
are only counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

TOPIC_SHADOW = "wismo.shadow"

COMPARED = ("condition_type", "handler", "recommended_action", "escalation_reasons", "mode", "suppressed", "kinds")


@dataclass
class ShadowStats:
    compared: Counter[str] = field(default_factory=Counter)
    """evaluations by outcome: ``same``, ``different``, ``live_only``, ``candidate_only``"""
    differences: Counter[str] = field(default_factory=Counter)
    """differing evaluations by field"""


def _view(decision: Mapping[str, Any], kinds: Mapping[str, str]) -> dict[str, Any]:
    return {
        "condition_type": decision["condition_type"],
        "handler": decision["handler"],
        "recommended_action": decision["recommended_action"],
        "escalation_reasons": sorted(decision["escalation_reasons"]),
        "mode": decision["mode"],
        "suppressed": decision["suppressed"],
        "kinds": sorted(kinds.get(a, "?") for a in decision["action_ids"]),
    }


def compare(
    live: Iterable[Mapping[str, Any]], candidate: Iterable[Mapping[str, Any]], stats: ShadowStats | None = None
) -> list[dict[str, Any]]:
    """Comparison records for the evaluations that differ. ``live`` and ``candidate`` are the records each
    pipeline wrote for the same events (decisions, and the action records their ``action_ids`` name)."""
    sides: list[tuple[dict[str, Mapping[str, Any]], dict[str, str]]] = []
    for records in (live, candidate):
        decisions: dict[str, Mapping[str, Any]] = {}
        kinds: dict[str, str] = {}
        for r in records:
            if "decision_id" in r:
                decisions[r["decision_id"]] = r
            elif "action_id" in r:
                kinds[r["action_id"]] = "draft_" + r["draft_kind"] if r.get("draft_kind") else r["kind"]
        sides.append((decisions, kinds))
    (ld, lk), (cd, ck) = sides
    out = []
    for did in sorted(set(ld) | set(cd)):
        a = _view(ld[did], lk) if did in ld else None
        b = _view(cd[did], ck) if did in cd else None
        if a == b:
            outcome, diff = "same", []
        elif a is None or b is None:
            outcome, diff = ("candidate_only" if a is None else "live_only"), list(COMPARED)
        else:
            outcome, diff = "different", [f for f in COMPARED if a[f] != b[f]]
        if stats is not None:
            stats.compared[outcome] += 1
            stats.differences.update(diff)
        if diff:
            src = ld.get(did) or cd[did]
            out.append(
                {
                    "decision_id": did,
                    "order_id": src["order_id"],
                    "case_id": src["case_id"],
                    "caused_by": src["caused_by"],
                    "evaluated_at": src["evaluated_at"],
                    "differences": diff,
                    "live": a,
                    "candidate": b,
                }
            )
    return out
