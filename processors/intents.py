"""Intents and order numbers recognised in a customer message (SPEC §2, §5; EVENTS.md ``ticket.message``).

Pure phrase matching over the customer's own words: quoted e-mail history is ignored and the text is
data, never instructions — these functions only report what the phrases say. Guarantees: deterministic,
never raise on any ``str`` input, bounded work (only the first ``MAX_CHARS`` characters are read; all
regexes are precompiled, with no nested unbounded repetition), and ``recognise_intents`` always
contains ``"status_request"``. A negated request ("I do NOT want to cancel", "no refund needed") does
not count.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final, Literal, TypeVar

_T = TypeVar("_T")

Intent = Literal["status_request", "not_received", "cancel", "change_address", "refund_or_replacement"]
Resolution = Literal["refund", "replacement"]

MAX_CHARS: Final = 8000
"""Only this many leading characters of a message are examined (bounds the cost per event)."""

_STATUS_ONLY: Final[frozenset[Intent]] = frozenset({"status_request"})
_APOSTROPHES: Final = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'"})

# --- quoted e-mail history -------------------------------------------------------------------------
_QUOTE_CUT = re.compile(
    r"^[ \t]*-{2,}[ \t]*(?:original|forwarded)[ \t]+message[ \t]*-{2,}"
    r"|^[ \t]*_{8,}[ \t]*$"
    r"|^[ \t]*from:[^\n]*\n(?:[^\n]*\n){0,3}?[ \t]*(?:sent|date):"
    r"|^--[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_REPLY_HEADER = re.compile(
    r"^[ \t]*on\b[^\n]*\bwrote:[ \t]*$|^[ \t]*on\b[^\n]*\n[^\n]*\bwrote:[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_QUOTED_LINE = re.compile(r"^[ \t]*>[^\n]*\n?", re.MULTILINE)
_NEXT_LINE = re.compile(r"\s*(\S)")
_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
_SPACES = re.compile(r"\s+")

# --- negation and clause helpers (text is lower-cased) ----------------------------------------------
_BOUNDARY_CHARS: Final = ".!?;,\n"
_BOUNDARY = re.compile(r"[.!?;,\n]")
_CLAUSE_WINDOW: Final = 80
_FILLER = (
    r"(?:want|wants|wanted|wanna|need|needs|needed|to|a|an|the|my|your|our|this|that|it|its|me|us|i|we|"
    r"you|think|going|gonna|ask|asking|request|requesting|looking|for|any|plan|planning|intend|intending|"
    r"would|like|wish|trying|try|have|be|get|getting|mean|really|actually|just|at|all|even|do|about|mind|"
    r"necessarily|anymore|expecting|expect|interested|in|seeking|demanding|process|processing|make|of)"
)
_NEG_BEFORE = re.compile(
    r"(?:(?<!why )(?<!if )\b(?:not|never|without|neither|nor|\w+n't|dont|didnt|doesnt|wont|wouldnt|"
    r"shouldnt|isnt|arent|wasnt|havent|hasnt|aint|no\s+need\s+(?:to|for)|no\s+longer|rather\s+not|"
    r"instead\s+of|rather\s+than)\s+(?:" + _FILLER + r"\s+){0,5}"
    r"|\bno\s+(?:more\s+|further\s+)?)$"
)
_NEG_AFTER = re.compile(
    r"\s*(?:(?:is|are|was|would\s+be|will\s+be)\s+)?(?:not|no\s+longer)\s+(?:needed|necessary|required|wanted)\b"
    r"|\s*(?:is|are|was)n'?t\s+(?:needed|necessary|required|wanted)\b"
)
_POLICY_BEFORE = re.compile(  # "do you offer refunds?" asks how the store works, it requests nothing
    r"\b(?:do|does|would|will|can)\s+(?:you|u|they|y'all|the\s+(?:store|shop))\s+(?:ever\s+|still\s+)?"
    r"(?:offer|give|do|accept|allow|provide|issue)\s+(?:any\s+|a\s+|full\s+|partial\s+)*$"
)
_POLICY_AFTER = re.compile(  # "what is your refund policy?", "how do refunds work?"
    r"\s+(?:policy|policies|process|terms|rules|window|period|work|works)\b"
)
_CONDITIONAL = re.compile(r"\b(?:if|unless|whether|in\s+case|once|what\s+if)\b")

# --- not received ------------------------------------------------------------------------------------
_NEG_AUX = (
    r"(?:(?:did|does|do|has|have|had|was|were|is|are)(?:n'?t|\s+not)|dont|didnt|havent|hasnt|never|"
    r"not\s+yet|yet\s+to|still\s+not|not)"
)
_RECEIVE = r"(?:rec(?:ei|ie|i|e)v(?:e|ed|d|ing)|get|got|gotten|gotton)"
_NOT_GOODS = (  # "I never got a reply" / "didn't receive the tracking e-mail" are not about the parcel
    r"(?!\s+(?:(?:a|an|any|the|my|your|our|some|one|single|shipping|shipment|delivery|order|dispatch|"
    r"proper|further|real)\s+){0,3}(?:tracking|track|updates?|e-?mails?|confirmations?|notifications?|"
    r"notices?|replies|reply|responses?|answers?|refunds?|money|info|information|messages?|texts?|sms|"
    r"codes?|numbers?|links?|invoices?|receipts?|calls?|word|news|charged|billed|notified|paid|credit|"
    r"status|to|why|what|how|through|help|hold|ahold|in\s+touch|back|chance)\b)"
)
_ARRIVE = (
    r"(?:arriv(?:e|ed)|come|came|show(?:n|ed)?\s+up|turn(?:ed)?\s+up|got\s+here|gotten\s+here|made\s+it|"
    r"reach(?:ed)?\s+(?:me|us)|delivered|landed)"
)
_NR_DENIAL = re.compile(  # explicit statements that the goods did not arrive
    rf"\b{_NEG_AUX}\s+(?:(?:i|we|even|ever|actually|really|yet|still|physically)\s+){{0,2}}{_RECEIVE}\b{_NOT_GOODS}"
    rf"|\b{_NEG_AUX}\s+(?:(?:even|ever|yet|still|actually|been|be)\s+){{0,2}}{_ARRIVE}\b"
    r"|\b(?:don'?t|do\s+not|didn'?t|did\s+not)\s+(?:(?:even|still|actually)\s+)?have\s+(?:it|them|anything|"
    r"(?:my|the)\s+(?:order|package|parcel|items?|stuff|delivery|shipment))\b"
    r"(?!\s*(?:number|no\b|#|id\b|details|info|confirmation|e-?mail))"
)
_NR_DENIAL_KEYS: Final = (
    "not",
    "n't",
    "never",
    "yet",
    "dont",
    "didnt",
    "doesnt",
    "havent",
    "hasnt",
    "hadnt",
    "wasnt",
    "werent",
    "isnt",
    "arent",
)
_YET = re.compile(r"\byet\b")
_MISDELIVERED = re.compile(
    r"\b(?:delivered|dropped(?:\s+off)?|left|went|gone)\s+(?:it\s+|them\s+|off\s+)?(?:to|at)\s+(?:the\s+|a\s+|an\s+)?"
    r"(?:wrong|incorrect|different)\s+(?:ad{1,2}res{1,2}|house|home|door|building|apartment|flat|person|unit)\b"
    r"|\bdelivered\s+(?:it\s+|them\s+)?to\s+(?:someone|somebody)\s+else\b"
)
_MISDELIVERED_KEYS: Final = ("wrong", "incorrect", "different", "else")
_NR_CLAIM_KEYS: Final = ("missing", "stole", "disappeared", "vanished", "lost")
_NR_CLAIM = re.compile(  # claims that stand on their own (negation-checked)
    r"\b(?:missing|stolen|disappeared|vanished)\b(?!\s+(?:something|anything|the\s+point|(?:a\s+|the\s+)?"
    r"(?:tracking|info|information|details)))"
    r"|\bstole\s+(?:it|them|my|our|the)\b"
    r"|\b(?:is|was|got|been|be|it's|its)\s+lost\b"
    r"|\blost\s+in\s+(?:the\s+)?(?:mail|post|transit)\b"
)
_NR_CLAIM_NONE = re.compile(  # "nothing is missing", "none of it was stolen": a negative subject denies the loss
    r"\b(?:nothing|nobody|no\s+one|no-one|none(?:\s+of\s+(?:it|them|the\s+\w+|my\s+\w+))?|no(?:\s+single)?\s+(?:items?|parts?|pieces?|one)|"
    r"not\s+(?:a\s+)?(?:single\s+)?(?:thing|item|piece|one))"
    r"(?:'s|\s+(?:is|was|are|were|seems?|seemed|appears?|appeared|looks?|looked|has\s+been|had\s+been|got|went))?"
    r"(?:\s+to\s+be)?\s*$"
)
_NR_WEAK = re.compile(  # only a claim when the text also says the order shows as delivered
    r"(?P<place>\bnot\s+(?:here|there|(?:at|on|in)\s+(?:my|the|our)\s+(?:front\s+)?(?:door|doorstep|porch|"
    r"house|home|mailbox|mail\s*box|building|apartment|flat|lobby|address|steps?))\b"
    r"|\b(?:is|was|are|were)n'?t\s+(?:here|there|anywhere)\b)"
    r"|\bnothing\s+(?:ever\s+)?(?:was\s+|is\s+|has\s+been\s+)?(?:here|there|at|on|in|by|outside|left|arrived|"
    r"came|delivered|showed\s+up|turned\s+up)\b"
    r"|\b(?:no|none\s+of\s+the|none\s+of\s+my)\s+(?:sign\s+of\s+(?:it|them|the|my|a|any)|(?:packages?|parcels?|"
    r"box(?:es)?|deliver(?:y|ies)|orders?|items?)\s+(?:ever\s+)?(?:here|there|at|on|in|anywhere|was|were|arrived|came|"
    r"showed\s+up|turned\s+up))\b"
    r"|\b(?:can'?t|cannot|couldn'?t|could\s+not|unable\s+to)\s+(?:find|locate)\b"
    r"|\bnowhere\s+to\s+be\s+(?:found|seen)\b"
)
_NR_WEAK_KEYS: Final = ("not", "n't", "nt here", "nt there", "nt anywhere", "no", "find", "locate")
_SELF_ABSENT = re.compile(
    r"\b(?:i|we|i'm|im|we're|i\s+am|we\s+are|i'll|we'll|i\s+will|we\s+will)\s+(?:be\s+|was\s+|were\s+)?$"
)
_SAYS_DELIVERED = re.compile(
    r"\b(?:says?|said|saying|shows?|showed|shown|showing|marked|marks|listed|lists|states?|stated|status|"
    r"claims?|claimed|confirms?|confirmed|apparently|supposedly|reportedly)\b\W{1,3}(?:[\w']+\W{1,3}){0,3}?"
    r"delivered\b"
    r"|\b(?:was|were|got|has\s+been|have\s+been|had\s+been)\s+(?:already\s+|apparently\s+|supposedly\s+)?"
    r"delivered\b"
    r"|\bdelivered\b[^.?!\n]{0,40}\bbut\b"
    r"|\b(?:proof|photo|picture|confirmation|notification|notice)\s+of\s+delivery\b"
    # "UPS says it was left on my porch": the carrier's delivery scan, in the customer's words
    r"|\b(?:was|were|got|been|being)\s+left\s+(?:on|at|by|in|outside|next\s+to)\b"
    r"|\bleft\s+(?:it\s+|them\s+)?(?:on|at|by|in|outside)\s+(?:my|the|our)\s+(?:front\s+|back\s+)?"
    r"(?:door|doorstep|porch|steps?|mailbox|mail\s*box|lobby|reception|garage|gate|building)\b"
    r"|\bdelivery\s+(?:photo|picture|confirmation|notification|notice)\b"
)

# --- cancel ------------------------------------------------------------------------------------------
_CANCEL = re.compile(
    r"\bcanc(?:el|le|ell)(?:ing|ling)?\b"
    r"|\bcanc(?:el|ell)ations?\b(?!\s+(?:e-?mail|notice|notification|message|confirmation|fee))"
    r"|\b(?:want|need|like|have|get|getting|be|please)\s+(?:it\s+|this\s+|that\s+|them\s+|"
    r"(?:the|my|this|that)\s+order\s+)?canc(?:el|ell|le)ed\b"
    r"|\bstop\s+(?:the|my|this)\s+(?:order|shipment|delivery)\b"
)
_CANCEL_KEYS: Final = ("canc", "stop")
_CANCEL_REJECT = re.compile(  # "why did you cancel my order?" asks about a cancellation, it requests none
    r"\bdid\s+(?:you|u|they|someone|somebody|anyone|y'all)\s+(?:just\s+|already\s+)?$"
    # "did the cancellation go through?", "has my cancellation been processed?": a status question
    r"|\b(?:did|has|have|was|is)\s+(?:the|my|your|our)\s+$"
    # "was my order cancelled?", "is it already canceled?"
    r"|\b(?:is|was|has|have)\s+(?:it|this|that|(?:my|the|our)\s+order)\s+(?:been\s+)?(?:already\s+)?$"
)

# --- change address ----------------------------------------------------------------------------------
_ADDR = r"ad{1,2}res{1,2}(?:es)?"
_CHANGE_ADDRESS = re.compile(
    rf"\b(?:chang|correct|fix|edit|amend|modif|alter|switch)\w*\s+(?:[\w'-]+\s+){{0,4}}?{_ADDR}\b"
    rf"|\bupdat\w*(?!\s+(?:on|about|regarding|re)\b)\s+(?:[\w'-]+\s+){{0,4}}?{_ADDR}\b"
    rf"|\b{_ADDR}\s+(?:change|changed|update|correction|has\s+changed|is\s+different|"
    r"(?:is|was)\s+(?:wrong|incorrect|outdated|old|out\s+of\s+date|not\s+(?:right|correct|current))|"
    r"(?:is|was)n'?t\s+(?:right|correct|current))\b"
    r"|\b(?:wrong|incorrect|old|outdated|previous|new|different|another|other|alternate|alternative|"
    rf"updated|current)\s+(?:(?:shipping|delivery|mailing|home|street|postal|work|office)\s+)?{_ADDR}\b"
    rf"|\b(?:typo|mistake|error|misspel\w*)\b[^.?!\n]{{0,30}}\b{_ADDR}\b"
    rf"|\b{_ADDR}\b[^.?!\n]{{0,30}}\b(?:typo|mistake|misspel\w*)\b"
    r"|\b(?:i|we|i've|ive|we've|weve|i\s+have|we\s+have|i\s+just|we\s+just|recently)\s+"
    r"(?:just\s+|recently\s+)?(?:moved|relocated)\b"
    r"|\bmov(?:ed|ing)\s+(?:house|home|out|apartments?|flats?|to\s+a\s+new)\b"
    r"|\b(?:i'm|im|i\s+am|we're|we\s+are)\s+moving\b"
    r"|\b(?:redirect|re-?route|re-?direct)\w*\b"
    r"|\b(?:ship|send|deliver|mail|forward)\w*\s+(?:[\w'-]+\s+){0,3}?to\s+(?:my|our|the|a|his|her|their)\s+"
    rf"(?:[\w'-]+\s+){{0,2}}?(?:{_ADDR}|office|work|workplace|house|home|place|apartment|flat|parents'?|"
    r"parent's|mom'?s|mum'?s|dad'?s|friend'?s|neighbou?r'?s|school|job|building)\b[^.?!\n]{0,40}?\binstead\b"
)

_CHANGE_ADDRESS_KEYS: Final = ("dres", "mov", "relocat", "direct", "rout", "instead")

# --- refund or replacement ---------------------------------------------------------------------------
_NOT_INFO = (
    r"(?!\s+(?:me\s+|us\s+)?(?:the\s+|a\s+|an\s+|my\s+|that\s+)?(?:tracking|link|e-?mail|confirmation|"
    r"invoice|receipt|code|message|number|info|update|text))"
)
_REFUND = re.compile(
    r"\bref(?:u|ou)nd\w*"
    r"|\bmoney\s+back\b|\bback\s+my\s+money\b|\bwant\s+my\s+money\b|\breturn\s+(?:of\s+)?my\s+money\b"
    r"|\breimburs\w*|\bcharge\s*-?\s*backs?\b"
)
_REFUND_KEYS: Final = ("ref", "money", "reimburs", "charge")
_REPLACEMENT_KEYS: Final = ("replac", "ship", "send", "sent", "mail", "new")
_REPLACEMENT = re.compile(
    r"\breplac(?:e|ed|es|ing|ement|ements|ment|emnt)\b"
    rf"|\bre-?ship\w*|\bre-?send\w*{_NOT_INFO}|\bre-sent\b{_NOT_INFO}"
    r"|\b(?:send|ship|mail|get|give|want|need)\s+(?:me\s+|us\s+)?(?:a\s+|another\s+)?(?:brand\s+)?new\s+"
    r"(?:one|package|parcel|item|order|shipment)\b"
    rf"|\b(?:send|ship|mail)\s+(?:me\s+|us\s+)?another\b{_NOT_INFO}"
    r"|\b(?:send|ship|mail)\s+(?:it|them|one|another|the\s+order|my\s+order)\s+(?:out\s+)?again\b"
)

# --- order numbers (matched on the original case) ----------------------------------------------------
_ORDER_TOKEN = r"((?:[a-z]{1,6}-?)?\d{3,11}(?:-\d{1,6})?)(?![\w-]|[/.,:]\d)"
_NOT_QUANTITY = (
    r"(?!\s*(?:pcs|pieces|units|items|x\b|%|dollars|usd|eur|gbp|bucks|kg|lbs?\b|g\b|ml\b|cm\b|mm\b|days|"
    r"weeks|months|years|hours|minutes))"
)
_BY_ORDER = re.compile(
    r"\borders?\s*(?:(?:number|num|no|nr|id|ref(?:erence)?)\b\.?\s*)?(?:(?:is|was)\b\s*|:\s*|#\s*){0,3}"
    + _ORDER_TOKEN
    + _NOT_QUANTITY,
    re.IGNORECASE,
)
_BY_HASH = re.compile(r"#\s?" + _ORDER_TOKEN + _NOT_QUANTITY, re.IGNORECASE)
_HASH_REJECT = re.compile(
    r"\b(?:tracking|track|phone|tel|mobile|cell|ticket|case|apt|apartment|suite|ste|unit|room|flat|item|sku|"
    r"product|model|part|invoice|po|box|house|building|floor|lot|route|claim|ref|reference)\s*"
    r"(?:number|num|no\.?|nr)?\s*$",
    re.IGNORECASE,
)


def _fresh_text(text: str) -> str:
    """The customer's own words: drop quoted e-mail history (``>`` lines, reply headers, Outlook blocks)."""
    if "\n" not in text:  # fast path: a one-line chat message has no quoted history
        return "" if text.lstrip().startswith(">") else text
    cut = _QUOTE_CUT.search(text)
    if cut is not None:
        text = text[: cut.start()]
    header = _REPLY_HEADER.search(text)
    if header is not None:
        rest = text[header.end() :]
        nxt = _NEXT_LINE.match(rest)
        # Bottom-posted replies keep the customer's text below the ">" block; otherwise cut at the header.
        text = text[: header.start()] + rest if nxt is not None and nxt.group(1) == ">" else text[: header.start()]
    return _QUOTED_LINE.sub("", text)


def _prepare(text: str) -> str:
    fresh = _fresh_text(text[:MAX_CHARS].translate(_APOSTROPHES)).lower()
    if "\n" in fresh:  # a blank line ends a sentence; a single newline is just a wrapped line
        fresh = _SPACES.sub(" ", _PARAGRAPH.sub(" . ", fresh))
    return fresh.strip()


def _has_any(text: str, keys: tuple[str, ...]) -> bool:
    """Cheap substring gate run before a pattern (every pattern needs one of its keys to match)."""
    return any(k in text for k in keys)


def _clause_before(text: str, start: int) -> str:
    lo = max(0, start - _CLAUSE_WINDOW)
    seg = text[lo:start]
    cut = max(seg.rfind(c) for c in _BOUNDARY_CHARS)
    return seg[cut + 1 :]


def _clause_after(text: str, end: int) -> str:
    seg = text[end : end + _CLAUSE_WINDOW]
    m = _BOUNDARY.search(seg)
    return seg if m is None else seg[: m.start()]


def _first_affirmed(
    pattern: re.Pattern[str], keys: tuple[str, ...], text: str, reject: re.Pattern[str] | None = None
) -> int:
    """Start of the first match not negated within its clause and not a question about the store's policy
    ("what is your refund policy?", "do you offer refunds?"), or -1."""
    if not _has_any(text, keys):
        return -1
    for m in pattern.finditer(text):
        before = _clause_before(text, m.start())
        if _NEG_BEFORE.search(before) is not None or _NEG_AFTER.match(text, m.end()) is not None:
            continue
        if reject is not None and reject.search(before) is not None:
            continue
        if _POLICY_BEFORE.search(before) is not None or _POLICY_AFTER.match(text, m.end()) is not None:
            continue
        return m.start()
    return -1


def _not_received(text: str) -> bool:
    says_delivered: bool | None = None
    for m in _NR_DENIAL.finditer(text) if _has_any(text, _NR_DENIAL_KEYS) else ():
        if _CONDITIONAL.search(_clause_before(text, m.start())) is not None:
            continue  # "if it hasn't arrived by Friday ..." is hypothetical
        if _YET.search(m.group(0)) is None and _YET.search(_clause_after(text, m.end())) is None:
            return True
        # "I haven't received it yet" is waiting, not a claim -- unless it also shows as delivered.
        if says_delivered is None:
            says_delivered = _SAYS_DELIVERED.search(text) is not None
        if says_delivered:
            return True
    if _has_any(text, _MISDELIVERED_KEYS) and _MISDELIVERED.search(text) is not None:
        return True
    for m in _NR_CLAIM.finditer(text) if _has_any(text, _NR_CLAIM_KEYS) else ():
        before = _clause_before(text, m.start())
        if (
            _NEG_BEFORE.search(before) is None
            and _CONDITIONAL.search(before) is None
            and not _NR_CLAIM_NONE.search(before)
        ):
            return True
    for m in _NR_WEAK.finditer(text) if _has_any(text, _NR_WEAK_KEYS) else ():
        before = _clause_before(text, m.start())
        if m.group("place") is not None and _SELF_ABSENT.search(before) is not None:
            continue  # "I'm not here next week" is about the customer, not the parcel
        if _CONDITIONAL.search(before) is not None:
            continue
        if says_delivered is None:
            says_delivered = _SAYS_DELIVERED.search(text) is not None
        return says_delivered
    return False


def _change_address(text: str) -> bool:
    # "delivered to the wrong address" is a not-received claim, not a request to change the address.
    if not _has_any(text, _CHANGE_ADDRESS_KEYS):
        return False
    if _has_any(text, _MISDELIVERED_KEYS):
        text = _MISDELIVERED.sub(" ", text)
    return _first_affirmed(_CHANGE_ADDRESS, _CHANGE_ADDRESS_KEYS, text) >= 0


def recognise_intents(text: str) -> frozenset[Intent]:
    """Intents in a customer message; always includes ``"status_request"`` (every contact is WISMO).

    ``not_received`` needs an explicit claim ("never got it", "it says delivered but nothing at my
    door"); "haven't received it yet" alone is waiting, i.e. only a status request.
    """
    if not isinstance(text, str) or not text:
        return _STATUS_ONLY
    t = _prepare(text)
    found: set[Intent] = {"status_request"}
    if _not_received(t):
        found.add("not_received")
    if _first_affirmed(_CANCEL, _CANCEL_KEYS, t, _CANCEL_REJECT) >= 0:
        found.add("cancel")
    if _change_address(t):
        found.add("change_address")
    if _first_affirmed(_REFUND, _REFUND_KEYS, t) >= 0 or _first_affirmed(_REPLACEMENT, _REPLACEMENT_KEYS, t) >= 0:
        found.add("refund_or_replacement")
    return frozenset(found)


_RECEIPT = re.compile(  # the customer says the goods reached them
    r"\b(?:i|we)\s+(?:have\s+|'ve\s+|just\s+|finally\s+|now\s+)?(?:received|got|picked\s+up|collected|found)"
    + _NOT_GOODS
    + r"\s+(?:it|them|the\s+\w+|my\s+\w+|our\s+\w+|everything)\b"
    r"|\b(?:it|they|the\s+\w+|my\s+\w+|our\s+\w+|everything)\s+(?:has\s+|have\s+|just\s+|finally\s+)?"
    r"(?:arrived|came|turned\s+up|showed\s+up)\b"
    r"|\bgot\s+it\b(?!\s+(?:yet|delivered|sent|shipped))"
)
_ASKS = re.compile(r"\?|\b(?:where|when|missing|still\s+waiting|only\s+(?:got|received))\b")
_NOT_YET = re.compile(r"\s*yet\b")
_RECEIPT_KEYS: Final = ("received", "got", "picked", "collected", "found", "arrived", "came", "turned", "showed")


def acknowledges_receipt(text: str) -> bool:
    """The customer says, without negation or condition, that the order reached them ("it arrived today,
    thanks", "we got the package"), and asks nothing: no question, no "where", "when" or "missing". Used to
    tell a thank-you after a delivery confirmation from a customer still looking for their parcel."""
    if not isinstance(text, str) or not text:
        return False
    t = _prepare(text)
    if _not_received(t) or _ASKS.search(t) is not None:
        return False  # "I got the mug, where is the kettle?" still asks for something
    for m in _RECEIPT.finditer(t) if _has_any(t, _RECEIPT_KEYS) else ():
        before = _clause_before(t, m.start())
        if (
            _NEG_BEFORE.search(before) is None
            and _CONDITIONAL.search(before) is None
            and _NOT_YET.match(t, m.end()) is None
        ):
            return True
    return False


def requested_resolution(text: str) -> Resolution | None:
    """``"refund"`` or ``"replacement"``, whichever the customer asks for first; ``None`` if neither.

    "a refund or a replacement" → ``"refund"`` (the first one mentioned); negated mentions are skipped,
    so "I don't want a refund, send a replacement" → ``"replacement"``.
    """
    if not isinstance(text, str) or not text:
        return None
    t = _prepare(text)
    refund = _first_affirmed(_REFUND, _REFUND_KEYS, t)
    replacement = _first_affirmed(_REPLACEMENT, _REPLACEMENT_KEYS, t)
    if refund < 0 and replacement < 0:
        return None
    if replacement < 0 or 0 <= refund < replacement:
        return "refund"
    return "replacement"


def _hash_numbers(text: str) -> list[tuple[int, str]]:
    """(position, number) of every "#" number that is not a tracking/phone/ticket/... number."""
    return [
        (m.start(), m.group(1))
        for m in _BY_HASH.finditer(text)
        if _HASH_REJECT.search(text, max(0, m.start() - 30), m.start()) is None
    ]


def _find_order_number(text: str) -> str | None:
    if "#" not in text and "order" not in text.lower():
        return None
    m = _BY_ORDER.search(text)
    if m is not None:
        return m.group(1)
    hashes = _hash_numbers(text)
    return hashes[0][1] if hashes else None


def _own_words_first(text: str, find: Callable[[str], _T]) -> _T | None:
    """``find`` over the customer's own words (quoted e-mail history cut off), then, when that finds nothing,
    over the whole text (bounded to ``MAX_CHARS``)."""
    if not isinstance(text, str) or not text:
        return None
    head = text[:MAX_CHARS].translate(_APOSTROPHES)
    fresh = _fresh_text(head)
    found = find(fresh)
    if not found and len(fresh) != len(head):
        found = find(head)
    return found


def _all_order_numbers(text: str) -> list[str]:
    if "#" not in text and "order" not in text.lower():
        return []
    found = [(m.start(), m.group(1)) for m in _BY_ORDER.finditer(text)] + _hash_numbers(text)
    return list(dict.fromkeys(number for _, number in sorted(found)))


def extract_order_numbers(text: str) -> tuple[str, ...]:
    """Every order number the customer wrote (by the rules of :func:`extract_order_number`), distinct, in the
    order written; the customer's own words before quoted e-mail history."""
    return tuple(_own_words_first(text, _all_order_numbers) or ())


def extract_order_number(text: str) -> str | None:
    """The order number the customer wrote, without a leading ``#`` ("#1045" → ``"1045"``), or ``None``.

    Only numbers introduced by "order" (order 1045, order no. 1045, order number EVR-1045) or "#" count,
    "order ..." first; 12+ digit runs (tracking numbers), dates, prices, quantities and "#" numbers of
    tracking/phone/ticket/apartment/... are never returned. The customer's own words are searched before
    quoted e-mail history.
    """
    return _own_words_first(text, _find_order_number)
