"""The final guardrail over every customer-visible text (SPEC §5).

:func:`check_customer_text` returns one ``"<code>: <explanation>"`` string per violation; an empty list
means the text may be sent. A failing text is never sent (the caller turns it into an internal note and an
escalation), so every rule errs toward flagging: a false positive costs a review, a false negative puts an
invented date, an internal signal or an unapproved promise in front of a customer.

Codes: ``date_not_in_data``, ``generic_window``, ``restricted_term``, ``shipped_before_scan``,
``split_not_itemised``, ``unapproved_promise``, ``internal_signal``, ``hold_wording``.

Pure logic, on the hot path of every outgoing text, so the work is shaped by what ``re`` and ``str`` do
fast in C. Every regex is compiled at import and runs over one lower-cased, space-prefixed copy of the text;
word regexes start with the non-word character before the word so ``re`` can skip ahead (:func:`_words`).
The text's words (runs of a-z) and runs of digits are split out once, in C, from a one-byte-a-character
copy: a rule whose regex needs a word the text lacks is skipped with one set operation (:func:`_runs`),
dates are checked from the digit runs, and the costly promise regexes scan only the stretches around
their key words (:func:`_phrases_with`). Every shortcut finds exactly what the full scan would.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
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


_FOLDED = frozenset(map(chr, _TRANSLATE))
_ASCII_BYTES = bytes(range(128))


def _non_ascii(s: str) -> str:
    """The non-ASCII characters of ``s``, found in C from its UTF-8 bytes."""
    return s.encode("utf-8", "surrogatepass").translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass")


# Characters that NFKC leaves alone wherever they stand (no compatibility mapping, no combining class, and never
# the second of a composed pair): a text of these and ASCII is already in NFKC. Accented Latin letters,
# dashes, quotes and currency signs; tests/unit/test_guardrails.py checks the property.
_NFKC_STABLE = frozenset(
    c
    for c in map(chr, itertools.chain(range(0xA1, 0x180), range(0x2010, 0x205F), range(0x20A0, 0x20C1)))
    if unicodedata.normalize("NFKC", c) == c and not unicodedata.combining(c)
)


def _fold(text: str) -> tuple[str, str]:
    """:func:`_normalise` and the non-ASCII characters of the text before folding."""
    if text.isascii():
        return text, ""
    rest = _non_ascii(text)
    if not _NFKC_STABLE.issuperset(rest):
        text = unicodedata.normalize("NFKC", text)
        rest = _non_ascii(text)
    # str.translate with a dict looks up every character; most texts have nothing to fold ("—" is kept)
    if "`" in text or not _FOLDED.isdisjoint(rest):
        text = text.translate(_TRANSLATE)
    return text, rest


def _normalise(text: str) -> str:
    """Fold look-alike characters so a rule cannot be dodged by a curly quote or a zero-width space."""
    return _fold(text)[0]


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


def _blank_links(low: str) -> tuple[str, bool]:
    """``_URL_RE.sub(_blank, low)``, trying the regex only where "http" or "www." starts; and whether a link
    is glued to the letters before it ("seehttps://..."), which blanking cuts into a shorter word."""
    pieces: list[str] = []
    done = 0
    glued = False
    h, w = low.find("http"), low.find("www.")
    while h >= 0 or w >= 0:
        i = w if h < 0 else h if w < 0 else min(h, w)
        m = _URL_RE.match(low, i)
        pos = i + 1 if m is None else m.end()
        if m is not None:
            glued = glued or "a" <= low[i - 1 : i] <= "z"
            pieces += (low[done:i], " " * (pos - i))
            done = pos
        if 0 <= h < pos:
            h = low.find("http", pos)
        if 0 <= w < pos:
            w = low.find("www.", pos)
    if not pieces:
        return low, False
    pieces.append(low[done:])
    return "".join(pieces), glued


def _blank_urls(low: str) -> tuple[str, bool]:
    """``low`` with links and e-mail addresses blanked (offsets kept): a tracking link's dates, query keys
    and codes are not prose the customer is told. Also whether blanking cut a word short (see
    :func:`_blank_links`; an e-mail address and an item title never start or end inside a word)."""
    glued = False
    if "://" in low or "www." in low:
        low, glued = _blank_links(low)
    if "@" in low:
        low = _EMAIL_RE.sub(_blank, low)
    return low, glued


_LETTER_BYTES = bytes(c if 0x61 <= c <= 0x7A else 0x20 for c in range(256))
_DIGIT_BYTES = bytes(c if 0x30 <= c <= 0x39 else 0x20 for c in range(256))


_GATE_WORDS: set[bytes] = set()
"""Every word a rule looks for before running its regexes (filled by :func:`_runs`)."""


def _letter_runs(data: bytes) -> list[bytes]:
    """The words of ``data`` (a text, one byte a character): its maximal runs of the letters a-z, found in C.

    A regex that needs a whole word (one that starts after a non-letter and ends before one) can only match
    when that word is among them, so a rule whose words are all absent is skipped with one set operation
    (on the words in :data:`_GATE_WORDS`) instead of a search of the text."""
    return data.translate(_LETTER_BYTES).split()


def _digit_runs(data: bytes, low: str, plain: str) -> list[tuple[int, int]]:
    """(start, end) of every maximal run of the digits 0-9 in ``plain``: found in C from ``data``, ``low`` as
    one byte a character, leaving out the runs blanked in ``plain`` (blanking never cuts a run of digits)."""
    spans = []
    find = data.find
    pos = 0
    for run in data.translate(_DIGIT_BYTES).split():
        pos = find(run, pos)  # nothing but non-digits lies between the previous run and this one
        end = pos + len(run)
        if plain[pos] == low[pos]:
            spans.append((pos, end))
        pos = end
    return spans


def _runs(words: str | Iterable[str]) -> frozenset[bytes]:
    """``words`` (space-separated) as letter runs, registered in :data:`_GATE_WORDS`."""
    return _gate(frozenset(w.encode() for w in (words.split() if isinstance(words, str) else words)))


def _gate(runs: frozenset[bytes]) -> frozenset[bytes]:
    _GATE_WORDS.update(runs)
    return runs


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


@dataclass(frozen=True, slots=True)
class _OrderNames:
    """What the rules look for of an order's own names, worked out once per order (see :func:`_order_names`)."""

    title_keys: tuple[str, ...]
    """The longer item titles, lower case: blanked from the text (:func:`_blank_titles`)."""
    unscanned: tuple[tuple[str, str], ...]
    """(lower-case key, name) of what the carrier has not scanned (see :func:`_check_scans`)."""
    itemised: tuple[tuple[str, bool, str], ...]
    """(lower-case key with single spaces, whole word?, what is missing) of each shipment label and item a
    split reply must name (see :func:`_check_split`)."""


@lru_cache(maxsize=256)
def _order_names(shipments: tuple[ShipmentFacts, ...], pending: tuple[str, ...]) -> _OrderNames:
    titles = {t for s in shipments for t in s.item_titles} | set(pending)
    title_keys = tuple({_lower(t.strip()) for t in titles if " " in t.strip() or len(t.strip()) >= 10})
    # Names of what the carrier has not scanned: unscanned shipments' labels and items, pending items. A title
    # that is also in a scanned shipment (a split quantity) is ambiguous and left out.
    scanned_titles = {_lower(t.strip()) for s in shipments if s.physically_scanned for t in s.item_titles}
    unscanned: dict[str, str] = {}
    for s in shipments:
        if not s.physically_scanned:
            unscanned.setdefault(_lower(s.label.strip()), s.label)
            for t in s.item_titles:
                unscanned.setdefault(_lower(t.strip()), t)
    for t in pending:
        unscanned.setdefault(_lower(t.strip()), t)
    named = tuple((key, name) for key, name in unscanned.items() if key and key not in scanned_titles)
    itemised: list[tuple[str, bool, str]] = []
    for s in shipments:
        itemised.append((_flat_lower(s.label), True, f"shipment {_quote(s.label)}"))
        itemised += ((_flat_lower(t), False, f"item {_quote(t)} of {_quote(s.label)}") for t in s.item_titles)
    itemised += ((_flat_lower(t), False, f"pending item {_quote(t)}") for t in pending)
    return _OrderNames(title_keys, named, tuple(itemised))


def _flat_lower(s: str) -> str:
    return _lower(" ".join(s.split()))


def _blank_titles(low: str, order: _OrderNames) -> str:
    """``low`` with the order's longer item titles blanked (offsets kept): a title is data, so the "friday"
    in "Friday Night Mug" is not an invented date."""
    for key in order.title_keys:
        if key in low:
            for i in list(_find_all(low, key)):
                low = low[:i] + " " * len(key) + low[i + len(key) :]
    return low


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
# Every word _WDAY / _MON match, as letter runs (see _letter_runs).
_WEEKDAY_WORDS = _runs(
    "monday tuesday wednesday thursday friday saturday sunday mon tues tue wed thurs thur thu fri sat sun"
)
_MONTH_WORDS = _runs(_MONTH_NUM)
_NAME_WORDS = _WEEKDAY_WORDS | _MONTH_WORDS
_MONTH_WINDOW_HEAD = re.compile(
    r"(?<![a-z])(?:in|by|before|until|till|during|through|throughout|early|mid|late|around|end\s+of|"
    r"beginning\s+of|start\s+of|middle\s+of|(?:first|second)\s+half\s+of|(?:first|second|third|last)\s+week\s+of)"
    r"(?:\s*-\s*|\s+)(?:the\s+)?(?:(?:end|start|beginning|middle)\s+of\s+)?(?:early\s+|mid\s*-?\s*|late\s+)?$"
)
_CLOCK_WORD_RE = _words("noon", "midday", "midnight")
_CLOCK_WORDS = _runs("noon midday midnight")
_RANGE_STARTS = frozenset("-–—atsnr")  # "-", "to", "and", or an ordinal suffix before them
_RANGE_HEADS = ("-", "–", "—", "to", "and", "st", "nd", "rd", "th")
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


@lru_cache(maxsize=256)
def _by_month_day(allowed: frozenset[date]) -> dict[tuple[int, int], list[date]]:
    """The allowed dates by (month, day); shared between calls, so never modified."""
    by_md: dict[tuple[int, int], list[date]] = {}
    for d in allowed:
        by_md.setdefault((d.month, d.day), []).append(d)
    return by_md


class _Dates:
    """One pass over the digit runs of a text, finding every date form and checking it."""

    __slots__ = ("by_md", "low", "named", "orig", "out", "spans")

    def __init__(self, orig: str, low: str, allowed: frozenset[date], out: list[str]) -> None:
        self.orig, self.low, self.out = orig, low, out
        self.by_md = _by_month_day(allowed)
        self.spans: list[tuple[int, int]] = []
        self.named: set[int] = set()
        """Offsets of the weekday and month names inside :attr:`spans`."""

    def bad(self, a: int, b: int, why: str) -> None:
        snippet = self.orig[a:b].rstrip(" ,")
        if snippet.endswith(".") and not snippet[-2:-1].isdigit():
            snippet = snippet[:-1]  # "7 November." at the end of a sentence
        self.out.append(f"date_not_in_data: {_quote(snippet)} ({why})")

    def check(self, a: int, b: int, readings: Sequence[tuple[int, int, int | None]]) -> None:
        """The date written at [a, b) must be an allowed date under every reading, with its weekday (when a
        weekday name is written right before it)."""
        wd = None
        m = _WD_HEAD.search(self.low, a - 16 if a > 16 else 0, a)
        if m is not None:
            name, start = m.group(1), m.start(1)
            if name in _FULL_WEEKDAYS or self.orig[start].isupper():  # _weekday_ok
                a, wd = start, _WEEKDAY_NUM[name[:3]]
                self.named.add(a)
        self.spans.append((a, b))
        by_md = self.by_md
        for month, day, year in readings:
            if not (1 <= month <= 12 and 1 <= day <= _MAX_DAY[month - 1]) or (
                year is not None and not _valid(month, day, year)
            ):
                self.bad(a, b, "not a valid calendar date")
                return
            found = by_md.get((month, day), [])
            if year is not None:
                found = [d for d in found if d.year == year]
            why = None
            if not found:
                why = "not a date in the order data"
            elif wd is not None and wd not in map(date.weekday, found):
                actual = "/".join(sorted({WEEKDAYS[d.weekday()] for d in found}))
                why = f"weekday does not match the date, which is a {actual}"
            if why is not None:
                if len(readings) > 1:
                    why += "; a numeric date can be read two ways"
                self.bad(a, b, why)
                return

    def run(self, runs: Iterable[tuple[int, int]]) -> None:
        """``runs``: the (start, end) of every run of digits (``\\d+``) in the text, in order."""
        low, orig, out = self.low, self.orig, self.out
        skip_to = 0
        for s, e in runs:
            pc = low[s - 1] if s else " "
            if s < skip_to or pc.isalnum() or pc == "_":
                continue
            n = e - s
            nxt = low[e : e + 1]
            rest = low[e : e + 8].lstrip()
            after = rest[:1]  # next non-space character
            if (
                n <= 2
                and after in _RANGE_STARTS
                and (len(rest) < 3 or rest.startswith(_RANGE_HEADS))  # what _RANGE_DM_TAIL starts with
                and (r := _RANGE_DM_TAIL.match(low, e)) is not None
            ):
                out.append(f"generic_window: {_snippet(orig, s, r.end())} (date range)")
            if after == "h" and pc not in ".:" and (h := _HOURS_TAIL.match(low, e)) is not None:
                out.append(f"generic_window: {_snippet(orig, s, h.end())}")
            if n > 2 and (n != 4 or not nxt or nxt not in "-/."):
                continue  # only a year can start a date (one() would return None)
            end = self.one(s, e, n, pc, nxt, after)
            if end is not None:
                skip_to = end

    def one(self, s: int, e: int, n: int, pc: str, nxt: str, after: str) -> int | None:
        """Check the date that the digit run [s, e) starts or ends; return where the date ends."""
        low, orig = self.low, self.orig
        if n == 4 and nxt and nxt in "-/." and pc != "." and (t := _ISO_TAIL.match(low, e)) is not None:
            self.check(s, t.end(), ((int(t.group(2)), int(t.group(3)), int(low[s:e])),))
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
            and _month_ok(orig, m := t.start(1), month := t.group(1))
        ):
            self.named.add(m)
            end = t.end()
            self.check(s, end, ((_MONTH_NUM[month], int(low[s:e]), _year(t.group(2))),))
            return end
        if pc in " .\t\n" and s >= 4:
            h = _MD_HEAD.search(low, max(0, s - 16), s)
            if h is not None and _month_ok(orig, h.start(1), h.group(1)):
                t = _MD_TAIL.match(low, e)
                if t is not None:
                    day = int(low[s:e])
                    self.named.add(h.start(1))
                    self.check(h.start(1), t.end(), ((_MONTH_NUM[h.group(1)], day, _year(t.group(1))),))
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
                if h.group(1) is not None:
                    self.named.add(h.start(1))
                self.spans.append((h.start(), t.end()))
                self.bad(h.start(), t.end(), "a day of the month without the month; write the full date")
                return t.end()
        if (nxt == ":" or after in _AM_PM) and pc not in ".:" and (t := _TIME_TAIL.match(low, e)) is not None:
            self.bad(s, t.end(), "a time of day is never in customer text")
            return t.end()
        return None

    def covered(self, pos: int) -> bool:
        return any(a <= pos < b for a, b in self.spans)


def _names_at(low: str, names: Iterable[bytes]) -> list[tuple[int, str]]:
    """(offset, name) of every weekday or month name written as a word of its own in ``low``: a whole run
    of letters, not glued to a letter or digit in front."""
    found = []
    for raw in names:
        name = raw.decode()
        i = low.find(name)
        while i >= 0:
            if not (i and low[i - 1].isalnum()) and not ("a" <= low[i + len(name) : i + len(name) + 1] <= "z"):
                found.append((i, name))
            i = low.find(name, i + 1)
    found.sort()
    return found


def _check_dates(
    orig: str, low: str, words: set[bytes], digits: Iterable[tuple[int, int]], facts: GuardrailFacts, out: list[str]
) -> None:
    dates = _Dates(orig, low, facts.allowed_dates, out)
    dates.run(digits)
    # Weekday and month names outside the dates found above. Usually every name is one of the dates' own
    # (no name overlaps another, so counting them is enough to know).
    names = _NAME_WORDS.intersection(words)
    if names and sum(map(low.count, map(bytes.decode, names))) == len(dates.named):
        names = frozenset()
    for a, name in _names_at(low, names):
        if dates.covered(a):
            continue
        if name.encode() in _WEEKDAY_WORDS:
            if _weekday_ok(orig, a, name):
                dates.bad(a, a + len(name), "a weekday without a date is an invented relative date")
        elif _month_ok(orig, a, name) and (h := _MONTH_WINDOW_HEAD.search(low, max(0, a - 40), a)):
            dates.bad(h.start(), a + len(name), "a month without a day is an invented window")
    if not _CLOCK_WORDS.isdisjoint(words):
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
# A _GENERIC_RE match has one of these words: a unit, a relative word, or a number word written against its
# unit ("twodays", "threetofivedays").
_UNITS = ("day", "days", "hour", "hours", "hr", "hrs", "h", "week", "weeks", "wk", "wks", "month", "months")
_NUMBER_ENDS = (  # the last word of each of _NUM's number words
    "a", "an", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "fourteen", "fifteen", "twenty", "thirty", "few", "couple", "of", "several",
)  # fmt: skip
_GENERIC_RUNS = _runs(_UNITS) | _runs("tomorrow weekend today tonight eod cob business early overnight yesterday")
_NUMBER_RUNS = tuple(w.encode() for w in _NUMBER_ENDS)
_RANGE_RUNS = (b"to", b"or", b"and")
_GLUED_NUMBERS = (
    *_NUMBER_RUNS,  # "two"
    *map(b"".join, itertools.product(_RANGE_RUNS, _NUMBER_RUNS)),  # "tofive"
    *map(b"".join, itertools.product(_NUMBER_RUNS, _RANGE_RUNS, _NUMBER_RUNS)),  # "twotofive"
)
_GENERIC_WORDS = _GENERIC_RUNS | _gate(
    frozenset(map(b"".join, itertools.product(_GLUED_NUMBERS, (u.encode() for u in _UNITS))))
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
# A _CONTEXT_WINDOW_RE match ends with one of these words.
_CONTEXT_RUNS = _runs("today tonight shortly morning afternoon evening day")
_WINDOW_WORDS = _GENERIC_WORDS | _CONTEXT_RUNS  # _check_windows needs one of these
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


def _check_windows(orig: str, low: str, words: set[bytes], out: list[str]) -> None:
    if not _GENERIC_WORDS.isdisjoint(words) and any(k in low for k in _GENERIC_GATE):
        for m in _GENERIC_RE.finditer(low):
            out.append(f"generic_window: {_snippet(orig, m.start() + 1, m.end())}")
    if _CONTEXT_RUNS.isdisjoint(words) or not any(w in low for w in _CONTEXT_WORDS):
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
# A _RESTRICTED_RE match has one of these words, or a word starting "fraud", "internal" or "blam".
_RESTRICTED_RUNS = _runs(
    "risk risks risky riskier riskiest payment payments charge chargeback chargebacks team teams compliance "
    "safety prevention supplier suppliers vendor vendors manufacturer manufacturers purchase po ponum ponumber "
    "declined messed screwed dropped botched"
)
_BLAME_RE = _words("fault", "mistake", "error")
_BLAME_RUNS = _runs("fault mistake error")
_BLAME_HEAD = re.compile(r"(?:(?<![a-z])(?:their|his|her|its)|(?<![a-z])[a-z]+(?:'s|s'))\s+$")
_PO_RE = re.compile(r"(?<![A-Za-z0-9])(?:PO\s*#|PO\s*\d|[Pp][Oo]-[A-Za-z0-9]+)")
_PO_RUNS = _runs("po")
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
# A _INTERNAL_RE match has one of these words ("pl" of "3pl").
_INTERNAL_RUNS = _runs(
    "sku skus code codes type types holdtype holdtypes confidence score condition recommended wms oms pl escalation key"
)
_SNAKE_RE = re.compile(r"(?<![\w/])[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+(?!\w)")
_RAW_VALUE_RE = re.compile(r"(?<![A-Za-z0-9])(?:null|undefined|NaN|None(?=\s*[,.)\]}]|\s*$))(?![A-Za-z0-9])")
_RAW_VALUE_RUNS = _runs("null undefined nan none")
_PLACEHOLDER_RE = re.compile(r"\{\{?[^{}\n]{0,60}\}\}?|\$\{|<[A-Z_]{2,}>|%\(\w+\)s")


@lru_cache(maxsize=256)
def _terms_re(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    parts = sorted(
        (r"\s+".join(re.escape(w) for w in _lower(t).split()) for t in terms if t.strip()), key=len, reverse=True
    )
    if not parts:
        return None
    return re.compile("[^a-z0-9](?:" + "|".join(parts) + r")(?![a-z0-9])")


def names_policy_term(text: str, terms: tuple[str, ...]) -> bool:
    """Whether the guardrail would read ``text`` as naming one of the policy's ``restricted_terms`` (folded,
    case-insensitive, whole words): what text built from data (a carrier location) leaves out."""
    rx = _terms_re(tuple(_normalise(t) for t in terms)) if terms else None
    return rx is not None and rx.search(" " + _lower(_normalise(text))) is not None


def _check_restricted(orig: str, low: str, words: set[bytes], facts: GuardrailFacts, out: list[str]) -> None:
    if (not _RESTRICTED_RUNS.isdisjoint(words) or "fraud" in low or "internal" in low or "blam" in low) and any(
        k in low for k in _RESTRICTED_GATE
    ):
        for m in _RESTRICTED_RE.finditer(low):
            out.append(f"restricted_term: {_snippet(orig, m.start() + 1, m.end())}")
    if not _BLAME_RUNS.isdisjoint(words):
        for m in _BLAME_RE.finditer(low):
            a = m.start() + 1
            h = _BLAME_HEAD.search(low, max(0, a - 24), a)
            if h is not None:
                out.append(f"restricted_term: {_snippet(orig, h.start(), m.end())} (blame)")
    if not _PO_RUNS.isdisjoint(words) and ("PO" in orig or "po-" in low):
        for m in _PO_RE.finditer(orig):
            out.append(f"restricted_term: {_snippet(orig, m.start(), m.end())}")
    if facts.restricted_terms:
        extra = _terms_re(tuple(_normalise(t) for t in facts.restricted_terms))
        if extra is not None:
            for m in extra.finditer(low):
                out.append(f"restricted_term: {_snippet(orig, m.start() + 1, m.end())} (policy term)")


def _check_internal(orig: str, low: str, words: set[bytes], out: list[str]) -> None:
    if not _INTERNAL_RUNS.isdisjoint(words) and any(k in low for k in _INTERNAL_GATE):
        for m in _INTERNAL_RE.finditer(low):
            out.append(f"internal_signal: {_snippet(orig, m.start() + 1, m.end())}")
    if "_" in low:
        for m in _SNAKE_RE.finditer(low):
            out.append(f"internal_signal: {_snippet(orig, m.start(), m.end())} (raw code)")
    if not _RAW_VALUE_RUNS.isdisjoint(words) and (
        "null" in orig or "undefined" in orig or "NaN" in orig or "None" in orig
    ):
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
# A _POSITIVE_RE match has one of these words.
_POSITIVE_RUNS = _runs(
    "shipped dispatched despatched delivered scanned route transit delivery way carrier courier driver partner "
    "ups usps fedex dhl mail parcelforce evri hermes dpd gls yodel ontrac lasership purolator post postnl poste "
    "logistics service office hands possession network system handed picked collected left went gone sent"
)
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
_LAST_CUT_RE = re.compile(r"(?s:.*)[.!?;:\n,(—]")  # up to the last clause cut: a backward search
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
    cut = _LAST_CUT_RE.match(low, lo, start)
    words = _TOKEN_RE.findall(low, lo if cut is None else cut.end(), start)
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
_CLAUSE_WORDS = frozenset(b"and but while whereas whilst although though however meanwhile so".split())
_CLAUSE_STOP_RE = re.compile(r"[.!?\n;]+")  # _CLAUSE_SPLIT_RE in a text without _CLAUSE_WORDS
_PRONOUN_START_RE = re.compile(
    r"^\W*(?:(?:and|but|so|also|meanwhile)\s+)?(?:it|it's|this|that|they|they're|these|those|both|each|which|"
    r"the\s+(?:package|parcel|shipment|box|item|order|other\s+one|rest|remaining))(?![a-z])"
)


def _check_scans(
    orig: str, low: str, titled: str, words: set[bytes], order: _OrderNames, facts: GuardrailFacts, out: list[str]
) -> None:
    if _POSITIVE_RUNS.isdisjoint(words):
        return
    mentions: list[tuple[int, str]] = []
    if facts.any_physical_scan:
        # after a physical scan only a claim about something unscanned can fail: skip when none is named
        mentions = [(i, name) for key, name in order.unscanned for i in _find_all(titled, key)]
        if not mentions:
            return
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
    # Clause by clause: a claim in a clause that names an unscanned shipment or item is a violation; a clause
    # that starts with a pronoun ("It has shipped") is about what the clause before it named. Only the stretch
    # from the sentence before the first claim to the end of the last claim's sentence is split.
    lo = _sentence_start(low, _sentence_start(low, claims[0][0]) - 1)
    ends = [i for i in (low.find(c, claims[-1][1]) for c in ".!?\n") if i >= 0]
    hi = min(ends) + 1 if ends else len(low)
    stretch = _letter_runs(low[lo:hi].encode("latin-1", "replace"))
    split = _CLAUSE_STOP_RE if _CLAUSE_WORDS.isdisjoint(stretch) else _CLAUSE_SPLIT_RE
    bounds = [lo, *(m.end() for m in split.finditer(low, lo, hi)), hi]
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


def _check_split(low: str, order: _OrderNames, out: list[str]) -> None:
    flat = " ".join(low.split())  # the same as _flat_lower(orig): low is orig lower-cased
    missing: list[str] = []
    for key, whole_word, what in order.itemised:
        named = (not key or next(_find_all(flat, key), None) is not None) if whole_word else key in flat
        if not named:
            missing.append(what)
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
# Every match of an action's regex holds one of these (see _phrases_with).
_PROMISE_WORDS: dict[str, tuple[str, ...]] = {
    "refund": ("refund", "reimburs", "credit", "money"),
    "replacement": ("replac", "resen", "ship", "new", "another"),
    "cancellation": ("cancel",),
    "address_change": ("address", "details", "redirect", "rout"),
}
# Each action's regex runs only when one of these is in the text (or one of the words is among its words),
# a quicker first test that holds whenever both _PROMISE_GATES and the regex do.
_PROMISE_HINTS: dict[str, tuple[tuple[str, ...], frozenset[bytes]]] = {
    "refund": (("refund", "reimburs", "credit"), _runs("money")),
    "replacement": (("replac", "resen", "reship", "re-ship"), _runs("new another")),
    "cancellation": (("cancel",), frozenset()),
    "address_change": (("address", "redirect", "rout"), frozenset()),
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
_DO = _runs("do")
# A _GENERIC_PROMISE_RE match has one of these verbs.
_GENERIC_VERB_RUNS = _runs(
    "queue queued process processed action actioned put sort sorted care make made do done arrange arranged "
    "approve approved confirm confirmed"
)
_ACTION_MENTION: dict[str, tuple[str, ...]] = {
    "refund": ("refund", "reimburs", "money back", "credit"),
    "replacement": ("replac", "resend", "reship", "re-ship"),
    "cancellation": ("cancel",),
    "address_change": ("address", "redirect", "rerout", "re-rout"),
}


_PHRASE_RUN_RE = re.compile(r"[a-z\s'-]*")


def _phrases_with(low: str, needles: Iterable[str]) -> list[tuple[int, int]]:
    """Stretches of ``low`` that together hold every occurrence of ``needles``, each from and up to a
    character no promise phrase spans (anything but a-z, white space, ``'`` and ``-``), in order and merged.

    A promise regex matches at such a character or at a word after one and spans only those characters, so
    scanning from one such character to another finds exactly the matches of a scan of the whole text that
    lie there (the last one ends every lookahead the same way the end of the scan does)."""
    spans = []
    for needle in needles:
        i = low.find(needle)
        while i >= 0:
            lo = max(low.rfind(".", 0, i), low.rfind(",", 0, i), 0)
            run = _PHRASE_RUN_RE.match(low, i)  # a "*" pattern: it always matches
            hi = run.end() if run else i
            spans.append((lo, hi))
            i = low.find(needle, hi)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def _check_promises(
    orig: str, low: str, words: set[bytes], blanked: bool, facts: GuardrailFacts, out: list[str]
) -> None:
    """``blanked``: ``low`` has links or titles blanked, so ``words`` may hold words it lacks."""
    approved = facts.approved_actions
    for action, rx in _PROMISE_RES.items():
        if action in approved:
            continue
        hints, hint_words = _PROMISE_HINTS[action]
        hint = None
        for h in hints:
            if h in low:
                hint = h
                break
        if hint is None and hint_words.isdisjoint(words):
            continue
        gates = _PROMISE_GATES[action]
        if hint not in gates and not any(g in low for g in gates):
            continue
        for lo, hi in _phrases_with(low, _PROMISE_WORDS[action]):
            for m in rx.finditer(low, lo, hi):
                out.append(f"unapproved_promise: {_snippet(orig, m.start() + 1, m.end())} ({action} not approved)")
    verbs = _GENERIC_VERB_RUNS.intersection(words)
    if not verbs:
        return
    # Each verb but "do" holds one of _GENERIC_VERBS. It is a word of low unless low has blanks, which
    # ``words`` may still hold.
    others = verbs - _DO
    if not (others and (not blanked or any(v.decode() in low for v in others))) and not any(
        v in low for v in _GENERIC_VERBS
    ):
        return
    mentioned: list[str] | None = None
    for lo, hi in _phrases_with(low, (v.decode() for v in verbs)):
        for m in _GENERIC_PROMISE_RE.finditer(low, lo, hi):
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
    folded, non_ascii = _fold(text)
    orig = " " + folded  # every word, even the first, has a character before it (see _words)
    if non_ascii.lower() == non_ascii:  # only A-Z change case: lower-case the UTF-8 bytes, in C
        low = orig.encode("utf-8", "surrogatepass").lower().decode("utf-8", "surrogatepass")
    else:
        low = _lower(orig)
    data = low.encode("latin-1", "replace")  # one byte a character: offsets in it are offsets in low
    order = _order_names(facts.shipments, facts.pending_item_titles)
    prose, glued = _blank_urls(low)  # links and e-mail addresses are not prose
    plain = _blank_titles(prose, order)  # item titles are data
    # The words of the texts the rules read, to skip a rule whose words are absent. Blanking only removes
    # words from ``plain``, except that it cuts a word glued to a link.
    runs = _letter_runs(data)
    if glued:
        runs += _letter_runs(plain.encode("latin-1", "replace"))
    words = _GATE_WORDS.intersection(runs)
    if "\u0130" in non_ascii:
        # "İ" lower-cases to "i" and a dot: the rules that read orig must not trust the words of low
        words |= _RAW_VALUE_RUNS | _PO_RUNS
    if any(map(str.isdecimal, non_ascii)):  # digits other than 0-9, which \d matches too
        digits = [m.span() for m in _DIGITS_RE.finditer(plain)]
    else:
        digits = _digit_runs(data, low, plain)
    out: list[str] = []
    _check_dates(orig, plain, words, digits, facts, out)
    if not _WINDOW_WORDS.isdisjoint(words):
        _check_windows(orig, plain, words, out)
    _check_restricted(orig, low, words, facts, out)
    _check_internal(orig, plain, words, out)
    if not _POSITIVE_RUNS.isdisjoint(words):
        _check_scans(orig, plain, prose, words, order, facts, out)
    if facts.split:
        _check_split(low, order, out)
    _check_promises(orig, plain, words, plain is not low, facts, out)
    if facts.restricted_hold:
        _check_hold(orig, out)
    return list(dict.fromkeys(out))
