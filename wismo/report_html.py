"""The ``wismo report`` page: :class:`~wismo.report.Figures` in, one self-contained HTML document out (pure).

Self-contained means no network at view time: inline CSS, inline SVG charts drawn here, no script, no font,
image or style sheet from anywhere else. Every chart is an ``<svg role="img">`` with a ``<title>`` and a
``<desc>`` (what a screen reader announces), axis labels, and a table of the same numbers next to it; a chart
with nothing to show draws its axes and says "No data". Every text from the records is escaped. The output
depends only on the figures (no wall-clock time), so the same records give the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from wismo.conditions import EXCEPTION_CONDITIONS, PRECEDENCE
from wismo.report import (
    CLEARED,
    NO_UPDATE,
    OUTCOMES,
    Commitment,
    DelayRow,
    Figures,
    FirstUpdate,
    Timeline,
)

CHARTS: dict[str, str] = {
    "conditions-over-time": "Evaluations by condition over time",
    "escalation-rate": "Escalation rate by condition",
    "follow-up-timeliness": "Follow-up timeliness",
    "time-to-first-update": "Time from backend exception to first customer update",
    "guardrail-failures": "Guardrail failures by violation",
}
"""Chart id -> title: every chart the page draws, in page order."""

CONDITION_COLORS: dict[str, str] = {
    "missing_order_data": "#7b7b7b",
    "restricted_hold": "#7d2e1a",
    "delivered_not_received": "#c23b22",
    "repeated_contact": "#e07b00",
    "return_to_sender": "#7b3f9e",
    "delivery_failed": "#d4561b",
    "no_tracking_movement": "#a88400",
    "label_created_no_pickup": "#e3c100",
    "partial_shipment": "#12877a",
    "allocation_conflict": "#54307a",
    "supplier_backorder": "#a67cc9",
    "warehouse_pick_delay": "#b8322f",
    "processing_within_sla": "#8fc3ea",
    "standard_in_transit": "#2b7bba",
    "delivered": "#2e9d4f",
}
OTHER_COLOR = "#444444"
BAR_COLOR = "#2b7bba"
OUTCOME_LABELS = {"on_time": "on time", "late": "late", "missed": "missed", "pending": "pending"}
OUTCOME_COLORS = {"on_time": "#2e9d4f", "late": "#e07b00", "missed": "#c23b22", "pending": "#b5b5b5"}

MAX_LISTED = 100
"""Detail tables (late checkpoints, guardrail failures, ...) list at most this many rows."""

FONT = 12
CHAR_W = 7.0
"""Approximate width of one character at :data:`FONT` px in a sans-serif font (no font metrics here)."""

CSS = """
:root { color-scheme: light; }
body { font-family: "Liberation Sans", "DejaVu Sans", Arial, sans-serif; margin: 0; color: #1d1d1d;
       background: #f6f7f9; font-size: 14px; line-height: 1.45; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0 0 8px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
p.meta { color: #555; margin: 0 0 16px; }
nav a { margin-right: 14px; color: #1f5f99; }
section { background: #fff; border: 1px solid #dde1e6; border-radius: 8px; padding: 18px 20px; margin: 18px 0; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 16px 0; }
.card { background: #fff; border: 1px solid #dde1e6; border-radius: 8px; padding: 12px 14px; }
.card .v { font-size: 26px; font-weight: bold; }
.card .k { color: #555; font-size: 13px; }
.card .s { color: #555; font-size: 12px; }
.banner { background: #fff4d6; border: 1px solid #e8c766; border-radius: 6px; padding: 8px 12px; }
figure { margin: 8px 0 12px; }
svg.chart { max-width: 100%; height: auto; display: block; }
svg.chart text { font-family: "Liberation Sans", "DejaVu Sans", Arial, sans-serif; font-size: 12px; fill: #1d1d1d; }
svg.chart .axis { stroke: #333; stroke-width: 1; }
svg.chart .grid { stroke: #e3e6ea; stroke-width: 1; }
svg.chart .nodata { font-size: 18px; fill: #777; }
svg.chart .alabel { font-weight: bold; }
table.data { border-collapse: collapse; margin: 6px 0 10px; font-size: 13px; }
table.data th, table.data td { border-bottom: 1px solid #e3e6ea; padding: 3px 10px 3px 0; text-align: left; }
table.data td.n, table.data th.n { text-align: right; padding-left: 10px; }
.scroll { overflow-x: auto; }
details summary { cursor: pointer; color: #1f5f99; }
.def { color: #444; font-size: 13px; }
.tables { display: grid; grid-template-columns: repeat(2, 1fr); gap: 0 28px; }
code { font-size: 12px; }
"""


# ---- formatting ---------------------------------------------------------------------------------------------


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _n(v: int) -> str:
    return f"{v:,}"


def _pct(v: float | None) -> str:
    if v is None:
        return "n/a"
    return f"{v * 100:.1f}%" if 0 < v * 100 < 10 else f"{v * 100:.0f}%"


def _time(t: datetime | None) -> str:
    return "-" if t is None else t.strftime("%Y-%m-%d %H:%M UTC")


def fmt_delta(d: timedelta | None) -> str:
    """A duration for people: ``0 min``, ``under 1 min``, ``45 min``, ``5.5 h``, ``2.3 days``; ``-`` for None."""
    if d is None:
        return "-"
    minutes = d.total_seconds() / 60
    if 0 < minutes < 1:
        return "under 1 min"
    if minutes < 60:
        return f"{minutes:.0f} min"
    hours = minutes / 60
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def _bucket_label(t: datetime, unit: str) -> str:
    if unit == "hour":
        return t.strftime("%m-%d %H:00")
    if unit == "day":
        return t.strftime("%a %m-%d")
    if unit == "week":
        return "wk " + t.strftime("%m-%d")
    return t.strftime("%Y-%m")


def nice_ticks(vmax: float, *, target: int = 5, integer: bool = True) -> list[float]:
    """Axis ticks from 0 to at least ``vmax`` in steps of 1, 2 or 5 x 10^k (whole numbers when ``integer``).
    ``vmax`` <= 0 gives ``[0, 1]`` so an empty chart still has an axis."""
    if not vmax > 0 or not math.isfinite(vmax):
        return [0.0, 1.0]
    raw = vmax / target
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    if integer:
        step = max(1.0, float(math.ceil(step)))
    count = math.ceil(vmax / step - 1e-9)
    return [i * step for i in range(count + 1)]


def _tick(v: float, percent: bool) -> str:
    if percent:
        return f"{v * 100:.0f}%"
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"


def _text_w(text: str) -> float:
    return len(text) * CHAR_W


# ---- charts -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    value: float
    color: str


@dataclass(frozen=True, slots=True)
class HBar:
    """One horizontal bar: its segments stacked left to right, and a note written after its end."""

    label: str
    segments: tuple[Segment, ...]
    note: str = ""

    @property
    def total(self) -> float:
        return sum(s.value for s in self.segments)


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    color: str
    values: tuple[float, ...]


def _svg_open(chart_id: str, title: str, desc: str, width: float, height: float) -> list[str]:
    return [
        f'<svg class="chart" data-chart="{_e(chart_id)}" role="img" '
        f'aria-labelledby="{_e(chart_id)}-title {_e(chart_id)}-desc" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}">',
        f'<title id="{_e(chart_id)}-title">{_e(title)}</title>',
        f'<desc id="{_e(chart_id)}-desc">{_e(desc)}</desc>',
        f'<rect x="0" y="0" width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
    ]


def _no_data(x: float, y: float, w: float, h: float) -> str:
    return f'<text class="nodata" x="{x + w / 2:.1f}" y="{y + h / 2 + 6:.1f}" text-anchor="middle">No data</text>'


def _close_chart(
    out: list[str],
    x_label: str,
    y_label: str,
    *,
    x_mid: float,
    x_label_y: float,
    y_label_x: int,
    y_mid: float,
    legend: list[str],
    legend_y: float,
) -> str:
    """The axis titles and the legend under a chart, then the end of its SVG; returns the whole SVG."""
    out.append(f'<text class="alabel" x="{x_mid:.1f}" y="{x_label_y}" text-anchor="middle">{_e(x_label)}</text>')
    out.append(
        f'<text class="alabel" x="{y_label_x}" y="{y_mid:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 {y_label_x} {y_mid:.1f})">{_e(y_label)}</text>'
    )
    if legend:
        out.append(f'<g transform="translate(0 {legend_y})">')
        out += legend
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def _legend(items: Sequence[tuple[str, str]], x0: float, y0: float, width: float) -> tuple[list[str], float]:
    """Swatches wrapped into rows within ``width``; returns the elements and the height used."""
    out: list[str] = []
    x, y = x0, y0
    for name, color in items:
        w = 18 + _text_w(name) + 18
        if x > x0 and x + w > x0 + width:
            x, y = x0, y + 20
        out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="12" height="12" fill="{color}"/>')
        out.append(f'<text x="{x + 17:.1f}" y="{y + 10.5:.1f}">{_e(name)}</text>')
        x += w
    return out, (y - y0 + 20 if items else 0)


def hbar_chart(
    chart_id: str,
    title: str,
    desc: str,
    *,
    x_label: str,
    y_label: str,
    bars: Sequence[HBar],
    percent: bool = False,
    width: float = 960,
) -> str:
    """Horizontal bars (one per category, segments stacked), x axis from 0; ``percent``: values are
    fractions drawn on a 0-100% axis. No bars: the axes and "No data"."""
    label_w = min(max((_text_w(b.label) for b in bars), default=80.0), 300.0)
    note_w = max((_text_w(b.note) for b in bars), default=0.0)
    left, right, top = 34 + label_w + 8, note_w + 24, 14
    plot_w = width - left - right
    row = 30
    plot_h = max(row * len(bars), _text_w(y_label) + 16, 110 if not bars else 0)
    names: dict[str, str] = {}
    for b in bars:
        for s in b.segments:
            names.setdefault(s.name, s.color)
    legend, legend_h = _legend(list(names.items()), left, 0, plot_w) if len(names) > 1 else ([], 0.0)
    height = top + plot_h + 50 + (legend_h + 6 if legend_h else 0)
    vmax = 1.0 if percent else max((b.total for b in bars), default=0.0)
    ticks = [i / 5 for i in range(6)] if percent else nice_ticks(vmax)
    top_v = ticks[-1] or 1.0
    out = _svg_open(chart_id, title, desc, width, height)
    for t in ticks:
        x = left + plot_w * t / top_v
        out.append(f'<line class="grid" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}"/>')
        out.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{_e(_tick(t, percent))}</text>')
    for i, b in enumerate(bars):
        y = top + i * row + 4
        cy = y + (row - 8) / 2 + 4
        label = b.label if _text_w(b.label) <= label_w else b.label[: int(label_w / CHAR_W) - 1] + "…"
        out.append(f'<text x="{left - 8:.1f}" y="{cy:.1f}" text-anchor="end">{_e(label)}</text>')
        x = float(left)
        for s in b.segments:
            w = plot_w * s.value / top_v
            if w > 0:
                tip = f"{b.label}: {s.name} {_tick(s.value, percent)}"
                out.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{row - 8}" fill="{s.color}">'
                    f"<title>{_e(tip)}</title></rect>"
                )
            x += w
        if b.note:
            out.append(f'<text x="{x + 6:.1f}" y="{cy:.1f}">{_e(b.note)}</text>')
    if not bars:
        out.append(_no_data(left, top, plot_w, plot_h))
    out.append(f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}"/>')
    out.append(f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w:.1f}" y2="{top + plot_h}"/>')
    return _close_chart(
        out,
        x_label,
        y_label,
        x_mid=left + plot_w / 2,
        x_label_y=top + plot_h + 36,
        y_label_x=14,
        y_mid=top + plot_h / 2,
        legend=legend,
        legend_y=top + plot_h + 48,
    )


def column_chart(
    chart_id: str,
    title: str,
    desc: str,
    *,
    x_label: str,
    y_label: str,
    categories: Sequence[str],
    series: Sequence[Series],
    width: float = 1100,
    plot_h: float = 300,
) -> str:
    """Vertical columns, series stacked bottom to top, y axis from 0. Nothing above zero: the axes and
    "No data". Category labels are thinned so they never overlap."""
    left, right, top = 66, 16, 14
    plot_w = width - left - right
    n = len(categories)
    totals = [sum(s.values[i] for s in series) for i in range(n)]
    empty = not any(t > 0 for t in totals)
    legend, legend_h = _legend([(s.name, s.color) for s in series], left, 0, plot_w) if not empty else ([], 0.0)
    height = top + plot_h + 54 + (legend_h + 8 if legend_h else 0)
    ticks = nice_ticks(max(totals, default=0.0))
    top_v = ticks[-1] or 1.0
    out = _svg_open(chart_id, title, desc, width, height)
    base = top + plot_h
    for t in ticks:
        y = base - plot_h * t / top_v
        out.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_e(_tick(t, False))}</text>')
    if n:
        band = plot_w / n
        bar_w = min(max(band * 0.72, 1.0), 64.0)
        widest = max(_text_w(c) for c in categories) + 10
        every = max(1, math.ceil(widest / band))
        for i, cat in enumerate(categories):
            x = left + i * band + (band - bar_w) / 2
            y = float(base)
            for s in series:
                h = plot_h * s.values[i] / top_v
                if h > 0:
                    y -= h
                    tip = f"{cat}: {s.name} {_tick(s.values[i], False)}"
                    out.append(
                        f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{s.color}">'
                        f"<title>{_e(tip)}</title></rect>"
                    )
            if i % every == 0:
                out.append(f'<text x="{x + bar_w / 2:.1f}" y="{base + 16}" text-anchor="middle">{_e(cat)}</text>')
    if empty:
        out.append(_no_data(left, top, plot_w, plot_h))
    out.append(f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{base}"/>')
    out.append(f'<line class="axis" x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}"/>')
    return _close_chart(
        out,
        x_label,
        y_label,
        x_mid=left + plot_w / 2,
        x_label_y=base + 38,
        y_label_x=16,
        y_mid=top + plot_h / 2,
        legend=legend,
        legend_y=base + 50,
    )


# ---- tables -------------------------------------------------------------------------------------------------


def _table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], *, numeric: Sequence[int] = (), caption: str = ""
) -> str:
    """A table; columns whose index is in ``numeric`` are right-aligned. No rows: one "none" row."""
    num = set(numeric)
    right = ' class="n"'
    out = ['<table class="data">']
    if caption:
        out.append(f"<caption>{_e(caption)}</caption>")
    out.append(
        "<thead><tr>"
        + "".join(f'<th scope="col"{right if i in num else ""}>{_e(h)}</th>' for i, h in enumerate(headers))
        + "</tr></thead><tbody>"
    )
    body = [
        "<tr>" + "".join(f"<td{right if i in num else ''}>{_e(v)}</td>" for i, v in enumerate(r)) + "</tr>"
        for r in rows
    ]
    out += body or [f'<tr><td colspan="{len(headers)}">none</td></tr>']
    out.append("</tbody></table>")
    return "".join(out)


def _counts_table(title: str, counts: dict[str, int], *, key: str) -> str:
    return f"<h3>{_e(title)}</h3>" + _table([key, "count"], [(k, _n(v)) for k, v in counts.items()], numeric=[1])


def _figure(chart_id: str, svg: str, caption: str) -> str:
    return f'<figure id="fig-{_e(chart_id)}">{svg}<figcaption class="def">{_e(caption)}</figcaption></figure>'


def _more(total: int) -> str:
    return f'<p class="def">Showing the first {MAX_LISTED} of {_n(total)}.</p>' if total > MAX_LISTED else ""


# ---- sections -----------------------------------------------------------------------------------------------


def _color(condition: str) -> str:
    return CONDITION_COLORS.get(condition, OTHER_COLOR)


def _timeline_section(tl: Timeline) -> str:
    cid = "conditions-over-time"
    title = CHARTS[cid]
    labels = [_bucket_label(s, tl.unit) for s in tl.starts]
    if tl.starts:
        top = max(tl.counts.items(), key=lambda kv: sum(kv[1]))
        desc = (
            f"Stacked columns of evaluations per {tl.unit} by condition, from {_time(tl.starts[0])} "
            f"({len(tl.starts)} buckets); {_n(tl.total)} evaluations, most of them {top[0]} ({_n(sum(top[1]))})."
        )
    else:
        desc = "No evaluations in the records."
    svg = column_chart(
        cid,
        title,
        desc,
        x_label=f"event time (UTC), per {tl.unit}",
        y_label="evaluations",
        categories=labels,
        series=[Series(c, _color(c), tuple(float(v) for v in vals)) for c, vals in tl.counts.items()],
    )
    conds = list(tl.counts)
    rows = [
        [_time(s), *[_n(tl.counts[c][i]) for c in conds], _n(sum(tl.counts[c][i] for c in conds))]
        for i, s in enumerate(tl.starts)
    ]
    table = _table([f"{tl.unit} starting", *conds, "total"], rows, numeric=range(1, len(conds) + 2))
    return (
        f'<section id="{cid}"><h2>{_e(title)}</h2>'
        + _figure(cid, svg, "Each decision record is one evaluation of a case; its condition is the routed one.")
        + f'<details><summary>The numbers (table)</summary><div class="scroll">{table}</div></details></section>'
    )


def _escalation_section(fig: Figures) -> str:
    cid = "escalation-rate"
    title = CHARTS[cid]
    rows = fig.escalation
    bars = [
        HBar(
            r.condition, (Segment("escalated", r.rate or 0.0, _color(r.condition)),), f"{r.escalated_cases} / {r.cases}"
        )
        for r in rows
    ]
    worst = max(rows, key=lambda r: (r.rate or 0.0, r.cases), default=None)
    desc = (
        f"Share of cases escalated, per condition, for {len(rows)} conditions; highest {worst.condition} "
        f"at {_pct(worst.rate)} ({worst.escalated_cases} of {worst.cases} cases)."
        if worst is not None
        else "No cases in the records."
    )
    svg = hbar_chart(
        cid,
        title,
        desc,
        x_label="cases escalated (% of cases in the condition)",
        y_label="condition",
        bars=bars,
        percent=True,
    )
    table = _table(
        ["condition", "cases", "escalated cases", "rate", "evaluations", "escalation records"],
        [
            (r.condition, _n(r.cases), _n(r.escalated_cases), _pct(r.rate), _n(r.evaluations), _n(r.escalations))
            for r in rows
        ],
        numeric=[1, 2, 3, 4, 5],
    )
    caption = (
        "Rate = cases with an escalation record in the condition / cases evaluated in the condition. "
        "The note after each bar is escalated cases / cases."
    )
    return (
        f'<section id="{cid}"><h2>{_e(title)}</h2>'
        + _figure(cid, svg, caption)
        + f"<details><summary>The numbers (table)</summary>{table}</details></section>"
    )


def _commitment_row(c: Commitment) -> list[str]:
    return [
        c.case_id,
        c.condition,
        _time(c.set_at),
        _time(c.due),
        _time(c.answered_at),
        fmt_delta(c.lateness) if c.outcome == "late" else OUTCOME_LABELS[c.outcome],
        "yes" if c.with_message else "no",
    ]


def _follow_up_section(fig: Figures) -> str:
    cid = "follow-up-timeliness"
    title = CHARTS[cid]
    fu = fig.follow_ups
    groups = [("all checkpoints", fu.counts()), ("set with a customer message", fu.counts(with_message_only=True))]
    shares = [fu.on_time_share(), fu.on_time_share(with_message_only=True)]
    bars = [
        HBar(
            label,
            tuple(Segment(OUTCOME_LABELS[o], float(c[o]), OUTCOME_COLORS[o]) for o in OUTCOMES),
            f"{_pct(share)} on time",
        )
        for (label, c), share in zip(groups, shares, strict=True)
        if sum(c.values())
    ]
    if bars:
        c = groups[0][1]
        desc = (
            f"Stacked bars of checkpoints by outcome. All checkpoints: {c['on_time']} on time, {c['late']} late, "
            f"{c['missed']} missed, {c['pending']} pending; {_pct(shares[0])} on time of those due."
        )
    else:
        desc = "No follow-up checkpoints in the records."
    svg = hbar_chart(cid, title, desc, x_label="checkpoints", y_label="which checkpoints", bars=bars)
    table = _table(
        ["checkpoints", "on time", "late", "missed", "pending", "on-time share"],
        [(label, *(_n(c[o]) for o in OUTCOMES), _pct(s)) for (label, c), s in zip(groups, shares, strict=True)],
        numeric=[1, 2, 3, 4, 5],
    )
    bad = [c for c in fu.commitments if c.outcome in ("late", "missed")]
    listing = (
        "<h3>Late and missed checkpoints</h3>"
        + _table(
            ["case", "condition", "set at", "due", "answered at", "late by", "with a message"],
            [_commitment_row(c) for c in bad[:MAX_LISTED]],
        )
        + _more(len(bad))
    )
    caption = (
        "A decision sets a checkpoint when its next_follow_up_due_at is in its future and differs from the "
        "case's previous decision. The checkpoint is answered by the case's first later decision evaluated at "
        "or after the due time, or that replaces or clears it: on time if at or before the due time, else late. "
        "Never answered: missed if the data runs past the due time, else pending. On-time share = on time / "
        "(on time + late + missed)." + (f" The records run to {_time(fu.horizon)}." if fu.horizon is not None else "")
    )
    return f'<section id="{cid}"><h2>{_e(title)}</h2>' + _figure(cid, svg, caption) + table + listing + "</section>"


def _delay_row(r: DelayRow) -> list[str]:
    return [
        r.condition,
        _n(r.episodes),
        _n(r.updated),
        fmt_delta(r.median),
        fmt_delta(r.p90),
        fmt_delta(r.longest),
        _n(r.cleared),
        _n(r.waiting),
    ]


def _waiting_row(c: FirstUpdate) -> list[str]:
    return [c.case_id, c.condition, _time(c.exception_at)]


def _first_update_section(fig: Figures) -> str:
    cid = "time-to-first-update"
    title = CHARTS[cid]
    fu = fig.first_updates
    hist = fu.histogram() if fu.episodes else []
    cats = [label for label, _ in hist]
    colors = {CLEARED: OUTCOME_COLORS["pending"], NO_UPDATE: OUTCOME_COLORS["missed"]}
    series = [
        Series(name, color, tuple(float(n) if colors.get(label, BAR_COLOR) == color else 0.0 for label, n in hist))
        for name, color in (("updated", BAR_COLOR), (CLEARED, colors[CLEARED]), (NO_UPDATE, colors[NO_UPDATE]))
    ]
    rows = fu.rows()
    overall = rows[-1] if rows else None
    desc = (
        "Columns of exception episodes by time from the exception to the first customer update: "
        + ", ".join(f"{label} {n}" for label, n in hist)
        + f". Median {fmt_delta(overall.median)} over {overall.updated} updated episodes."
        if overall is not None
        else "No backend exception in the records."
    )
    svg = column_chart(
        cid,
        title,
        desc,
        x_label="time to first customer update",
        y_label="exception episodes",
        categories=cats,
        series=series,
        width=900,
        plot_h=240,
    )
    table = _table(
        ["exception", "episodes", "updated", "median", "p90", "longest", CLEARED, NO_UPDATE],
        [_delay_row(r) for r in rows],
        numeric=[1, 2, 3, 4, 5, 6, 7],
    )
    waiting = [c for c in fu.episodes if c.end == "waiting"]
    listing = (
        "<h3>Exceptions with no customer update yet</h3>"
        + _table(["case", "exception", "since"], [_waiting_row(c) for c in waiting[:MAX_LISTED]])
        + _more(len(waiting))
    )
    caption = (
        "An episode starts when a case enters a backend-exception condition ("
        + ", ".join(c for c in PRECEDENCE if c in EXCEPTION_CONDITIONS)
        + ") and ends at the case's first reply or proactive update created at or after it (in testing mode: "
        "the draft note of one); moving to another exception condition before that continues the episode. "
        f"{CLEARED.capitalize()}: the case left the exception conditions before any update. Withheld notes do not "
        "count. p90 is the nearest-rank 90th percentile."
    )
    return f'<section id="{cid}"><h2>{_e(title)}</h2>' + _figure(cid, svg, caption) + table + listing + "</section>"


def _guardrail_section(fig: Figures) -> str:
    cid = "guardrail-failures"
    title = CHARTS[cid]
    g = fig.guardrails
    by_cat = g.by_category()
    bars = [HBar(cat, (Segment("violations", float(n), OUTCOME_COLORS["missed"]),), _n(n)) for cat, n in by_cat]
    desc = (
        f"Horizontal bars of guardrail violations by category over {g.notes} withheld notes: "
        + ", ".join(f"{cat} {n}" for cat, n in by_cat)
        + "."
        if by_cat
        else "No guardrail failures in the records."
    )
    svg = hbar_chart(cid, title, desc, x_label="violations", y_label="violation category", bars=bars)
    tables = (
        '<div class="tables"><div>'
        + _table(["violation category", "violations"], [(c, _n(n)) for c, n in by_cat], numeric=[1])
        + "</div><div>"
        + _table(["condition", "violations"], [(c, _n(n)) for c, n in g.by_condition()], numeric=[1])
        + "</div></div>"
    )
    listing = (
        "<h3>Each violation</h3>"
        + _table(
            ["case", "condition", "at", "category", "detail"],
            [(f.case_id, f.condition, _time(f.created_at), f.category, f.detail) for f in g.failures[:MAX_LISTED]],
        )
        + _more(len(g.failures))
    )
    caption = (
        f"{_n(g.notes)} internal note(s) with note_reason guardrail_failed: customer text that was not sent. "
        "One row per violation; the category is the text before the first colon."
    )
    return f'<section id="{cid}"><h2>{_e(title)}</h2>' + _figure(cid, svg, caption) + tables + listing + "</section>"


def _cards(fig: Figures) -> str:
    h = fig.headline
    share = fig.follow_ups.on_time_share()
    due = sum(v for k, v in fig.follow_ups.counts().items() if k != "pending")
    rows = fig.first_updates.rows()
    overall = rows[-1] if rows else None
    modes = ", ".join(f"{k} {_n(v)}" for k, v in h.customer_messages_by_mode.items()) or "none"
    cards = [
        ("Evaluations", _n(h.evaluations), "decision records"),
        ("Cases", _n(h.cases), f"{_n(h.orders)} orders"),
        ("Customer messages", _n(h.customer_messages), modes),
        ("Escalations", _n(h.escalations), f"{_n(h.outputs_by_kind.get('action_draft', 0))} action drafts"),
        ("Follow-ups on time", _pct(share), f"of {_n(due)} checkpoints due"),
        (
            "Median time to first update",
            fmt_delta(overall.median) if overall else "n/a",
            f"over {_n(overall.updated)} updated exception(s)" if overall else "no backend exception",
        ),
        ("Guardrail failures", _n(fig.guardrails.notes), "notes withheld"),
        ("Dead letters", _n(h.dead_letters), ", ".join(h.dead_letters_by_type) or "none"),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="k">{_e(k)}</div><div class="v">{_e(v)}</div><div class="s">{_e(s)}</div>'
            "</div>"
            for k, v, s in cards
        )
        + "</div>"
    )


def _mode_banner(fig: Figures) -> str:
    h = fig.headline
    parts: list[str] = []
    if h.decisions_by_mode.get("testing"):
        parts.append(
            f"{_n(h.decisions_by_mode['testing'])} evaluation(s) ran in testing mode: their customer messages are "
            "draft notes (counted as customer messages here), nothing was sent."
        )
    if h.kill_switch_evaluations:
        parts.append(f"The kill switch was on for {_n(h.kill_switch_evaluations)} evaluation(s).")
    return "".join(f'<p class="banner">{_e(p)}</p>' for p in parts)


def _outputs_section(fig: Figures) -> str:
    h = fig.headline
    kinds = dict(h.outputs_by_kind)
    return (
        '<section id="outputs"><h2>Outputs, dead letters and suppressions</h2><div class="tables"><div>'
        + _counts_table("Records by topic", h.records_by_topic, key="topic")
        + _counts_table("Outputs by kind", kinds, key="kind")
        + f'<p class="def">of which draft notes: {_n(h.drafts)}</p>'
        + _counts_table("Internal notes by reason", h.notes_by_reason, key="note_reason")
        + _counts_table("Evaluations by mode", h.decisions_by_mode, key="mode")
        + "</div><div>"
        + _counts_table("Dead letters by error type", h.dead_letters_by_type, key="error_type")
        + _counts_table("Suppressed evaluations by reason", h.suppressed_by_reason, key="suppressed")
        + _counts_table("Escalations by reason", h.escalations_by_reason, key="reason")
        + "</div></div></section>"
    )


def _notes_section(fig: Figures) -> str:
    if not fig.notes:
        return ""
    items = "".join(f"<li>{_e(n)}</li>" for n in fig.notes)
    return f'<section id="data-notes"><h2>Data notes</h2><ul>{items}</ul></section>'


def render_report(fig: Figures, *, title: str = "wismo operations report") -> str:
    """The whole page as one HTML string (UTF-8 when written)."""
    h = fig.headline
    span = f"event time {_time(h.first_at)} to {_time(h.last_at)}" if h.first_at else "no records"
    nav = "".join(f'<a href="#{cid}">{_e(t)}</a>' for cid, t in CHARTS.items()) + '<a href="#outputs">Outputs</a>'
    body = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">Source: {_e(fig.source or "-")} · {_e(span)} · all times UTC</p>',
        f"<nav>{nav}</nav>",
        _mode_banner(fig),
        _cards(fig),
        _timeline_section(fig.timeline),
        _escalation_section(fig),
        _follow_up_section(fig),
        _first_update_section(fig),
        _guardrail_section(fig),
        _outputs_section(fig),
        _notes_section(fig),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(b for b in body if b)
        + "\n</main>\n</body>\n</html>\n"
    )
