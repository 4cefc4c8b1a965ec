"""Intake: one raw input line -> a validated canonical event, or a dead letter with a reason a person can
act on. Never raises.

Error classes (``DeadLetter.error_type``): ``malformed_json`` (not JSON / not an object),
``unknown_type`` (a ``type`` wismo does not know), ``invalid_event`` (missing or mistyped fields, a
timestamp without an offset, a ``source`` other than the one EVENTS.md pairs with the ``type``, ...).
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError

from wismo.events import EVENT_ADAPTER, EVENT_TYPES, Event
from wismo.ids import stable_id
from wismo.records import DeadLetter, DeadLetterType

MAX_ERRORS_IN_REASON = 5


def _loc(loc: tuple[int | str, ...]) -> str:
    # Drop the discriminator tag pydantic inserts ("tracking.updated") so the path reads like the JSON.
    parts = [str(p) for p in loc if str(p) not in EVENT_TYPES]
    return ".".join(parts) or "(event)"


def explain(exc: ValidationError) -> str:
    """A short human sentence per problem: ``payload.shipment_id: field required``."""
    msgs = []
    for err in exc.errors()[:MAX_ERRORS_IN_REASON]:
        msg = err["msg"]
        if err["type"] == "missing":
            msg = "field required"
        elif err["type"] == "timezone_aware":
            msg = "timestamp must include a UTC offset (RFC 3339), e.g. 2026-11-02T14:05:00Z"
        elif err["type"] == "literal_error" and len(err["loc"]) == 2 and err["loc"][1] == "source":
            etype = str(err["loc"][0])
            msg = (
                f"must be {EVENT_TYPES.get(etype, '?')!r} for {etype} events (EVENTS.md), not {err['input']!r}; "
                "check the producer's mapping"
            )
        elif err["type"] == "datetime_type":
            msg = "timestamp must be an RFC 3339 string with a UTC offset, e.g. 2026-11-02T14:05:00Z"
        msgs.append(f"{_loc(tuple(err['loc']))}: {msg}")
    extra = len(exc.errors()) - MAX_ERRORS_IN_REASON
    if extra > 0:
        msgs.append(f"and {extra} more problem(s)")
    return "; ".join(msgs)


def dead_letter(
    raw: str,
    reason: str,
    error_type: DeadLetterType,
    *,
    obj: Any = None,
    source_name: str | None = None,
    line: int | None = None,
) -> DeadLetter:
    fields: dict[str, Any] = {}
    if isinstance(obj, dict):
        for k in ("event_id", "order_id"):
            v = obj.get(k)
            if isinstance(v, str):
                fields[k] = v
        t = obj.get("type")
        if isinstance(t, str):
            fields["event_type"] = t
    return DeadLetter(
        dlq_id=stable_id("dlq", raw, str(source_name), str(line)),
        reason=reason,
        error_type=error_type,
        original=raw,
        source_name=source_name,
        line=line,
        **fields,
    )


def parse_line(raw: str | bytes, *, source_name: str | None = None, line: int | None = None) -> Event | DeadLetter:
    """Validate one canonical event. Fast path: pydantic parses the JSON directly, in strict mode: a
    timestamp must be an RFC 3339 string (not epoch seconds), a boolean ``true``/``false`` (not ``"yes"``),
    a quantity a JSON number (not ``"2"``); a producer sending otherwise is told so, not silently coerced."""
    try:
        return EVENT_ADAPTER.validate_json(raw, strict=True)
    except ValidationError as exc:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        return _classify(text, exc, source_name, line)


def _classify(text: str, exc: ValidationError, source_name: str | None, line: int | None) -> DeadLetter:
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as jexc:
        return dead_letter(
            text,
            f"not valid JSON ({jexc}); each line must be one JSON object",
            "malformed_json",
            source_name=source_name,
            line=line,
        )
    if not isinstance(obj, dict):
        return dead_letter(
            text,
            f"expected a JSON object, got {type(obj).__name__}",
            "malformed_json",
            source_name=source_name,
            line=line,
        )
    t = obj.get("type")
    if t is None:
        return dead_letter(text, "type: field required", "invalid_event", obj=obj, source_name=source_name, line=line)
    if not isinstance(t, str) or t not in EVENT_TYPES:
        return dead_letter(
            text,
            f"unknown event type {t!r}; expected one of {sorted(EVENT_TYPES)}",
            "unknown_type",
            obj=obj,
            source_name=source_name,
            line=line,
        )
    return dead_letter(
        text,
        f"invalid {t} event: {explain(exc)}",
        "invalid_event",
        obj=obj,
        source_name=source_name,
        line=line,
    )
