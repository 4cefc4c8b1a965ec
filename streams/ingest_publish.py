"""What the ingest publishes for one delivery: canonical events to the input topics (routed and keyed by
:func:`wismo.streams.publisher.publish_lines`, exactly as ``wismo publish`` does) and dead letters to
``<prefix>wismo.dlq``.

An adapter's output is checked against the canonical event model before it goes out; an event that fails
becomes a dead letter instead (an adapter bug must not put input on the bus that the worker would reject
without the provider payload that explains it). :func:`publish` returns only after the broker acknowledged
every record, and raises on any failure or after ``timeout`` seconds (the caller answers 503; a partial
publish is repeated by the provider's retry and absorbed by the deterministic event and dead-letter ids).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from pydantic import ValidationError
from wismo.processors.adapters.base import RejectCode, Rejected
from wismo.processors.intake import explain
from wismo.streams.publisher import publish_lines

from wismo.events import parse_event_obj
from wismo.ids import stable_id
from wismo.records import TOPIC_DLQ, DeadLetter, DeadLetterType, record_json

ERROR_TYPES: dict[RejectCode, DeadLetterType] = {
    "unmapped_value": "invalid_event",
    "unknown_topic": "unknown_type",
    "missing_field": "invalid_event",
    "unlinked_tracking": "unknown_reference",
    "bad_button": "invalid_event",
}
"""Adapter rejection codes as the dead-letter ``error_type`` of EVENTS.md's ``wismo.dlq``."""


def source_name(provider: str) -> str:
    """``DeadLetter.source_name`` of what a provider's webhook produced."""
    return f"webhook:{provider}"


def dead_letter(provider: str, original: str, code: RejectCode, reason: str) -> DeadLetter:
    """One dead letter for a rejected part of a delivery. ``dlq_id`` is derived from the payload and the
    reason, so a retried delivery writes the same id."""
    return DeadLetter(
        dlq_id=stable_id("dlq", source_name(provider), original, code, reason),
        reason=f"{provider} webhook ({code}): {reason}",
        error_type=ERROR_TYPES.get(code, "invalid_event"),
        original=original,
        source_name=source_name(provider),
    )


@dataclass(frozen=True, slots=True)
class Outgoing:
    """Everything one delivery publishes: canonical event lines and dead letters."""

    lines: list[bytes] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.lines or self.dead_letters)


def outgoing(provider: str, original: str, events: Sequence[dict[str, Any]], rejected: Sequence[Rejected]) -> Outgoing:
    """Validate ``events`` (an invalid one becomes a dead letter naming the adapter) and turn ``rejected``
    into dead letters. Never raises."""
    out = Outgoing()
    for event in events:
        try:
            parse_event_obj(event)
        except ValidationError as exc:
            reason = f"the adapter built an invalid canonical event ({explain(exc)})"
            out.dead_letters.append(dead_letter(provider, original, "missing_field", reason))
            continue
        out.lines.append(orjson.dumps(event))
    out.dead_letters.extend(dead_letter(provider, original, r.code, r.reason) for r in rejected)
    return out


async def publish(producer: AIOKafkaProducer, out: Outgoing, *, topic_prefix: str, timeout: float) -> None:
    """Publish ``out`` and wait for every acknowledgement; raises on failure or after ``timeout`` seconds."""

    async def send_all() -> None:
        dlq = topic_prefix + TOPIC_DLQ
        futures = [await producer.send(dlq, record_json(dl)) for dl in out.dead_letters]
        if out.lines:
            await publish_lines(producer, out.lines, topic_prefix=topic_prefix)
        for f in futures:
            await f

    await asyncio.wait_for(send_all(), timeout)
