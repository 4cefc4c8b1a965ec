"""The final guardrail over every customer-visible text (SPEC §5).

:func:`check_customer_text` returns one ``"<code>: <explanation>"`` string per violation; an empty list
means the text may be sent. A failing text is never sent (the caller turns it into an internal note and an
escalation), so every rule errs toward flagging: a false positive costs a review, a false negative puts an
invented date, an internal signal or an unapproved promise in front of a customer.

Codes: ``date_not_in_data``, ``generic_window``, ``restricted_term``, ``shipped_before_scan``,
``split_not_itemised``, ``unapproved_promise``, ``internal_signal``, ``hold_wording``.

Pure logic, on the hot path of every outgoing text. Every regex is compiled at import and runs over one
lower-cased, space-prefixed copy of the text; word regexes start with the non-word character before the
word so ``re`` can skip ahead (:func:`_words`), rules whose words are absent are skipped by substring
checks, and dates are found from the digit runs of the text.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator
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
# Text helpers
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


def _lower(s: str) -> str:
    """Lower case with the same length (and so the same offsets) as ``s``."""
    low = s.lower()
    if len(low) == len(s):
        return low
    return "".join(c.lower()[:1] or c for c in s)


_URL_RE = re.compile(r"https?://\S+|www\.\S+")
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _blank(m: re.Match[str]) -> str:
    return " " * len(m.group())


def _blank_urls(low: str) -> str:
    """``low`` with links and e-mail addresses blanked (offsets kept): a tracking link's dates, query keys
    and codes are not prose the customer is told."""
    if "://" in low or "www." in low:
        low = _URL_RE.sub(_blank, low)
    if "@" in low:
        low = _EMAIL_RE.sub(_blank, low)
    return low


def _find_all(hay: str, needle: str) -> Iterator[int]:
    """Offsets of ``needle`` in ``hay`` where it is not glued to a letter or digit on either side."""
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


def _blank_titles(low: str, facts: GuardrailFacts) -> str:
    """``low`` with the order's longer item titles blanked (offsets kept): a title is data, so the "friday"
    in "Friday Night Mug" is not an invented date."""
    titles = {t for s in facts.shipments for t in s.item_titles} | set(facts.pending_item_titles)
    for key in {_lower(t.strip()) for t in titles if " " in t.strip() or len(t.strip()) >= 10}:
        for i in list(_find_all(low, key)):
            low = low[:i] + " " * len(key) + low[i + len(key) :]
    return low


def _find_prefix(hay: str, prefix: str) -> Iterator[int]:
    """Offsets where ``prefix`` starts a word in ``hay``."""
    i = hay.find(prefix)
    while i >= 0:
        if not (i and hay[i - 1].isalnum()):
            yield i
        i = hay.find(prefix, i + 1)


def _trie(alternatives: Iterable[str]) -> str:
    """``alternatives`` as one alternation, grouped by first letter so ``re`` tries few branches per position."""
    groups: dict[str, list[str]] = {}
    for alt in alternatives:
        head = alt[0] if alt[:1].isalnum() and alt[1:2] not in ("", "?", "*", "+", "{") else ""
        groups.setdefault(head or alt, []).append(alt[1:] if head else "")
    parts = []
    for key, rests in groups.items():
        if len(key) > 1 or not key.isalnum():
            parts.append(key)
        elif len(rests) == 1:
            parts.append(key + rests[0])
        else:
            parts.append(key + "(?:" + "|".join(rests) + ")")
    return "|".join(parts)


def _words(*alternatives: str, tail: str = r"(?![a-z0-9])") -> re.Pattern[str]:
    """A regex for ``alternatives`` at the start of a word of a lower-cased, space-prefixed text.

    The match includes the one non-word character in front of the word (so the word starts at
    ``m.start() + 1``): a pattern that starts with a character class lets ``re`` skip over letters in C,
    where a lookbehind or a word boundary would make it try every position."""
    return re.compile("[^a-z0-9](?:" + _trie(alternatives) + ")" + tail)


def _quote(s: str, limit: int = 80) -> str:
    s = " ".join(s.split())
    return "'" + (s if len(s) <= limit else s[: limit - 1] + "…") + "'"


def _snippet(orig: str, a: int, b: int) -> str:
    return _quote(orig[a:b])


# --------------------------------------------------------------------------------------------------
# Dates (date_not_in_data) and the date-shaped windows ("3-5 November", "48h")
# --------------------------------------------------------------------------------------------------

_MONTH_NUM: dict[str, int] = {}
for _i, _m in enumerate(MONTHS, 1):
    _MONTH_NUM[_m.lower()] = _i
    _MONTH_NUM[_m[:3].lower()] = _i
_MONTH_NUM["sept"] = 9
_WEEKDAY_NUM: dict[str, int] = {w[:3].lower(): i for i, w in enumerate(WEEKDAYS)}
_FULL_WEEKDAYS = frozenset(w.lower() for w in WEEKDAYS)
_LOWERCASE_WORD_MONTHS = frozenset({"may", "mar", "march"})  # "it may 2", "march": need a capital

_MON = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december|"
    r"jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)(?![a-z])"
)
_WDAY = (
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"mon|tues|tue|wed|thurs|thur|thu|fri|sat|sun)(?![a-z])"
)
_ORDS = r"(?:st|nd|rd|th)"

_DIGITS_RE = re.compile(r"\d+")
_ISO_TAIL = re.compile(r"([-/.])(\d{1,2})\1(\d{1,2})(?!\d)")
_NUM_TAIL = re.compile(r"([/.])(\d{1,2})(?!\d)(?:\1(\d{4}|\d{2})(?!\d))?(\.(?!\d))?(?!/)")
_DM_TAIL = re.compile(rf"{_ORDS}?(?:\s+of)?\s+({_MON})\.?(?:,?\s+(\d{{4}})(?!\d))?")
_MD_HEAD = re.compile(rf"(?<![a-z])({_MON})\.?\s+(?:the\s+)?$")
_MD_TAIL = re.compile(rf"{_ORDS}?(?![a-z:])(?:,?\s+(\d{{4}})(?!\d))?")
_WD_HEAD = re.compile(rf"(?<![a-z])({_WDAY})\.?,?\s+(?:the\s+)?$")
_ORD_TAIL = re.compile(rf"{_ORDS}(?![a-z])")
_ORD_HEAD = re.compile(
    rf"(?:(?<![a-z])({_WDAY})\.?,?\s+|(?<![a-z])(?:on|by|before|after|until|till|from|around|about|"
    r"later\s+than)\s+)the\s+$"
)
_ORD_AFTER = re.compile(r"\s*(?:[.,;:!?)]|$)|\s+(?:of|at|or|and|if|so|but|when|as|we|you|i|it)(?![a-z])")
_TIME_TAIL = re.compile(r"(?::[0-5]\d)?\s*[ap]\.?m\.?(?![a-z])|:[0-5]\d(?!\d)")
_HOURS_TAIL = re.compile(r"\s*(?:h|hrs?)(?![a-z])")
_RANGE_DM_TAIL = re.compile(rf"{_ORDS}?\s*(?:-|–|—|to|and)\s*\d{{1,2}}{_ORDS}?\s+(?:of\s+)?{_MON}")
_RANGE_MD_TAIL = re.compile(rf"{_ORDS}?\s*(?:-|–|—|to|and)\s*\d{{1,2}}(?!\d)")
_NAME_AT = re.compile(rf"({_WDAY})|({_MON})")
_NAME_PREFIXES = tuple(sorted({*_WEEKDAY_NUM, *(m for m in _MONTH_NUM if len(m) == 3)}))
_MONTH_WINDOW_HEAD = re.compile(
    r"(?<![a-z])(?:in|by|before|until|till|during|through|throughout|early|mid|late|around|end\s+of|"
    r"beginning\s+of|start\s+of|middle\s+of|(?:first|second)\s+half\s+of|(?:first|second|third|last)\s+week\s+of)"
    r"(?:\s*-\s*|\s+)(?:the\s+)?(?:(?:end|start|beginning|middle)\s+of\s+)?(?:early\s+|mid\s*-?\s*|late\s+)?$"
)
_CLOCK_WORD_RE = _words("noon", "midday", "midnight")
_RANGE_STARTS = frozenset("-–—atsnr")  # "-", "to", "and", or an ordinal suffix before them
_DM_STARTS = frozenset("jfmasondtr")  # month initials, "of", ordinal suffixes
_AM_PM = frozenset("ap")
_ORDINALS = frozenset({"st", "nd", "rd", "th"})
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


def _year(s: str | None) -> int | None:
    if not s:
        return None
    return int(s) + 2000 if len(s) == 2 else int(s)


def _month_ok(orig: str, start: int, word: str) -> bool:
    """A month word counts unless it is "may"/"march"/"mar" written in lower case (the verbs)."""
    return word not in _LOWERCASE_WORD_MONTHS or orig[start].isupper()


def _weekday_ok(orig: str, start: int, word: str) -> bool:
    """Full weekday names count in any case; abbreviations ("Sat", "Sun", "Wed") only capitalised."""
    return word in _FULL_WEEKDAYS or orig[start].isupper()


class _Dates:
    """One pass over the digit runs of a text, finding every date form and checking it."""

    __slots__ = ("allowed", "by_md", "low", "orig", "out", "spans")

    def __init__(self, orig: str, low: str, allowed: frozenset[date], out: list[str]) -> None:
        self.orig, self.low, self.allowed, self.out = orig, low, allowed, out
        self.by_md: dict[tuple[int, int], list[date]] | None = None
        self.spans: list[tuple[int, int]] = []

    def bad(self, a: int, b: int, why: str) -> None:
        snippet = self.orig[a:b].rstrip(" ,")
        if snippet.endswith(".") and not snippet[-2:-1].isdigit():
            snippet = snippet[:-1]  # "7 November." at the end of a sentence
        self.out.append(f"date_not_in_data: {_quote(snippet)} ({why})")

    def candidates(self, month: int, day: int, year: int | None) -> list[date]:
        if self.by_md is None:
            self.by_md = {}
            for d in self.allowed:
                self.by_md.setdefault((d.month, d.day), []).append(d)
        found = self.by_md.get((month, day), [])
        return found if year is None else [d for d in found if d.year == year]

    def weekday_before(self, start: int) -> tuple[int, int | None]:
        """(new start, weekday) when a weekday name is written right before the date at ``start``."""
        m = _WD_HEAD.search(self.low, max(0, start - 16), start)
        if m is None or not _weekday_ok(self.orig, m.start(1), m.group(1)):
            return start, None
        return m.start(1), _WEEKDAY_NUM[m.group(1)[:3]]

    def check(self, a: int, b: int, readings: list[tuple[int, int, int | None]]) -> None:
        """The date written at [a, b) must be an allowed date under every reading, with its weekday."""
        a, wd = self.weekday_before(a)
        self.spans.append((a, b))
        for month, day, year in readings:
            if not _valid(month, day, year):
                self.bad(a, b, "not a valid calendar date")
                return
            found = self.candidates(month, day, year)
            why = None
            if not found:
                why = "not a date in the order data"
            elif wd is not None and not any(d.weekday() == wd for d in found):
                actual = "/".join(sorted({WEEKDAYS[d.weekday()] for d in found}))
                why = f"weekday does not match the date, which is a {actual}"
            if why is not None:
                if len(readings) > 1:
                    why += "; a numeric date can be read two ways"
                self.bad(a, b, why)
                return

    def run(self) -> None:
        low, orig, out = self.low, self.orig, self.out
        skip_to = 0
        for m in _DIGITS_RE.finditer(low):
            s, e = m.span()
            pc = low[s - 1] if s else " "
            if s < skip_to or pc.isalnum() or pc == "_":
                continue
            n = e - s
            nxt = low[e : e + 1]
            after = low[e : e + 8].lstrip()[:1]  # next non-space character
            if n <= 2 and after in _RANGE_STARTS and (r := _RANGE_DM_TAIL.match(low, e)) is not None:
                out.append(f"generic_window: {_snippet(orig, s, r.end())} (date range)")
            if after == "h" and pc not in ".:" and (h := _HOURS_TAIL.match(low, e)) is not None:
                out.append(f"generic_window: {_snippet(orig, s, h.end())}")
            end = self.one(s, e, n, pc, nxt, after)
            if end is not None:
                skip_to = end

    def one(self, s: int, e: int, n: int, pc: str, nxt: str, after: str) -> int | None:
        """Check the date that the digit run [s, e) starts or ends; return where the date ends."""
        low, orig = self.low, self.orig
        if n == 4 and nxt and nxt in "-/." and pc != "." and (t := _ISO_TAIL.match(low, e)) is not None:
            self.check(s, t.end(), [(int(t.group(2)), int(t.group(3)), int(low[s:e]))])
            return t.end()
        if n > 2:
            return None
        if nxt and nxt in "/." and pc not in ".,/$£€:-" and (t := _NUM_TAIL.match(low, e)) is not None:
            n1, n2, sep, ny, trail = low[s:e], t.group(2), t.group(1), t.group(3), t.group(4)
            if n1 == "24" and n2 == "7" and sep == "/":
                return t.end()  # "24/7"
            if sep == "." and not ny and not trail and not (len(n1) == 2 and len(n2) == 2):
                return None  # a decimal such as "4.5"
            y = _year(ny)
            # Month/day or day/month: a customer may read either, so every valid reading must be allowed.
            readings = [(a, b, y) for a, b in ((int(n1), int(n2)), (int(n2), int(n1))) if _valid(a, b, y)]
            if readings:
                self.check(s, t.end(), list(dict.fromkeys(readings)))
                return t.end()
            return None
        if (
            after in _DM_STARTS
            and pc not in ".,/$£€"
            and (t := _DM_TAIL.match(low, e)) is not None
            and _month_ok(orig, t.start(1), t.group(1))
        ):
            self.check(s, t.end(), [(_MONTH_NUM[t.group(1)], int(low[s:e]), _year(t.group(2)))])
            return t.end()
        if pc in " .\t\n" and s >= 4:
            h = _MD_HEAD.search(low, max(0, s - 16), s)
            if h is not None and _month_ok(orig, h.start(1), h.group(1)):
                t = _MD_TAIL.match(low, e)
                if t is not None:
                    day = int(low[s:e])
                    self.check(h.start(1), t.end(), [(_MONTH_NUM[h.group(1)], day, _year(t.group(1)))])
                    if after in _RANGE_STARTS and (r := _RANGE_MD_TAIL.match(low, e)) is not None:
                        self.out.append(f"generic_window: {_snippet(orig, h.start(1), r.end())} (date range)")
                    return t.end()
        if (
            low[e : e + 2] in _ORDINALS
            and (t := _ORD_TAIL.match(low, e)) is not None
            and _ORD_AFTER.match(low, t.end()) is not None
        ):
            h = _ORD_HEAD.search(low, max(0, s - 30), s)
            if h is not None and (h.group(1) is None or _weekday_ok(orig, h.start(1), h.group(1))):
                self.spans.append((h.start(), t.end()))
                self.bad(h.start(), t.end(), "a day of the month without the month; write the full date")
                return t.end()
        if (nxt == ":" or after in _AM_PM) and pc not in ".:" and (t := _TIME_TAIL.match(low, e)) is not None:
            self.bad(s, t.end(), "a time of day is never in customer text")
            return t.end()
        return None

    def covered(self, pos: int) -> bool:
        return any(a <= pos < b for a, b in self.spans)


def _check_dates(orig: str, low: str, facts: GuardrailFacts, out: list[str]) -> None:
    dates = _Dates(orig, low, facts.allowed_dates, out)
    dates.run()
    # Weekday and month names outside the dates found above (found by their first three letters).
    for a in sorted(i for p in _NAME_PREFIXES for i in _find_prefix(low, p)):
        m = _NAME_AT.match(low, a)
        if m is None or dates.covered(a):
            continue
        if m.group(1) is not None:
            if _weekday_ok(orig, a, m.group(1)):
                dates.bad(a, m.end(), "a weekday without a date is an invented relative date")
        elif _month_ok(orig, a, m.group(2)) and (h := _MONTH_WINDOW_HEAD.search(low, max(0, a - 40), a)):
            dates.bad(h.start(), m.end(), "a month without a day is an invented window")
    if "noon" in low or "midday" in low or "midnight" in low:
        for m in _CLOCK_WORD_RE.finditer(low):
            dates.bad(m.start() + 1, m.end(), "a time of day is never in customer text")


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
    r"(?:days?|hours?|hrs?|h|weeks?|wks?|months?)(?![a-z])"
)
_WINDOW_LEADS = (
    "within", "in", "under", "about", "around", "approximately", r"approx\.?", "roughly", r"up\s+to", "another",
    "after", "allow", r"at\s+least", r"at\s+most", r"no\s+more\s+than", r"less\s+than", r"more\s+than", "over",
    "next", r"the\s+next", r"the\s+coming", "takes?", "taking", "usually", "typically", "normally",
)  # fmt: skip
_GENERIC_RE = _words(
    # 3-5 business days, 3 to 5 days, 24-48 hours, 2 or 3 weeks
    rf"{_NUM}\s*(?:-|–|—|to|or|and)\s*{_NUM}\s*{_UNIT}",
    # a day or two, a week or so
    rf"{_NUM}\s+{_UNIT}\s+or\s+(?:two|three|so|more|less|longer)(?![a-z])",
    # 5 business days
    rf"{_NUM}\s+(?:business|working)\s+days?(?![a-z])",
    # 2-day shipping, 48-hour
    r"\d+-(?:business-|working-)?(?:day|hour|week)(?![a-z])",
    # within 48 hours, in 3 days, up to a week, over the next few days
    *(rf"{w}\s+(?:the\s+)?(?:next\s+|coming\s+)?{_NUM}\s*{_UNIT}" for w in _WINDOW_LEADS),
    # few days, a couple of weeks, several days, within days
    r"(?:a\s+)?(?:few|couple\s+(?:of\s+)?|several)\s+(?:more\s+)?(?:business\s+|working\s+)?(?:days|weeks|hours)",
    r"(?:within|in)\s+(?:a\s+matter\s+of\s+)?(?:days|weeks|hours)",
    # relative dates
    r"(?:the\s+)?day\s+after\s+tomorrow",
    "tomorrow",
    r"next\s+week(?:end)?",
    r"this\s+week(?:end)?",
    r"later\s+(?:this|in\s+the)\s+(?:week|month)",
    r"later\s+today",
    r"by\s+tonight",
    r"end\s+of\s+(?:the\s+|this\s+|next\s+)?(?:day|week|month)",
    r"next\s+(?:business\s+|working\s+)?day",
    r"next\s+month",
    r"(?:over|by|at)\s+the\s+weekend",
    r"any\s+day\s+now",
    "eod",
    "cob",
    r"close\s+of\s+business",
    r"early\s+next",
    "overnight",
    "yesterday",
    r"last\s+(?:week|month)",
    r"earlier\s+(?:this|in\s+the)\s+week",
    r"the\s+other\s+day",
    tail=r"(?![a-z])",
)
# Every _GENERIC_RE match contains one of these; most texts contain none, so the big regex is skipped.
_GENERIC_GATE = (
    " day", "-day", "days", "hour", "hrs", "week", "wk", "month", "tomorrow", "eod", "cob", "overnight",
    "close of business", "yesterday",
)  # fmt: skip
# Relative words that are windows only when they describe delivery or shipping.
_CONTEXT_WINDOW_RE = _words(
    "today", "tonight", "shortly", r"this\s+(?:morning|afternoon|evening)", r"within\s+the\s+day", tail="(?![a-z])"
)
_CONTEXT_WORDS = ("today", "tonight", "shortly", "this morning", "this afternoon", "this evening", "within the")
_DELIVERY_VERB_RE = re.compile(
    r"(?:arriv|deliver|ship|dispatch|reach|get\s+to\s+you|with\s+you|expect|transit|on\s+(?:its|the)\s+way|"
    r"send|sent|leav|left|collect|pick|ready|prepar|pack|out\s+for)"
)


def _sentence_start(low: str, pos: int) -> int:
    if pos <= 0:
        return 0
    return max(low.rfind(c, 0, pos) for c in ".!?\n") + 1


def _sentence_at(low: str, start: int, end: int) -> str:
    a = _sentence_start(low, start)
    ends = [i for i in (low.find(c, end) for c in ".!?\n") if i >= 0]
    return low[a : min(ends) if ends else len(low)]


def _check_windows(orig: str, low: str, out: list[str]) -> None:
    if any(k in low for k in _GENERIC_GATE):
        for m in _GENERIC_RE.finditer(low):
            out.append(f"generic_window: {_snippet(orig, m.start() + 1, m.end())}")
    if not any(w in low for w in _CONTEXT_WORDS):
        return
    for m in _CONTEXT_WINDOW_RE.finditer(low):
        if _DELIVERY_VERB_RE.search(_sentence_at(low, m.start() + 1, m.end())):
            what = _snippet(orig, m.start() + 1, m.end())
            out.append(f"generic_window: {what} (a relative time for delivery or shipping)")


# --------------------------------------------------------------------------------------------------
# Restricted terms and internal signals
# --------------------------------------------------------------------------------------------------

_RESTRICTED_RE = _words(
    "fraud[a-z]*", "risk(?:s|y|ier|iest)?",
    r"payments?\s+(?:review[a-z]*|issue|problem|hold|verification|check|failure|failed|declined|flag[a-z]*|"
    r"screening|team)",
    r"under\s+review\s+for\s+payment", "charge-?backs?", r"verification\s+teams?", r"security\s+teams?",
    r"review\s+teams?", r"warehouse\s+teams?", "compliance", r"trust\s+(?:and|&)\s+safety", r"loss\s+prevention",
    "internal[a-z]*", "suppliers?", "vendors?", "manufacturers?", r"purchase\s+orders?",
    r"po\s+(?:number|num|no\.?)", "ponum(?:ber)?", r"card\s+(?:[a-z]+\s+){0,2}?declined",
    r"transaction\s+(?:[a-z]+\s+){0,2}?declined", r"payment\s+(?:[a-z]+\s+){1,2}?declined",
    "blam[a-z]*", r"messed\s+up", r"screwed\s+up", r"dropped\s+the\s+ball", "botched",
)  # fmt: skip
# Every _RESTRICTED_RE match contains one of these.
_RESTRICTED_GATE = (
    "fraud", "risk", "payment", "review", "charge", "team", "compliance", "trust", "loss prevention", "internal",
    "supplier", "vendor", "manufacturer", "purchase order", "po ", "ponum", "declined", "blam", "messed", "screwed",
    "dropped the ball", "botched",
)  # fmt: skip
_BLAME_RE = _words("fault", "mistake", "error")
_BLAME_HEAD = re.compile(r"(?:(?<![a-z])(?:their|his|her|its)|(?<![a-z])[a-z]+(?:'s|s'))\s+$")
_PO_RE = re.compile(r"(?<![A-Za-z0-9])(?:PO\s*#|PO\s*\d|[Pp][Oo]-[A-Za-z0-9]+)")
_INTERNAL_RE = _words(
    "skus?",
    *(rf"{w}\s+codes?" for w in ("scan", "status", "reason", "exception", "error", "event", "hold", "carrier")),
    r"hold[\s_-]?types?",
    "confidence",
    r"risk\s+score",
    r"condition\s+(?:type|codes?)",
    r"recommended\s+action",
    "wms",
    "oms",
    "3pl",
    r"escalation\s+reasons?",
    r"status[\s_]key",
)
# Every _INTERNAL_RE match contains one of these.
_INTERNAL_GATE = (
    "sku", "code", "hold", "confidence", "risk", "condition", "recommended", "wms", "oms", "3pl", "escalation",
    "status",
)  # fmt: skip
_SNAKE_RE = re.compile(r"(?<![\w/])[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+(?!\w)")
_RAW_VALUE_RE = re.compile(r"(?<![A-Za-z0-9])(?:null|undefined|NaN|None(?=\s*[,.)\]}]|\s*$))(?![A-Za-z0-9])")
_PLACEHOLDER_RE = re.compile(r"\{\{?[^{}\n]{0,60}\}\}?|\$\{|<[A-Z_]{2,}>|%\(\w+\)s")


@lru_cache(maxsize=256)
def _terms_re(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    parts = sorted(
        (r"\s+".join(re.escape(w) for w in _lower(t).split()) for t in terms if t.strip()), key=len, reverse=True
    )
    if not parts:
        return None
    return re.compile("[^a-z0-9](?:" + "|".join(parts) + r")(?![a-z0-9])")


def _check_restricted(orig: str, low: str, facts: GuardrailFacts, out: list[str]) -> None:
    if any(k in low for k in _RESTRICTED_GATE):
        for m in _RESTRICTED_RE.finditer(low):
            out.append(f"restricted_term: {_snippet(orig, m.start() + 1, m.end())}")
    if "fault" in low or "mistake" in low or "error" in low:
        for m in _BLAME_RE.finditer(low):
            a = m.start() + 1
            h = _BLAME_HEAD.search(low, max(0, a - 24), a)
            if h is not None:
                out.append(f"restricted_term: {_snippet(orig, h.start(), m.end())} (blame)")
    if "PO" in orig or "po-" in low:
        for m in _PO_RE.finditer(orig):
            out.append(f"restricted_term: {_snippet(orig, m.start(), m.end())}")
    if facts.restricted_terms:
        extra = _terms_re(tuple(_normalise(t) for t in facts.restricted_terms))
        if extra is not None:
            for m in extra.finditer(low):
                out.append(f"restricted_term: {_snippet(orig, m.start() + 1, m.end())} (policy term)")


def _check_internal(orig: str, low: str, out: list[str]) -> None:
    if any(k in low for k in _INTERNAL_GATE):
        for m in _INTERNAL_RE.finditer(low):
            out.append(f"internal_signal: {_snippet(orig, m.start() + 1, m.end())}")
    if "_" in low:
        for m in _SNAKE_RE.finditer(low):
            out.append(f"internal_signal: {_snippet(orig, m.start(), m.end())} (raw code)")
    if "null" in orig or "undefined" in orig or "NaN" in orig or "None" in orig:
        for m in _RAW_VALUE_RE.finditer(orig):
            if low[m.start()] != " ":  # not inside a blanked link
                out.append(f"internal_signal: {_snippet(orig, m.start(), m.end())} (raw value)")
    if "{" in low or "<" in low or "%(" in low:
        for m in _PLACEHOLDER_RE.finditer(orig):
            if low[m.start()] != " ":
                out.append(f"internal_signal: {_snippet(orig, m.start(), m.end())} (template placeholder)")


# --------------------------------------------------------------------------------------------------
# Hold wording
# --------------------------------------------------------------------------------------------------

_HOLD_LEAK_RE = _words(
    "verif[a-z]*", "payments?", "pay", "paid", "cards?", "billing", "bill", "bank[a-z]*", "declin[a-z]*",
    "suspicio[a-z]*", "security", "secure", "identity", "identification", "id", "flag[a-z]*", "unusual",
    "investigat[a-z]*", r"on\s+hold", "held", "holds?", "address[a-z]*", "review[a-z]*", "authori[sz][a-z]*",
    "charge[a-z]*", "transaction[a-z]*", "issues?", "problem[a-z]*", "concern[a-z]*", "screen[a-z]*", "checks?",
    "blocked", "locked", "frozen",
)  # fmt: skip


def _check_hold(orig: str, out: list[str]) -> None:
    flat = " ".join(orig.split())
    if APPROVED_HOLD_WORDING not in flat:
        out.append(f"hold_wording: the approved verification sentence is missing ({_quote(APPROVED_HOLD_WORDING)})")
    rest = " " + flat.replace(APPROVED_HOLD_WORDING, " ")
    for m in _HOLD_LEAK_RE.finditer(_lower(rest)):
        out.append(f"hold_wording: {_snippet(rest, m.start() + 1, m.end())} hints at why the order is held")


# --------------------------------------------------------------------------------------------------
# "Shipped" before a physical scan
# --------------------------------------------------------------------------------------------------

_CARRIER_NAMES = (
    "carrier", "courier", "driver", "ups", "usps", "fedex", "dhl", r"royal\s+mail", "parcelforce", "evri", "hermes",
    "dpd", "gls", "yodel", "ontrac", "lasership", "purolator", r"canada\s+post", r"australia\s+post", "postnl",
    r"la\s+poste", r"amazon\s+logistics", r"the\s+post(?:al\s+service|\s+office)?",
)  # fmt: skip
_SENT_AUX = ("has", "have", "was", "were", "been", "being")
_HAS_IT = r"\s+(?:now\s+|already\s+)?(?:has|have)\s+(?:it|them|your|the\s+(?:package|parcel))"
_POSITIVE_RE = _words(
    "shipped", "dispatched", "despatched", "delivered", "scanned", r"en\s+route", r"in\s+transit",
    r"out\s+for\s+delivery", r"on\s+(?:its|it's|their|the|your)\s+way", r"being\s+shipped",
    r"with\s+(?:the|a|your|our)\s+(?:carrier|courier|driver|delivery\s+partner)",
    rf"with\s+(?:{'|'.join(_CARRIER_NAMES[3:])})",
    r"in\s+(?:the\s+)?(?:carrier|courier)(?:'s|s'|s)?\s+(?:hands|possession|network|system)",
    r"handed\s+(?:over\s+)?to\s+(?:the|a|your|our)\s+(?:carrier|courier|driver)",
    r"picked\s+up", r"collected\s+by",
    r"left\s+(?:our|the)\s+(?:warehouse|fulfil?ment\s+cent(?:re|er)|facility|depot|building|premises)",
    r"went\s+out", r"gone\s+out", r"sent\s+out",
    r"sent\s+(?:it|them|your\s+(?:order|package|parcel|items?|shipment|box))",
    *(rf"{aux}\s+sent(?!\s+(?:you|a|an|the\s+(?:email|message|link))\s)" for aux in _SENT_AUX),
    *(name + _HAS_IT for name in _CARRIER_NAMES),
    tail="(?![a-z])",
)  # fmt: skip
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
_CLAUSE_CUT = ".!?;:\n,(—"
_FILLERS = frozenset(
    [
        "yet",
        "been",
        "be",
        "being",
        "have",
        "has",
        "had",
        "already",
        "actually",
        "all",
        "also",
        "then",
        "only",
        "likely",
        "probably",
        "soon",
        "usually",
        "normally",
        "automatically",
        "now",
        "safely",
        "still",
        "is",
        "are",
        "gets",
        "get",
        "becomes",
        "become",
    ]
)
_PRESENT_AUX = frozenset(["is", "are", "has", "have", "gets", "get", "becomes", "become"])
_NEGATIONS = frozenset(["not", "never", "cannot", "without", "nor"])
_MODALS = frozenset(["will", "shall", "would", "should", "could", "can", "may", "might", "must", "to"])
_SUBORDINATORS = frozenset(["once", "when", "whenever", "after", "before", "until", "till", "unless", "if"])
_BE_FORMS = frozenset(["is", "are", "was", "were", "been"])


def _subordinator(words: list[str], i: int) -> bool:
    return words[i] in _SUBORDINATORS or (words[i] == "as" and words[max(0, i - 2) : i] == ["as", "soon"])


def _hedged(low: str, start: int, with_phrase: bool) -> bool:
    """The words right before a "shipped"-type phrase negate it ("hasn't", "not yet"), put it in the
    future ("will be", "to be", "expected to") or in a condition ("once it has", "when it is")."""
    lo = max(0, start - 100)
    cut = max(low.rfind(c, lo, start) for c in _CLAUSE_CUT)
    words = _TOKEN_RE.findall(low, max(lo, cut + 1), start)
    j = len(words) - 1
    saw_aux = saw_be = False
    while j >= 0 and words[j] in _FILLERS:
        saw_aux |= words[j] in _PRESENT_AUX
        saw_be |= words[j] in _BE_FORMS
        j -= 1
    if j < 0:
        return with_phrase  # "with the carrier" is a claim only after "is"/"was"/"'s"
    w = words[j]
    if w in _NEGATIONS or w in _MODALS or w.endswith(("n't", "'ll", "'d")) or _subordinator(words, j):
        return True
    if w == "longer" and j and words[j - 1] == "no":
        return True
    if with_phrase and not (saw_be or w in _BE_FORMS or w.endswith("'s")):
        return True
    if w.endswith(("'s", "'ve")):
        saw_aux = True  # "once it's shipped", "once we've dispatched"
        j += 1
    return saw_aux and any(_subordinator(words, t) for t in range(j - 1, max(-1, j - 4), -1))


_CLAUSE_SPLIT_RE = re.compile(
    r"[.!?\n;]+|,\s*(?=(?:and|but|while|whereas|whilst|although|though|however|meanwhile|so)(?![a-z]))"
    r"|\s(?=(?:but|while|whereas|whilst|although|however|meanwhile)(?![a-z]))"
)
_PRONOUN_START_RE = re.compile(
    r"^\W*(?:(?:and|but|so|also|meanwhile)\s+)?(?:it|it's|this|that|they|they're|these|those|both|each|which|"
    r"the\s+(?:package|parcel|shipment|box|item|order|other\s+one|rest|remaining))(?![a-z])"
)


def _check_scans(orig: str, low: str, titled: str, facts: GuardrailFacts, out: list[str]) -> None:
    claims = [
        (m.start() + 1, m.end())
        for m in _POSITIVE_RE.finditer(low)
        if not _hedged(low, m.start() + 1, low.startswith("with", m.start() + 1))
    ]
    if not claims:
        return
    if not facts.any_physical_scan:
        for a, b in claims:
            out.append(f"shipped_before_scan: {_snippet(orig, a, b)} (no physical carrier scan on the order)")
        return
    # Names of what the carrier has not scanned: unscanned shipments' labels and items, pending items. A title
    # that is also in a scanned shipment (a split quantity) is ambiguous and left out.
    scanned_titles = {_lower(t.strip()) for s in facts.shipments if s.physically_scanned for t in s.item_titles}
    unscanned: dict[str, str] = {}
    for s in facts.shipments:
        if not s.physically_scanned:
            unscanned.setdefault(_lower(s.label.strip()), s.label)
            for t in s.item_titles:
                unscanned.setdefault(_lower(t.strip()), t)
    for t in facts.pending_item_titles:
        unscanned.setdefault(_lower(t.strip()), t)
    mentions = [
        (i, name)
        for key, name in unscanned.items()
        if key and key not in scanned_titles
        for i in _find_all(titled, key)
    ]
    if not mentions:
        return
    # Clause by clause: a claim in a clause that names an unscanned shipment or item is a violation; a clause
    # that starts with a pronoun ("It has shipped") is about what the clause before it named. Only the stretch
    # from the sentence before the first claim to the end of the last claim's sentence is split.
    lo = _sentence_start(low, _sentence_start(low, claims[0][0]) - 1)
    ends = [i for i in (low.find(c, claims[-1][1]) for c in ".!?\n") if i >= 0]
    hi = min(ends) + 1 if ends else len(low)
    bounds = [lo, *(m.end() for m in _CLAUSE_SPLIT_RE.finditer(low, lo, hi)), hi]
    pending = iter(claims)
    claim = next(pending, None)
    previous: set[str] = set()
    for a, b in itertools.pairwise(bounds):
        if claim is None:
            break
        clause = low[a:b]
        if not clause.strip():
            continue
        names = {name for i, name in mentions if a <= i < b}
        if not names and _PRONOUN_START_RE.search(clause):
            names = previous
        while claim is not None and claim[0] < b:
            if claim[0] >= a and names:
                what = f"{_snippet(orig, *claim)} about {', '.join(map(_quote, sorted(names)))}"
                out.append(f"shipped_before_scan: {what}, which the carrier has not scanned")
            claim = next(pending, None)
        previous = names


# --------------------------------------------------------------------------------------------------
# Split shipments
# --------------------------------------------------------------------------------------------------


def _check_split(orig: str, facts: GuardrailFacts, out: list[str]) -> None:
    flat = _lower(" ".join(orig.split()))
    missing: list[str] = []
    for s in facts.shipments:
        label = _lower(" ".join(s.label.split()))
        if label and next(_find_all(flat, label), None) is None:
            missing.append(f"shipment {_quote(s.label)}")
        for t in s.item_titles:
            if _lower(" ".join(t.split())) not in flat:
                missing.append(f"item {_quote(t)} of {_quote(s.label)}")
    for t in facts.pending_item_titles:
        if _lower(" ".join(t.split())) not in flat:
            missing.append(f"pending item {_quote(t)}")
    if missing:
        out.append("split_not_itemised: missing " + "; ".join(dict.fromkeys(missing)))


# --------------------------------------------------------------------------------------------------
# Unapproved promises
# --------------------------------------------------------------------------------------------------

# Someone on our side doing it: "I'll", "we have", "let me", "a teammate will", "our team can" ...
_SUBJ = (
    r"(?:i'(?:ll|ve|d|m)|we'(?:ll|ve|d|re)|let's|they'(?:ll|ve|re)|(?:i|we|let\s+me|let\s+us|a\s+teammate|"
    r"a\s+colleague|our\s+team|the\s+team|someone|they)(?![a-z0-9']))"
)
# ... then auxiliaries and adverbs, never a negation ("I can't", "we are unable to" do not match).
_AUX = (
    r"(?:\s+(?:will|shall|can|could|would|am|are|is|have|has|had|be|been|being|going\s+to|able\s+to|happy\s+to|"
    r"glad\s+to|about\s+to|trying\s+to|(?:go|gone|going|went)\s+ahead\s+and|just|already|now|also|then|"
    r"immediately|happily|gladly|personally|definitely|certainly|quickly|right\s+away|today|to|get|got|"
    r"make\s+sure\s+to|make\s+sure\s+(?:i|we)|arrange\s+to|and|still|currently|fully|want\s+to|"
    r"would\s+like\s+to|like\s+to|need\s+to|'ll|'ve))*"
)
# "your refund request", "a replacement for review": the noun of a request, not the action.
_NOT_A_PROMISE = (
    r"(?!\s+(?:requests?|review|policy|options?|eligibility|form|application|claim|case|ticket|for\s+review))"
)
# "... has been", "... is now", "it's been", "it'll be"
_BE = (
    r"(?:\s+(?:has|have|is|are|will)|'s|'ll|'ve)(?:\s+(?:been|be|now|already|being|also|just|successfully|"
    r"fully|all))*\s+"
)
_YOU_GET = (
    r"you(?:'ll|'re|\s+will|\s+are|\s+should|\s+can\s+expect\s+to|\s+are\s+going\s+to|'re\s+going\s+to)"
    r"(?:\s+(?:now|also|soon|then|be))*\s+(?:receive|receiving|get|getting|see|seeing)\s+(?:a|your|the|an)\s+"
)


def _promise(pattern: str) -> re.Pattern[str]:
    """A promise regex, matched at the start of a word like :func:`_words` (the word starts one later)."""
    return re.compile("[^a-z0-9](?:" + pattern + ")")


_PROMISE_RES: dict[str, re.Pattern[str]] = {
    "refund": _promise(
        rf"{_SUBJ}{_AUX}\s+(?:(?:refund(?:ed|ing|s)?|reimburs[a-z]*){_NOT_A_PROMISE}"
        r"|credit(?:ed|ing)?\s+(?:you|your|the|it|back)(?![a-z])"
        r"|(?:issu|process|initiat|approv|arrang|send|sent|giv|gave|start|submit|authori[sz]|put\s+through|"
        r"appl(?:y|ie|yi)|complet|finali[sz]|confirm|queu|get|got|sort|organi[sz]|trigger|rais|pay|paid)[a-z]*"
        rf"\s+(?:[a-z]+\s+){{0,3}}?(?:refund|reimbursement|credit|money\s+back){_NOT_A_PROMISE})"
        r"|(?:your|the|a|an|this|that)\s+(?:full\s+|partial\s+)?(?:refund|reimbursement)"
        r"(?:\s+(?:has|have|had|was|is|are|will)|'s|'ll)(?:\s+(?:been|be|now|already|being|also|just|"
        r"successfully))*\s+(?:processed|issued|approved|initiated|sent|completed?|submitted|on\s+(?:its|the)\s+way|"
        r"coming|confirmed|granted|arranged|underway|in\s+progress|done|queued|scheduled|going\s+through|"
        r"heading|back|paid|credited)"
        r"|you(?:'ll|'ve|'re|\s+will|\s+have|\s+are|\s+were|\s+should|'d)?(?:\s+(?:now|already|also|soon|then|"
        r"be|been|being|get|getting))*\s+(?:refunded|reimbursed|credited)(?![a-z])"
        rf"|{_YOU_GET}(?:full\s+|partial\s+)?(?:refund|credit|reimbursement|money\s+back)"
        r"|you(?:'ll|\s+will)\s+(?:get|have)\s+your\s+money\s+back"
        r"|(?:refund|reimbursement)\s+(?:issued|processed|approved|initiated|sent|completed|submitted|confirmed|"
        r"granted|arranged|done|paid)"
        r"|consider\s+(?:it|this|that|your\s+order|the\s+order)\s+refunded"
    ),
    "replacement": _promise(
        rf"{_SUBJ}{_AUX}\s+(?:(?:replac(?:e|ed|ing)|resend[a-z]*|resent|re-?ship[a-z]*){_NOT_A_PROMISE}"
        r"|(?:send|sent|ship|shipp[a-z]*|dispatch[a-z]*|mail[a-z]*|arrang[a-z]*|issu[a-z]*|order[a-z]*|"
        r"process[a-z]*|creat[a-z]*|set\s+up|put\s+through|get|got|approv[a-z]*|organi[sz][a-z]*|queu[a-z]*|"
        r"start[a-z]*|initiat[a-z]*|rais[a-z]*)"
        r"\s+(?:you\s+|out\s+)?(?:[a-z]+\s+){0,3}?(?:replacement|new\s+one|another\s+one|"
        rf"new\s+(?:item|unit|package|parcel|pair|copy|order)){_NOT_A_PROMISE}"
        r"|(?:send|ship|dispatch|mail)[a-z]*\s+(?:you\s+)?another\s+(?:one|unit|item|pair|copy|package|parcel))"
        r"|(?:your|the|a|an|this|that)\s+(?:new\s+|free\s+)?replacement(?:\s+(?:order|item|unit|package|parcel))?"
        r"(?:\s+(?:has|have|had|was|is|are|will)|'s|'ll)(?:\s+(?:been|be|now|already|being|also|just|"
        r"successfully))*\s+(?:processed|issued|approved|initiated|sent|shipped|dispatched|arranged|created|"
        r"ordered|on\s+(?:its|the)\s+way|coming|confirmed|granted|underway|in\s+progress|queued|scheduled|"
        r"heading|prepared|ready|set\s+up|placed)"
        rf"|{_YOU_GET}(?:new\s+|free\s+)?(?:replacement|new\s+one)"
        r"|replacement\s+(?:issued|processed|approved|initiated|sent|shipped|dispatched|ordered|confirmed|arranged|"
        r"created|placed)"
    ),
    "cancellation": _promise(
        rf"{_SUBJ}{_AUX}\s+(?:cancel(?:l?ed|l?ing|s)?{_NOT_A_PROMISE}"
        r"|(?:process|confirm|complet|submit|finali[sz]|put\s+through|queu|action|approv|arrang|get|got|start|"
        rf"initiat)[a-z]*\s+(?:[a-z]+\s+){{0,3}}?cancell?ation{_NOT_A_PROMISE})"
        rf"|(?:order|orders|item|items|shipment|package|purchase|subscription|it|this|that){_BE}cancell?ed(?![a-z])"
        rf"|cancell?ation{_BE}(?:processed|confirmed|completed?|done|approved|submitted|queued|through|"
        r"successful|underway|in\s+progress)"
        r"|get\s+(?:it|that|this|them|your\s+order|the\s+order)\s+cancell?ed"
        r"|consider\s+(?:it|this|that|your\s+order|the\s+order)\s+cancell?ed"
        r"|cancell?ation\s+(?:confirmed|processed|completed|done|approved|submitted)"
    ),
    "address_change": _promise(
        rf"{_SUBJ}{_AUX}\s+(?:(?:updat|chang|correct|amend|edit|fix|modif|switch|sav|replac|add|enter|record)"
        r"[a-z]*\s+(?:[a-z]+\s+){0,2}?(?:shipping\s+|delivery\s+|mailing\s+|new\s+)?(?:address|"
        rf"delivery\s+details|shipping\s+details){_NOT_A_PROMISE}|redirect[a-z]*|re-?rout[a-z]*|re-?address[a-z]*)"
        rf"|(?:your|the)\s+(?:new\s+)?(?:shipping\s+|delivery\s+|mailing\s+)?address{_BE}"
        r"(?:updated|changed|corrected|amended|modified|saved|fixed|switched|edited|on\s+file)"
        rf"|(?:package|parcel|shipment|order|it){_BE}(?:redirected|rerouted|re-routed|re-addressed)"
    ),
}
# Each action's regex can only match when one of these is in the text.
_PROMISE_GATES: dict[str, tuple[str, ...]] = {
    "refund": ("refund", "reimburs", "credit", "money back"),
    "replacement": ("replac", "resen", "reship", "re-ship", "new", "another"),
    "cancellation": ("cancel",),
    "address_change": ("address", "redirect", "rerout", "re-rout"),
}
# "I'll queue it", "we've actioned that": a promise of whatever action the text is about.
_GENERIC_PROMISE_RE = _promise(
    r"(?:i|we)(?:'ll|'ve|'m\s+going\s+to|\s+will|\s+have|\s+can|\s+am\s+going\s+to)(?:\s+(?:go\s+ahead\s+"
    r"and|gone\s+ahead\s+and|just|now|also|already))*\s+(?:queued?|process(?:ed)?|action(?:ed)?|put|sort(?:ed)?|"
    r"take(?:n)?\s+care\s+of|make|made|do|done|arranged?|approved?|confirm(?:ed)?)"
    r"\s+(?:it|that|this|them|those|the\s+change|that\s+change|this\s+change|the\s+request|your\s+request)(?![a-z])"
    r"(?!\s+(?:to|with|for|past|over|by|on\s+to)\s+(?:a\s+teammate|the\s+team|our\s+team|a\s+colleague|review))"
)
_GENERIC_VERBS = (
    "queue", "process", "action", "put", "sort", "care", "make", "made", " do", "done", "arrang", "approv", "confirm",
)  # fmt: skip
_ACTION_MENTION: dict[str, tuple[str, ...]] = {
    "refund": ("refund", "reimburs", "money back", "credit"),
    "replacement": ("replac", "resend", "reship", "re-ship"),
    "cancellation": ("cancel",),
    "address_change": ("address", "redirect", "rerout", "re-rout"),
}


def _check_promises(orig: str, low: str, facts: GuardrailFacts, out: list[str]) -> None:
    approved = facts.approved_actions
    for action, rx in _PROMISE_RES.items():
        if action in approved or not any(g in low for g in _PROMISE_GATES[action]):
            continue
        for m in rx.finditer(low):
            out.append(f"unapproved_promise: {_snippet(orig, m.start() + 1, m.end())} ({action} not approved)")
    if not any(v in low for v in _GENERIC_VERBS):
        return
    mentioned: list[str] | None = None
    for m in _GENERIC_PROMISE_RE.finditer(low):
        if mentioned is None:
            mentioned = [a for a, keys in _ACTION_MENTION.items() if any(k in low for k in keys)]
        phrase = _snippet(orig, m.start() + 1, m.end())
        if mentioned:
            out.extend(f"unapproved_promise: {phrase} ({a} not approved)" for a in mentioned if a not in approved)
        elif not approved:
            out.append(f"unapproved_promise: {phrase} (promises an unspecified action)")


# --------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------


def check_customer_text(text: str, facts: GuardrailFacts) -> list[str]:
    """Every SPEC §5 violation in ``text`` as ``"<code>: <explanation>"``; empty when it may be sent."""
    orig = " " + _normalise(text)  # every word, even the first, has a character before it (see _words)
    low = _lower(orig)
    prose = _blank_urls(low)  # links and e-mail addresses are not prose
    plain = _blank_titles(prose, facts)  # item titles are data
    out: list[str] = []
    _check_dates(orig, plain, facts, out)
    _check_windows(orig, plain, out)
    _check_restricted(orig, low, facts, out)
    _check_internal(orig, plain, out)
    _check_scans(orig, plain, prose, facts, out)
    if facts.split:
        _check_split(orig, facts, out)
    _check_promises(orig, plain, facts, out)
    if facts.restricted_hold:
        _check_hold(orig, out)
    return list(dict.fromkeys(out))
