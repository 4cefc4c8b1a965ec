"""The final guardrail over every customer-visible text (SPEC §5).

:func:`check_customer_text` returns one ``"<code>: <explanation>"`` string per violation; an empty list
means the text may be sent. A failing text is never sent (the caller turns it into an internal note and an
escalation), so every rule errs toward flagging: a false positive costs a review, a false negative puts an
invented date, an internal signal or an unapproved promise in front of a customer.

Codes: ``date_not_in_data``, ``generic_window``, ``restricted_term``, ``shipped_before_scan``,
``split_not_itemised``, ``unapproved_promise``, ``internal_signal``, ``hold_wording``.

Pure logic; every regex is compiled at import and each rule makes one pass over the text.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from wismo.timefmt import MONTHS, WEEKDAYS

__all__ = ["APPROVED_HOLD_WORDING", "GuardrailFacts", "ShipmentFacts", "check_customer_text"]

APPROVED_HOLD_WORDING = (
    "Your order is going through a standard verification step before it can be prepared for shipment."
)
"""The only explanation a reply may give for an order on a fraud, payment or address hold."""


@dataclass(frozen=True, slots=True)
class ShipmentFacts:
    label: str
    """How the text names this shipment, e.g. "Package 1"."""
    item_titles: tuple[str, ...]
    """Titles of the items in it."""
    physically_scanned: bool
    """The carrier has physically scanned it (pre_transit / label creation does not count)."""


@dataclass(frozen=True, slots=True)
class GuardrailFacts:
    allowed_dates: frozenset[date]
    """Dates the data holds, already in the customer time zone."""
    any_physical_scan: bool
    """Some shipment of the order has a physical carrier scan."""
    shipments: tuple[ShipmentFacts, ...]
    pending_item_titles: tuple[str, ...]
    """Items not yet shipped."""
    split: bool
    """The text answers a partial shipment: every shipment and every pending item must be itemised."""
    approved_actions: frozenset[str]
    """Subset of {"refund", "replacement", "cancellation", "address_change"} a reviewer has approved."""
    restricted_terms: tuple[str, ...] = ()
    """Extra policy words (supplier names, partner names), case-insensitive whole-word."""
    restricted_hold: bool = False
    """Order is on a fraud/payment/address hold: only :data:`APPROVED_HOLD_WORDING` may explain it."""


# --------------------------------------------------------------------------------------------------
# Text normalisation
# --------------------------------------------------------------------------------------------------

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201b": "'", "\u02bc": "'", "\u2032": "'", "`": "'",
        "\u201c": '"', "\u201d": '"',
        "\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u2009": " ", "\u200a": " ",
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2212": "-",
        "\u200b": None, "\u200c": None, "\u200d": None, "\u2060": None, "\ufeff": None, "\u00ad": None,
    }
)  # fmt: skip


def _normalise(text: str) -> str:
    """Fold look-alike characters so a rule cannot be dodged by a curly quote or a zero-width space."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text).translate(_TRANSLATE)


_URL_RE = re.compile(r"(?i:\bhttps?://\S+|\bwww\.\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)")


def _blank_urls(text: str) -> str:
    """``text`` with URLs and e-mail addresses replaced by spaces (offsets kept): tracking links carry
    dates, query keys and codes that are not prose the customer is told."""
    if "://" not in text and "www." not in text and "@" not in text:
        return text
    return _URL_RE.sub(lambda m: " " * len(m.group()), text)


def _quote(s: str, limit: int = 80) -> str:
    s = " ".join(s.split())
    return "'" + (s if len(s) <= limit else s[: limit - 1] + "…") + "'"


def _lower(s: str) -> str:
    """Lower case with the same length and offsets as ``s``."""
    low = s.lower()
    if len(low) == len(s):
        return low
    return "".join(c.lower()[:1] or c for c in s)


def _find_all(hay: str, needle: str) -> Iterable[int]:
    """Occurrences of ``needle`` in ``hay`` not glued to a letter or digit on either side."""
    if not needle:
        return
    n = len(needle)
    i = hay.find(needle)
    while i >= 0:
        before = hay[i - 1] if i else " "
        after = hay[i + n] if i + n < len(hay) else " "
        if not (before.isalnum() and needle[0].isalnum()) and not (after.isalnum() and needle[-1].isalnum()):
            yield i
        i = hay.find(needle, i + 1)


def _blank_titles(prose: str, facts: GuardrailFacts) -> str:
    """``prose`` with the order's multi-word item titles blanked (offsets kept): a title is data, so the
    "Friday Night Mug" or "Sat Nav Holder" in it is not an invented date."""
    titles = {t for s in facts.shipments for t in s.item_titles} | set(facts.pending_item_titles)
    titles = {_lower(t) for t in titles if " " in t.strip() or len(t.strip()) >= 10}
    if not titles:
        return prose
    low = _lower(prose)
    chars: list[str] | None = None
    for t in titles:
        for i in _find_all(low, t):
            if chars is None:
                chars = list(prose)
            chars[i : i + len(t)] = " " * len(t)
    return prose if chars is None else "".join(chars)


# --------------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------------

_MONTH_NUM: dict[str, int] = {}
for _i, _m in enumerate(MONTHS, 1):
    _MONTH_NUM[_m.lower()] = _i
    _MONTH_NUM[_m[:3].lower()] = _i
_MONTH_NUM["sept"] = 9
_WEEKDAY_NUM: dict[str, int] = {w[:3].lower(): i for i, w in enumerate(WEEKDAYS)}

# "May"/"March"/"Mar" are English words in lower case ("it may 2 ..."), so those need a capital.
_MON = (
    r"(?:(?i:january|jan|february|feb|april|apr|june|jun|july|jul|august|aug|september|sept|sep|"
    r"october|oct|november|nov|december|dec)|March|MARCH|Mar|MAR|May|MAY)(?![A-Za-z])"
)
# Full weekday names in any case; abbreviations only capitalised ("sat", "sun", "wed" are words).
_WD = (
    r"(?:(?i:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|"
    r"(?:Mon|Tues|Tue|Wed|Thurs|Thur|Thu|Fri|Sat|Sun|MON|TUE|WED|THU|FRI|SAT|SUN)(?=\.|\b))(?![A-Za-z])"
)
_ORD = r"(?:st|nd|rd|th)?"

_DATE_RE = re.compile(
    rf"(?:(?P<wd>{_WD})\.?,?\s+(?:the\s+)?)?"
    r"(?:"
    # 3 November, 3rd of November, 3 Nov 2026
    rf"(?<![\w.,/$£€])(?P<d1>\d{{1,2}}){_ORD}(?:\s+of)?\s+(?P<m1>{_MON})\.?(?:,?\s+(?P<y1>\d{{4}})(?!\d))?"
    # November 3, Nov. 3rd, November 3, 2026
    rf"|(?<![A-Za-z])(?P<m2>{_MON})\.?\s+(?:the\s+)?(?P<d2>\d{{1,2}})(?![\d:]){_ORD}(?![A-Za-z])"
    r"(?:,?\s+(?P<y2>\d{4})(?!\d))?"
    # 2026-11-03, 2026/11/03
    r"|(?<![\w.])(?P<iy>\d{4})(?P<isep>[-/.])(?P<im>\d{1,2})(?P=isep)(?P<id>\d{1,2})(?!\d)"
    # 11/03, 03.11., 3/11/2026, 03.11.26
    r"|(?<![\w.,/$£€:-])(?P<n1>\d{1,2})(?P<sep>[/.])(?P<n2>\d{1,2})(?!\d)"
    r"(?:(?P=sep)(?P<ny>\d{4}|\d{2})(?!\d))?(?P<trail>\.(?!\d))?(?!/)"
    r")"
)
# "by the 5th", "Friday the 6th" — a day of the month with no month.
_ORDINAL_RE = re.compile(
    rf"(?:(?P<wd>{_WD})\.?,?\s+|(?i:\b(?:on|by|before|after|until|till|from|around|about|no\s+later\s+than)\s+))"
    r"the\s+(?P<d>\d{1,2})(?:st|nd|rd|th)\b"
    r"(?=\s*(?:[.,;:!?)]|$)|\s+(?i:of|at|or|and|if|so|but|when|as|we|you|i|it)\b)"
)
_WEEKDAY_RE = re.compile(_WD)
_MONTH_WINDOW_RE = re.compile(
    r"(?i:\b(?:in|by|before|until|till|during|through|throughout|early|mid|late|around|(?:end|beginning|start|"
    r"middle|first\s+half|second\s+half|first\s+week|last\s+week|second\s+week|third\s+week)\s+of)"
    r"(?:\s*-\s*|\s+)(?:the\s+)?(?:(?:end|start|beginning|middle)\s+of\s+)?(?:early\s+|mid\s*-?\s*|late\s+)?)"
    rf"(?P<m>{_MON})"
)
_TIME_RE = re.compile(
    r"(?<![\w:.])\d{1,2}(?::\d{2})?\s*(?i:a\.?m\.?|p\.?m\.?)(?![A-Za-z])"
    r"|(?<![\w:.])\d{1,2}:\d{2}(?![\d])"
    r"|(?i:\b(?:by|at|before|until|after|around)\s+(?:noon|midday|midnight)\b)"
)
_MAX_DAY = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _valid(month: int, day: int, year: int | None) -> bool:
    if not (1 <= month <= 12 and 1 <= day <= _MAX_DAY[month - 1]):
        return False
    if year is not None:
        try:
            date(year, month, day)
        except ValueError:
            return False
    return True


class _DateIndex:
    """allowed_dates by (month, day), built on first use."""

    __slots__ = ("_allowed", "_by_md", "_days")

    def __init__(self, allowed: frozenset[date]) -> None:
        self._allowed = allowed
        self._by_md: dict[tuple[int, int], list[date]] | None = None
        self._days: dict[int, list[date]] | None = None

    def candidates(self, month: int, day: int, year: int | None) -> list[date]:
        if self._by_md is None:
            self._by_md = {}
            for d in self._allowed:
                self._by_md.setdefault((d.month, d.day), []).append(d)
        found = self._by_md.get((month, day), [])
        return found if year is None else [d for d in found if d.year == year]

    def by_day(self, day: int) -> list[date]:
        if self._days is None:
            self._days = {}
            for d in self._allowed:
                self._days.setdefault(d.day, []).append(d)
        return self._days.get(day, [])


def _resolve(index: _DateIndex, month: int, day: int, year: int | None, weekday: int | None) -> str | None:
    """None when (month, day, year?) is an allowed date with the written weekday, else why not."""
    found = index.candidates(month, day, year)
    if not found:
        return "not a date in the order data"
    if weekday is not None and not any(d.weekday() == weekday for d in found):
        actual = ", ".join(sorted({WEEKDAYS[d.weekday()] for d in found}))
        return f"weekday does not match the date (it is a {actual})"
    return None


def _year(s: str | None) -> int | None:
    if not s:
        return None
    return int(s) + 2000 if len(s) == 2 else int(s)


def _check_dates(text: str, facts: GuardrailFacts, out: list[str]) -> None:
    index = _DateIndex(facts.allowed_dates)
    spans: list[tuple[int, int]] = []

    def bad(snippet: str, why: str) -> None:
        if snippet.endswith(".") and not snippet[-2:-1].isdigit():
            snippet = snippet[:-1]  # "7 November." at the end of a sentence
        out.append(f"date_not_in_data: {_quote(snippet)} ({why})")

    for m in _DATE_RE.finditer(text):
        g = m.groupdict()
        wd = _WEEKDAY_NUM[g["wd"][:3].lower()] if g["wd"] else None
        readings: list[tuple[int, int, int | None]]
        if g["d1"] is not None:
            readings = [(_MONTH_NUM[g["m1"].lower()], int(g["d1"]), _year(g["y1"]))]
        elif g["d2"] is not None:
            readings = [(_MONTH_NUM[g["m2"].lower()], int(g["d2"]), _year(g["y2"]))]
        elif g["iy"] is not None:
            readings = [(int(g["im"]), int(g["id"]), int(g["iy"]))]
        else:
            n1, n2, sep = g["n1"], g["n2"], g["sep"]
            if n1 == "24" and n2 == "7" and sep == "/":
                continue  # "24/7"
            if sep == "." and not g["ny"] and not g["trail"] and not (len(n1) == 2 and len(n2) == 2):
                continue  # a decimal number such as "4.5"
            y = _year(g["ny"])
            # Month/day or day/month: the customer may read either, so every reading must be allowed.
            readings = [(a, b, y) for a, b in ((int(n1), int(n2)), (int(n2), int(n1))) if _valid(a, b, y)]
            readings = list(dict.fromkeys(readings))
            if not readings:
                continue
        spans.append(m.span())
        for month, day, year in readings:
            if not _valid(month, day, year):
                bad(m.group(), "not a valid calendar date")
                break
            why = _resolve(index, month, day, year, wd)
            if why is not None:
                if len(readings) > 1:
                    why += "; numeric dates are ambiguous, use the customer date format"
                bad(m.group(), why)
                break

    def covered(pos: int) -> bool:
        return any(a <= pos < b for a, b in spans)

    for m in _ORDINAL_RE.finditer(text):
        if covered(m.start("d")):
            continue
        spans.append(m.span())
        day = int(m.group("d"))
        wd = _WEEKDAY_NUM[m.group("wd")[:3].lower()] if m.group("wd") else None
        found = index.by_day(day)
        if not found:
            bad(m.group(), "day of month without a month, not in the order data")
        elif wd is not None and not any(d.weekday() == wd for d in found):
            bad(m.group(), "weekday does not match the date")
        else:
            bad(m.group(), "day of month without a month; write the full date")

    for m in _WEEKDAY_RE.finditer(text):
        if not covered(m.start()):
            bad(m.group(), "weekday without a date is an invented relative date")

    for m in _MONTH_WINDOW_RE.finditer(text):
        if not covered(m.start("m")):
            bad(m.group(), "month without a day is an invented window")

    for m in _TIME_RE.finditer(text):
        bad(m.group(), "time of day is never in customer text")


# --------------------------------------------------------------------------------------------------
# Generic windows
# --------------------------------------------------------------------------------------------------

_NUM = (
    r"(?:\d+(?:\.\d+)?|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fourteen|"
    r"fifteen|twenty|thirty|twenty-four|forty-eight|seventy-two|a\s+few|few|a\s+couple(?:\s+of)?|"
    r"couple(?:\s+of)?|several|a\s+number\s+of)"
)
_UNIT = (
    r"(?:(?:more|additional|extra|further|business|working|calendar|shipping|delivery|transit)\s+)*"
    r"(?:days?|hours?|hrs?|h|weeks?|wks?|months?)(?![A-Za-z])"
)
_GENERIC_RE = re.compile(
    r"(?i:"
    # 3-5 business days, 3 to 5 days, 24-48 hours, 2 or 3 weeks
    rf"\b{_NUM}\s*(?:-|–|—|to|or|and)\s*{_NUM}\s*{_UNIT}"
    # a day or two, a week or so
    rf"|\b{_NUM}\s+{_UNIT}\s+or\s+(?:two|three|so|more|less|longer)\b"
    # within 48 hours, in 3 days, up to a week, over the next few days
    r"|\b(?:within|in|under|about|around|approximately|approx\.?|roughly|up\s+to|another|after|allow|"
    r"at\s+least|at\s+most|no\s+more\s+than|less\s+than|more\s+than|over|next|the\s+next|the\s+coming|"
    r"takes?|taking|usually|typically|normally)"
    rf"\s+(?:the\s+)?(?:next\s+|coming\s+)?{_NUM}\s*{_UNIT}"
    # 5 business days, 48h, 2-day shipping
    rf"|\b{_NUM}\s+(?:business|working)\s+days?\b"
    r"|\b\d+\s*(?:h|hrs?)\b"
    r"|\b\d+-(?:business-|working-)?(?:day|hour|week)\b"
    # few days, a couple of weeks, several days, within days
    r"|\b(?:a\s+)?(?:few|couple\s+(?:of\s+)?|several)\s+(?:more\s+)?(?:business\s+|working\s+)?"
    r"(?:days|weeks|hours)\b"
    r"|\b(?:within|in)\s+(?:a\s+matter\s+of\s+)?(?:days|weeks|hours)\b"
    # relative dates
    r"|\b(?:the\s+)?day\s+after\s+tomorrow\b|\btomorrow\b|\bnext\s+week(?:end)?\b|\bthis\s+week(?:end)?\b"
    r"|\blater\s+(?:this|in\s+the)\s+(?:week|month)\b|\blater\s+today\b|\bby\s+tonight\b"
    r"|\bend\s+of\s+(?:the\s+|this\s+|next\s+)?(?:day|week|month)\b|\bnext\s+(?:business\s+|working\s+)?day\b"
    r"|\bnext\s+month\b|\b(?:over|by|at)\s+the\s+weekend\b|\bany\s+day\s+now\b|\bEOD\b|\bCOB\b"
    r"|\bclose\s+of\s+business\b|\bearly\s+next\b|\bovernight\b"
    # 3-5 November, November 3-5
    rf"|\b\d{{1,2}}{_ORD}\s*(?:-|–|—|to|and)\s*\d{{1,2}}{_ORD}\s+(?:of\s+)?{_MON}"
    rf"|{_MON}\.?\s+\d{{1,2}}{_ORD}\s*(?:-|–|—|to|and)\s*\d{{1,2}}\b"
    r")"
)
# Relative words that are windows only when they describe delivery or shipping.
_CONTEXT_WINDOW_RE = re.compile(
    r"(?i:\b(?:today|tonight|shortly|this\s+(?:morning|afternoon|evening)|within\s+the\s+day)\b)"
)
_DELIVERY_VERB_RE = re.compile(
    r"(?i:\b(?:arriv\w*|deliver\w*|ship\w*|dispatch\w*|reach\w*|get\s+to\s+you|with\s+you|expect\w*|"
    r"transit|on\s+(?:its|the)\s+way|send|sent|leav\w*|left|collect\w*|pick(?:ed)?\s+up|ready|"
    r"prepar\w*|pack\w*|out\s+for)\b)"
)
_SENTENCE_END = re.compile(r"[.!?\n]")


def _sentence_at(text: str, start: int, end: int) -> str:
    a = max(text.rfind(c, 0, start) for c in ".!?\n") + 1
    m = _SENTENCE_END.search(text, end)
    return text[a : m.start() if m else len(text)]


def _check_windows(text: str, out: list[str]) -> None:
    for m in _GENERIC_RE.finditer(text):
        out.append(f"generic_window: {_quote(m.group())}")
    for m in _CONTEXT_WINDOW_RE.finditer(text):
        if _DELIVERY_VERB_RE.search(_sentence_at(text, m.start(), m.end())):
            out.append(f"generic_window: {_quote(m.group())} (relative time for delivery or shipping)")


# --------------------------------------------------------------------------------------------------
# Restricted terms, internal signals, hold wording
# --------------------------------------------------------------------------------------------------

_B = r"(?<![A-Za-z0-9])"
_E = r"(?![A-Za-z0-9])"
_RESTRICTED_RE = re.compile(
    _B
    + r"(?:(?i:fraud\w*|risk(?:s|y|ier|iest)?|payments?\s+(?:review\w*|issue|problem|hold|verification|check|"
    r"failure|failed|declined|flag\w*|screening|team)|under\s+review\s+for\s+payment|charge-?backs?|"
    r"(?:verification|fraud|risk|internal|warehouse|security|payments?|compliance|review|trust\s+and\s+safety|"
    r"loss\s+prevention)\s+teams?|trust\s+(?:and|&)\s+safety|loss\s+prevention|compliance|"
    r"internal\w*|suppliers?|vendors?|manufacturers?|purchase\s+orders?|po\s*(?:number|num|no\.?)|"
    r"(?:card|payment|transaction)\s+(?:\w+\s+){0,2}?declined|"
    # blame
    r"(?:their|his|her|its|the\s+\w+'?s|\w+'s)\s+(?:fault|mistake|error)|blam\w*|messed\s+up|screwed\s+up|"
    r"dropped\s+the\s+ball|botched))" + _E + r"|" + _B + r"(?:PO\s*#|PO\s*\d|(?i:po)-\w+)"
)
_INTERNAL_RE = re.compile(
    r"(?<![\w/])[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+(?!\w)"
    + r"|"
    + _B
    + r"(?:(?i:skus?|(?:scan|status|reason|exception|error|event|hold|carrier|condition)\s+codes?|"
    r"hold[\s_-]?types?|confidence|risk\s+score|condition\s+type|recommended\s+action|wms|oms|3pl|"
    r"escalation\s+reasons?|status[_\s]key)|null|undefined|NaN|None\b(?=\s*[,.)\]}]|$))"
    + _E
    + r"|\{\{?[^{}\n]{0,60}\}\}?|\$\{|<[A-Z_]{2,}>|%\(\w+\)s"
)
_HOLD_LEAK_RE = re.compile(
    _B + r"(?:(?i:verif\w*|payments?|pay|paid|card|cards|billing|bill|bank\w*|declin\w*|suspicio\w*|"
    r"security|secure|identity|identification|flag\w*|unusual|investigat\w*|on\s+hold|held|holds?|"
    r"address\w*|review\w*|authori[sz]\w*|charge\w*|transaction\w*|issue|issues|problem\w*|concern\w*|"
    r"screen\w*|checks?|blocked|locked|frozen)|ID)" + _E
)


@lru_cache(maxsize=256)
def _terms_re(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    parts = [r"\s+".join(re.escape(w) for w in t.split()) for t in terms if t.strip()]
    if not parts:
        return None
    parts.sort(key=len, reverse=True)
    return re.compile(_B + "(?:" + "|".join(parts) + ")" + _E, re.IGNORECASE)


def _check_restricted(text: str, facts: GuardrailFacts, out: list[str]) -> None:
    for m in _RESTRICTED_RE.finditer(text):
        out.append(f"restricted_term: {_quote(m.group())}")
    extra = _terms_re(tuple(_normalise(t) for t in facts.restricted_terms))
    if extra is not None:
        for m in extra.finditer(text):
            out.append(f"restricted_term: {_quote(m.group())} (policy term)")


def _check_internal(prose: str, out: list[str]) -> None:
    for m in _INTERNAL_RE.finditer(prose):
        out.append(f"internal_signal: {_quote(m.group())}")


def _check_hold(text: str, out: list[str]) -> None:
    flat = " ".join(text.split())
    if APPROVED_HOLD_WORDING not in flat:
        out.append(
            f"hold_wording: the approved verification sentence is missing ({_quote(APPROVED_HOLD_WORDING)})"
        )
    rest = flat.replace(APPROVED_HOLD_WORDING, " ")
    for m in _HOLD_LEAK_RE.finditer(rest):
        out.append(f"hold_wording: {_quote(m.group())} suggests why the order is held")


# --------------------------------------------------------------------------------------------------
# "Shipped" before a physical scan
# --------------------------------------------------------------------------------------------------

_POSITIVE_RE = re.compile(
    r"(?i:\b(?:shipped|dispatched|despatched|delivered|scanned|en\s+route|in\s+transit|out\s+for\s+delivery|"
    r"on\s+(?:its|it's|their|the|your)\s+way|being\s+shipped|"
    r"(?:is|are|'s|was|were|been|now|already|safely)\s+(?:now\s+|already\s+|safely\s+)?with\s+(?:the|a|your|"
    r"our)\s+(?:carrier|courier|driver|delivery\s+partner)|"
    r"in\s+(?:the\s+)?(?:carrier|courier)'?s?\s+(?:hands|possession|network|system)|"
    r"handed\s+(?:over\s+)?to\s+(?:the|a|your|our)\s+(?:carrier|courier|driver)|"
    r"picked\s+up|collected\s+by|left\s+(?:our|the)\s+(?:warehouse|fulfil?ment\s+cent(?:re|er)|facility|"
    r"depot|building|premises))\b)"
)
# The phrase is fine when the words right before it negate it or put it in the future / a condition.
_NOT_POSITIVE_RE = re.compile(
    r"(?i:(?:"
    r"(?:\bnot|n't|\bnever|\bno\s+longer|\byet\s+to)"
    r"|\b(?:will|shall|would|should|could|can|may|might|must|going\s+to|expected\s+to|due\s+to|scheduled\s+to|"
    r"about\s+to|ready\s+to|set\s+to|likely\s+to|planned\s+to|plan\s+to|needs?\s+to|has\s+to|have\s+to|"
    r"waiting\s+to|wait\s+to|waiting\s+for\s+it\s+to|to)|'ll|'d"
    r"|\b(?:once|when|whenever|after|before|until|till|unless|if|as\s+soon\s+as)"
    r"(?:\s+(?:[\w-]+\s+){0,3}?(?:[\w-]+'s|[\w-]+'ve|is|are|has|have|gets?|becomes?))?"
    r")(?:\s+(?:yet|been|be|being|have|has|had|already|actually|all|also|then|only|likely|probably|soon|"
    r"usually|normally|automatically))*\s*)$"
)
_CLAUSE_SPLIT_RE = re.compile(
    r"[.!?\n;]+|,\s*(?=(?:and|but|while|whereas|whilst|although|though|however|meanwhile|so)\b)"
    r"|\s(?=(?:but|while|whereas|whilst|although|however|meanwhile)\b)"
)
_PRONOUN_START_RE = re.compile(
    r"(?i:^\W*(?:(?:and|but|so|also|meanwhile)\s+)?(?:it|it's|this|that|they|they're|these|those|both|each|"
    r"which|the\s+(?:package|parcel|shipment|box|item|order|other\s+one|rest|remaining))\b)"
)


def _positive_claims(prose: str) -> list[re.Match[str]]:
    found = []
    for m in _POSITIVE_RE.finditer(prose):
        a = m.start()
        cut = max(prose.rfind(c, max(0, a - 90), a) for c in ".!?;:\n,(—")
        if _NOT_POSITIVE_RE.search(prose, max(cut + 1, a - 90), a) is None:
            found.append(m)
    return found


def _check_scans(prose: str, claims_text: str, facts: GuardrailFacts, out: list[str]) -> None:
    claims = _positive_claims(claims_text)
    if not claims:
        return
    if not facts.any_physical_scan:
        for m in claims:
            out.append(f"shipped_before_scan: {_quote(m.group())} (no physical carrier scan on the order)")
        return
    # Names of what the carrier has not scanned: unscanned shipments' labels and items, pending items. A title
    # that is also in a scanned shipment (a split quantity) is ambiguous and left out.
    scanned_titles = {
        _lower(t.strip()) for s in facts.shipments if s.physically_scanned for t in s.item_titles
    }
    unscanned: dict[str, str] = {}
    for s in facts.shipments:
        if not s.physically_scanned:
            unscanned.setdefault(_lower(s.label.strip()), s.label)
            for t in s.item_titles:
                unscanned.setdefault(_lower(t.strip()), t)
    for t in facts.pending_item_titles:
        unscanned.setdefault(_lower(t.strip()), t)
    low = _lower(prose)
    mentions: list[tuple[int, str]] = []
    for key, name in unscanned.items():
        if key and key not in scanned_titles:
            mentions.extend((i, name) for i in _find_all(low, key))
    if not mentions:
        return
    # Clause by clause: a positive claim in a clause that names an unscanned shipment or item is a violation;
    # a clause that starts with a pronoun ("It has shipped") names what the clause before it named.
    bounds = [0, *(m.end() for m in _CLAUSE_SPLIT_RE.finditer(prose)), len(prose) + 1]
    claim_iter = iter(claims)
    claim = next(claim_iter, None)
    previous: set[str] = set()
    for a, b in itertools.pairwise(bounds):
        if claim is None:
            break
        clause = prose[a:b]
        if not clause.strip():
            continue
        names = {name for i, name in mentions if a <= i < b}
        if not names and _PRONOUN_START_RE.search(clause):
            names = previous
        while claim is not None and claim.start() < b:
            if claim.start() >= a and names:
                named = ", ".join(_quote(n) for n in sorted(names))
                what = f"{_quote(claim.group())} about {named}"
                out.append(f"shipped_before_scan: {what}, which the carrier has not scanned")
            claim = next(claim_iter, None)
        previous = names


# --------------------------------------------------------------------------------------------------
# Split shipments
# --------------------------------------------------------------------------------------------------


def _check_split(text: str, facts: GuardrailFacts, out: list[str]) -> None:
    low = " ".join(text.split()).casefold()
    missing: list[str] = []
    for s in facts.shipments:
        label = " ".join(s.label.split()).casefold()
        if label and next(iter(_find_all(low, label)), None) is None:
            missing.append(f"shipment {_quote(s.label)}")
        for t in s.item_titles:
            if " ".join(t.split()).casefold() not in low:
                missing.append(f"item {_quote(t)} of {_quote(s.label)}")
    for t in facts.pending_item_titles:
        if " ".join(t.split()).casefold() not in low:
            missing.append(f"pending item {_quote(t)}")
    if missing:
        out.append("split_not_itemised: missing " + "; ".join(dict.fromkeys(missing)))


# --------------------------------------------------------------------------------------------------
# Unapproved promises
# --------------------------------------------------------------------------------------------------

_SUBJ = (
    r"(?:\b(?:I|we)'(?:ll|ve|d|m|re)|\blet's|\b(?:I|we|let\s+me|let\s+us|a\s+teammate|a\s+colleague|"
    r"our\s+team|the\s+team|someone|they|they'll|they've)(?![\w']))"
)
_AUX = (
    r"(?:\s+(?:will|shall|can|could|would|am|are|is|have|has|had|be|been|being|going\s+to|able\s+to|happy\s+to|"
    r"glad\s+to|about\s+to|trying\s+to|(?:go|gone|going|went)\s+ahead\s+and|just|already|now|also|then|"
    r"immediately|happily|gladly|personally|definitely|certainly|quickly|right\s+away|today|to|get|got|"
    r"make\s+sure\s+to|make\s+sure\s+(?:I|we)|arrange\s+to|and|still|currently|fully|want\s+to|"
    r"would\s+like\s+to|like\s+to|need\s+to|'ll|'ve))*"
)
_NOT_A_PROMISE = (
    r"(?!\s+(?:requests?|review|policy|options?|eligibility|form|application|claim|case|ticket|for\s+review))"
)
_BE = (
    r"(?:\s+(?:has|have|is|are|will|'s|'ll)|'s|'ll|'ve)(?:\s+(?:been|be|now|already|being|also|just|"
    r"successfully|fully|all))*\s+"
)
_PROMISE_RES: dict[str, re.Pattern[str]] = {
    "refund": re.compile(
        r"(?i:"
        rf"{_SUBJ}{_AUX}\s+(?:(?:refund(?:ed|ing|s)?|reimburs\w*){_NOT_A_PROMISE}"
        r"|credit(?:ed|ing)?\s+(?:you|your|the|it|back)\b"
        r"|(?:issu|process|initiat|approv|arrang|send|sent|giv|gave|start|submit|authori[sz]|put\s+through|"
        r"appl(?:y|ie|yi)|complet|finali[sz]|confirm|queu|get|got|sort|organi[sz]|trigger|rais|pay|paid)\w*"
        rf"\s+(?:\w+\s+){{0,3}}?(?:refund|reimbursement|credit|money\s+back){_NOT_A_PROMISE})"
        r"|\b(?:your|the|a|an|this|that)\s+(?:full\s+|partial\s+)?(?:refund|reimbursement)"
        r"(?:\s+(?:has|have|had|was|is|are|will)|'s|'ll)(?:\s+(?:been|be|now|already|being|also|just|"
        r"successfully))*\s+(?:processed|issued|approved|initiated|sent|completed?|submitted|on\s+(?:its|the)\s+way|"
        r"coming|confirmed|granted|arranged|underway|in\s+progress|done|queued|scheduled|going\s+through|"
        r"heading|back|paid|credited|on\s+the\s+way)"
        r"|\byou(?:'ll|'ve|'re|\s+will|\s+have|\s+are|\s+were|\s+should|'d)?(?:\s+(?:now|already|also|soon|then|"
        r"be|been|being|get|getting))*\s+(?:refunded|reimbursed|credited)\b"
        r"|\byou(?:'ll|'re|\s+will|\s+are|\s+should|\s+can\s+expect\s+to|\s+are\s+going\s+to|'re\s+going\s+to)"
        r"(?:\s+(?:now|also|soon|then|be))*\s+(?:receive|receiving|get|getting|see|seeing)\s+(?:a|your|the|an)"
        r"\s+(?:full\s+|partial\s+)?(?:refund|credit|reimbursement|money\s+back)"
        r"|\byou(?:'ll|\s+will)\s+(?:get|have)\s+your\s+money\s+back"
        r")"
    ),
    "replacement": re.compile(
        r"(?i:"
        rf"{_SUBJ}{_AUX}\s+(?:(?:replac(?:e|ed|ing)|resend\w*|resent|re-?ship\w*){_NOT_A_PROMISE}"
        r"|(?:send|sent|ship|shipp\w*|dispatch\w*|mail\w*|arrang\w*|issu\w*|order\w*|process\w*|creat\w*|"
        r"set\s+up|put\s+through|get|got|approv\w*|organi[sz]\w*|queu\w*|start\w*|initiat\w*|rais\w*)"
        r"\s+(?:you\s+|out\s+)?(?:\w+\s+){0,3}?(?:replacement|new\s+one|another\s+one|"
        rf"new\s+(?:item|unit|package|parcel|pair|copy|order)){_NOT_A_PROMISE}"
        r"|(?:send|ship|dispatch|mail)\w*\s+(?:you\s+)?another\s+(?:one|unit|item|pair|copy|package|parcel))"
        r"|\b(?:your|the|a|an|this|that)\s+(?:new\s+|free\s+)?replacement(?:\s+(?:order|item|unit|package|parcel))?"
        r"(?:\s+(?:has|have|had|was|is|are|will)|'s|'ll)(?:\s+(?:been|be|now|already|being|also|just|"
        r"successfully))*\s+(?:processed|issued|approved|initiated|sent|shipped|dispatched|arranged|created|"
        r"ordered|on\s+(?:its|the)\s+way|coming|confirmed|granted|underway|in\s+progress|queued|scheduled|"
        r"heading|prepared|ready|set\s+up|placed)"
        r"|\byou(?:'ll|'re|\s+will|\s+are|\s+should|\s+can\s+expect\s+to|\s+are\s+going\s+to|'re\s+going\s+to)"
        r"(?:\s+(?:now|also|soon|then|be))*\s+(?:receive|receiving|get|getting)\s+(?:a|your|the|an)"
        r"\s+(?:new\s+|free\s+)?(?:replacement|new\s+one)"
        r")"
    ),
    "cancellation": re.compile(
        r"(?i:"
        rf"{_SUBJ}{_AUX}\s+(?:cancel(?:l?ed|l?ing|s)?{_NOT_A_PROMISE}"
        r"|(?:process|confirm|complet|submit|finali[sz]|put\s+through|queu|action|approv|arrang|get|got|start|"
        rf"initiat)\w*\s+(?:\w+\s+){{0,3}}?cancell?ation{_NOT_A_PROMISE})"
        r"|\b(?:order|orders|item|items|shipment|package|purchase|subscription|it|this|that)"
        rf"{_BE}cancell?ed\b"
        r"|\bcancell?ation"
        + _BE
        + r"(?:processed|confirmed|completed?|done|approved|submitted|queued|through|"
        r"successful|underway|in\s+progress)"
        r"|\bget\s+(?:it|that|this|them|your\s+order|the\s+order)\s+cancell?ed"
        r")"
    ),
    "address_change": re.compile(
        r"(?i:"
        r"(?:" + _SUBJ + _AUX + r"\s+(?:(?:updat|chang|correct|amend|edit|fix|modif|switch|sav|replac|add|"
        r"enter|record)\w*\s+(?:\w+\s+){0,2}?(?:shipping\s+|delivery\s+|mailing\s+|new\s+)?(?:address|"
        r"delivery\s+details|shipping\s+details)"
        + _NOT_A_PROMISE
        + r"|redirect\w*|re-?rout\w*|re-?address\w*))"
        r"|\b(?:your|the)\s+(?:new\s+)?(?:shipping\s+|delivery\s+|mailing\s+)?address"
        + _BE
        + r"(?:updated|changed|corrected|amended|modified|saved|fixed|switched|edited|on\s+file)"
        r"|\b(?:package|parcel|shipment|order|it)" + _BE + r"(?:redirected|rerouted|re-routed|re-addressed)"
        r")"
    ),
}
# "I'll queue it", "we've actioned that": a promise of whatever action the text is about.
_GENERIC_PROMISE_RE = re.compile(
    r"(?i:\b(?:I|we)(?:'ll|'ve|'m\s+going\s+to|\s+will|\s+have|\s+can|\s+am\s+going\s+to)(?:\s+(?:go\s+ahead\s+"
    r"and|gone\s+ahead\s+and|just|now|also|already))*\s+(?:queued?|process(?:ed)?|action(?:ed)?|put|sort(?:ed)?|"
    r"take(?:n)?\s+care\s+of|make|made|do|done|arrange(?:d)?|approved?|confirm(?:ed)?)"
    r"\s+(?:it|that|this|them|those|the\s+change|that\s+change|this\s+change|the\s+request|your\s+request)\b"
    r"(?!\s+(?:to|with|for|past|over|by|on\s+to)\s+(?:a\s+teammate|the\s+team|our\s+team|a\s+colleague|review))"
    r")"
)
_ACTION_MENTION_RE: dict[str, re.Pattern[str]] = {
    "refund": re.compile(r"(?i:refund|reimburs|money\s+back|\bcredit)"),
    "replacement": re.compile(r"(?i:replac|resend|re-?ship)"),
    "cancellation": re.compile(r"(?i:cancel)"),
    "address_change": re.compile(r"(?i:address|redirect|re-?rout)"),
}


def _check_promises(prose: str, facts: GuardrailFacts, out: list[str]) -> None:
    approved = facts.approved_actions
    for action, rx in _PROMISE_RES.items():
        if action in approved:
            continue
        for m in rx.finditer(prose):
            out.append(f"unapproved_promise: {_quote(m.group())} ({action} not approved)")
    mentioned: list[str] | None = None
    for m in _GENERIC_PROMISE_RE.finditer(prose):
        if mentioned is None:
            mentioned = [a for a, rx in _ACTION_MENTION_RE.items() if rx.search(prose)]
        if mentioned:
            for a in mentioned:
                if a not in approved:
                    out.append(f"unapproved_promise: {_quote(m.group())} ({a} not approved)")
        elif not approved:
            out.append(f"unapproved_promise: {_quote(m.group())} (promises an unspecified action)")


# --------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------


def check_customer_text(text: str, facts: GuardrailFacts) -> list[str]:
    """Every SPEC §5 violation in ``text`` as ``"<code>: <explanation>"``; empty when it may be sent."""
    text = _normalise(text)
    prose = _blank_urls(text)  # links and addresses are not prose
    plain = _blank_titles(prose, facts)  # item titles are data
    out: list[str] = []
    _check_dates(plain, facts, out)
    _check_windows(plain, out)
    _check_restricted(text, facts, out)
    _check_internal(plain, out)
    _check_scans(prose, plain, facts, out)
    if facts.split:
        _check_split(text, facts, out)
    _check_promises(plain, facts, out)
    if facts.restricted_hold:
        _check_hold(text, out)
    return list(dict.fromkeys(out))
