"""Backtest: compare the condition each labelled event was routed to with the expected one (SPEC §8,
"historical tickets map to the expected labels").

Pure functions: :func:`load_labels` reads a label file, :func:`predictions_for` picks the predicted
condition of every labelled event from the ``wismo.decisions`` records, :func:`score` computes per-class
precision / recall / F1, accuracy and the confusion matrix, :func:`render` formats the report.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from wismo.conditions import PRECEDENCE

NONE = "(none)"
"""The predicted condition of a labelled event that produced no decision."""

LABEL_FORMATS = {".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson", ".csv": "csv"}
_CONDITION_KEYS = ("condition", "condition_type", "expected")


class LabelError(ValueError):
    """A label file that cannot be read or parsed."""


@dataclass(frozen=True, slots=True)
class Label:
    event_id: str
    condition: str
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class Prediction:
    condition: str
    order_id: str | None = None
    route_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ClassMetrics:
    condition: str
    precision: float
    recall: float
    f1: float
    support: int
    """how many labels expect this condition"""
    predicted: int
    """how many labelled events were predicted as this condition"""
    true_positives: int


@dataclass(frozen=True, slots=True)
class Mismatch:
    event_id: str
    expected: str
    predicted: str


@dataclass(frozen=True)
class Score:
    total: int
    correct: int
    per_class: tuple[ClassMetrics, ...]
    """every condition expected or predicted (not ``(none)``), in routing precedence"""
    expected_classes: tuple[str, ...]
    """confusion-matrix rows"""
    predicted_classes: tuple[str, ...]
    """confusion-matrix columns (``(none)`` last when some label got no decision)"""
    confusion: Mapping[tuple[str, str], int]
    """(expected, predicted) -> count"""
    mismatches: tuple[Mismatch, ...]

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def meets(self, min_accuracy: float) -> bool:
        """Whether the accuracy reaches ``min_accuracy`` (a fraction), without float rounding surprises."""
        return self.total > 0 and self.correct >= min_accuracy * self.total - 1e-9


# ---- label files --------------------------------------------------------------------------------


def _label_from_obj(obj: Any, where: str) -> Label:
    if not isinstance(obj, dict):
        raise LabelError(f"{where}: expected an object with event_id and condition, got {type(obj).__name__}")
    event_id = obj.get("event_id")
    condition = next((obj[k] for k in _CONDITION_KEYS if k in obj), None)
    order_id = obj.get("order_id")
    if not isinstance(event_id, str) or not event_id:
        raise LabelError(f"{where}: event_id missing or not a string")
    if not isinstance(condition, str) or not condition:
        raise LabelError(f"{where}: condition missing or not a string (keys: {', '.join(_CONDITION_KEYS)})")
    if order_id is not None and not isinstance(order_id, str):
        raise LabelError(f"{where}: order_id must be a string")
    return Label(event_id, condition.strip(), order_id or None)


def parse_labels(text: str, fmt: str, origin: str = "<labels>") -> list[Label]:
    """Parse label text in ``fmt`` (``json``, ``ndjson`` or ``csv``)."""
    labels: list[Label] = []
    if fmt == "json":
        try:
            doc = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise LabelError(f"{origin}: not valid JSON: {exc}") from None
        if isinstance(doc, dict):
            for event_id, value in doc.items():
                if isinstance(value, str):
                    labels.append(Label(event_id, value.strip()))
                else:
                    obj = dict(value) if isinstance(value, dict) else value
                    if isinstance(obj, dict):
                        obj.setdefault("event_id", event_id)
                    labels.append(_label_from_obj(obj, f"{origin}: {event_id}"))
        elif isinstance(doc, list):
            labels = [_label_from_obj(o, f"{origin}: item {i}") for i, o in enumerate(doc)]
        else:
            raise LabelError(f"{origin}: expected a JSON object mapping event_id to condition")
    elif fmt == "ndjson":
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise LabelError(f"{origin}:{n}: not valid JSON: {exc}") from None
            labels.append(_label_from_obj(obj, f"{origin}:{n}"))
    elif fmt == "csv":
        for n, row in enumerate(csv.reader(io.StringIO(text)), 1):
            cells = [c.strip() for c in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if n == 1 and cells[0].lower() == "event_id":
                continue  # header
            if len(cells) < 2 or not cells[0] or not cells[1]:
                raise LabelError(f"{origin}:{n}: expected event_id,condition[,order_id]")
            labels.append(Label(cells[0], cells[1], cells[2] if len(cells) > 2 and cells[2] else None))
    else:
        raise LabelError(f"{origin}: unknown label format {fmt!r}")
    seen: dict[str, str] = {}
    for lab in labels:
        prev = seen.setdefault(lab.event_id, lab.condition)
        if prev != lab.condition:
            raise LabelError(f"{origin}: event {lab.event_id!r} is labelled both {prev!r} and {lab.condition!r}")
    return labels


def load_labels(path: str | Path) -> list[Label]:
    """Read a label file; the format follows the extension (.json, .ndjson / .jsonl, .csv)."""
    p = Path(path)
    fmt = LABEL_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise LabelError(f"{p}: unknown label file type {p.suffix!r}; use one of {', '.join(LABEL_FORMATS)}")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise LabelError(f"{p}: cannot read label file: {exc.strerror}") from None
    labels = parse_labels(text, fmt, str(p))
    if not labels:
        raise LabelError(f"{p}: no labels found")
    return labels


def unknown_conditions(labels: Iterable[Label]) -> list[str]:
    """Expected conditions that are not condition types (most likely typos)."""
    return sorted({lab.condition for lab in labels} - set(PRECEDENCE))


# ---- predictions --------------------------------------------------------------------------------


def _get(rec: Any, key: str) -> Any:
    return rec.get(key) if isinstance(rec, Mapping) else getattr(rec, key, None)


def predictions_for(labels: Sequence[Label], decisions: Iterable[Any]) -> dict[str, Prediction]:
    """The predicted condition per labelled event id, from ``wismo.decisions`` records (models or dicts).

    The prediction for an event is the decision with ``caused_by == event_id``; when there are several
    (a ``clock.tick`` without an order evaluates every open order), the one for the label's order_id,
    else the first. Labelled events without any decision are absent from the result."""
    wanted = {lab.event_id for lab in labels}
    by_event: dict[str, list[Prediction]] = {}
    for rec in decisions:
        caused_by = _get(rec, "caused_by")
        if caused_by not in wanted:
            continue
        inputs = _get(rec, "inputs") or {}
        reason = inputs.get("route_reason") if isinstance(inputs, Mapping) else None
        by_event.setdefault(caused_by, []).append(
            Prediction(
                str(_get(rec, "condition_type")), _get(rec, "order_id"), reason if isinstance(reason, str) else None
            )
        )
    out: dict[str, Prediction] = {}
    for lab in labels:
        preds = by_event.get(lab.event_id)
        if not preds:
            continue
        match = [p for p in preds if lab.order_id is not None and p.order_id == lab.order_id]
        out[lab.event_id] = match[0] if match else preds[0]
    return out


# ---- scoring ------------------------------------------------------------------------------------


def _ordered(names: Iterable[str]) -> tuple[str, ...]:
    rank: dict[str, int] = {c: i for i, c in enumerate(PRECEDENCE)}
    return tuple(sorted(set(names), key=lambda c: (c == NONE, rank.get(c, len(rank)), c)))


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def score(expected: Mapping[str, str], predicted: Mapping[str, str]) -> Score:
    """Compare ``expected`` (event_id -> condition) with ``predicted`` (event_id -> condition; an event
    missing from it is predicted ``(none)``). Precision and recall are 0 when undefined."""
    confusion: Counter[tuple[str, str]] = Counter()
    mismatches: list[Mismatch] = []
    for event_id, exp in expected.items():
        pred = predicted.get(event_id, NONE)
        confusion[(exp, pred)] += 1
        if pred != exp:
            mismatches.append(Mismatch(event_id, exp, pred))
    rows = _ordered(e for e, _ in confusion)
    cols = _ordered(p for _, p in confusion)
    per_class = []
    for c in _ordered(c for c in (*rows, *cols) if c != NONE):
        tp = confusion.get((c, c), 0)
        support = sum(n for (e, _), n in confusion.items() if e == c)
        npred = sum(n for (_, p), n in confusion.items() if p == c)
        precision, recall = _ratio(tp, npred), _ratio(tp, support)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class.append(ClassMetrics(c, precision, recall, f1, support, npred, tp))
    correct = sum(n for (e, p), n in confusion.items() if e == p)
    return Score(
        total=len(expected),
        correct=correct,
        per_class=tuple(per_class),
        expected_classes=rows,
        predicted_classes=cols,
        confusion=dict(confusion),
        mismatches=tuple(mismatches),
    )


# ---- report -------------------------------------------------------------------------------------


def abbreviations(names: Iterable[str]) -> dict[str, str]:
    """Short, unique column headers: initials of the words (``standard_in_transit`` -> ``SIT``)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        if name == NONE:
            base = "none"
        else:
            base = "".join(w[0] for w in name.replace("-", "_").split("_") if w).upper() or name[:3].upper()
        abbr, n = base, 2
        while abbr in used:
            abbr, n = f"{base}{n}", n + 1
        used.add(abbr)
        out[name] = abbr
    return out


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], align_left: int = 1) -> list[str]:
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]

    def fmt(r: Sequence[str]) -> str:
        cells = [f"{c:<{w}}" if i < align_left else f"{c:>{w}}" for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        return "  ".join(cells).rstrip()

    return [fmt(header), "  ".join("-" * w for w in widths), *(fmt(r) for r in rows)]


def render(
    result: Score,
    predictions: Mapping[str, Prediction] | None = None,
    labels: Sequence[Label] = (),
    *,
    min_accuracy: float = 1.0,
) -> str:
    """The backtest report: per-condition metrics, accuracy, confusion matrix and every mismatch."""
    predictions = predictions or {}
    label_order = {lab.event_id: lab.order_id for lab in labels}
    lines = [f"Backtest: {result.total} labelled event(s)", ""]
    rows = [
        [m.condition, f"{m.precision:.3f}", f"{m.recall:.3f}", f"{m.f1:.3f}", str(m.support), str(m.predicted)]
        for m in result.per_class
    ]
    lines += _table(["condition", "precision", "recall", "f1", "support", "predicted"], rows)
    verdict = "PASS" if result.meets(min_accuracy) else "FAIL"
    lines += [
        "",
        f"accuracy: {result.accuracy:.2%} ({result.correct}/{result.total} correct; "
        f"required {min_accuracy:.2%}) {verdict}",
    ]

    abbr = abbreviations(_ordered((*result.expected_classes, *result.predicted_classes)))
    lines += ["", "Confusion matrix (rows: expected, columns: predicted)"]
    header = ["expected \\ predicted", *(abbr[c] for c in result.predicted_classes)]
    matrix = [
        [f"{abbr[c]:<5} {c}", *(str(result.confusion.get((c, p), 0) or ".") for p in result.predicted_classes)]
        for c in result.expected_classes
    ]
    lines += _table(header, matrix)
    legend = [f"{abbr[c]} = {c}" for c in _ordered((*result.expected_classes, *result.predicted_classes))]
    lines += ["legend: " + ", ".join(legend)]

    lines += ["", f"Mismatches ({len(result.mismatches)})"]
    if not result.mismatches:
        lines.append("  (none)")
    else:
        mrows = []
        for mm in result.mismatches:
            pred = predictions.get(mm.event_id)
            order_id = (pred.order_id if pred else None) or label_order.get(mm.event_id) or "-"
            reason = (pred.route_reason if pred else None) or ("no decision for this event" if pred is None else "-")
            mrows.append([mm.event_id, order_id, mm.expected, mm.predicted, reason])
        lines += _table(["event_id", "order_id", "expected", "predicted", "route_reason"], mrows, align_left=5)
    return "\n".join(lines) + "\n"
