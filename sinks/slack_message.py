"""An escalation (SPEC §7 packet) as a Slack message: pure function, no I/O.

The message carries every field of the packet: case, order facts, detected condition, customer impact,
requested decision, options, deadline and how the answer returns; and, when the escalation names an order, the
four review buttons of :mod:`wismo.processors.adapters.base` (``action_id`` = ``REVIEW_ACTION_PREFIX`` +
decision, ``value`` = :func:`review_button_value`), so a click comes back through the Slack ingest as a
``review.decision`` event. An escalation without an order cannot be answered by a button (a ``review.decision``
needs an order id): the message says so instead of showing buttons that would be rejected.

Slack limits are respected by truncation (header 150 characters, section text 3000, field 2000, button label 75);
user text is escaped for mrkdwn (``&``, ``<``, ``>``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from wismo.processors.adapters.base import REVIEW_ACTION_PREFIX, REVIEW_BUTTON_LABELS, review_button_value

from wismo.records import EscalationRecord

HEADER_CHARS = 150
SECTION_CHARS = 3000
FIELD_CHARS = 2000
BUTTON_STYLES = {"approved": "primary", "denied": "danger"}
METADATA_EVENT_TYPE = "wismo_escalation"
"""``metadata.event_type`` of every escalation message; reconciliation finds messages by it and the action id."""


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mrkdwn(text: str, limit: int = SECTION_CHARS) -> dict[str, str]:
    return {"type": "mrkdwn", "text": _cut(text, limit)}


def _section(title: str, body: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(f"*{title}*\n{body}")}


def _when(at: datetime) -> str:
    """A Slack date token: shown in the reader's time zone, with the ISO time as the fallback."""
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{at.isoformat()}>"


def order_label(record: EscalationRecord) -> str:
    number = record.order_facts.get("order_number")
    if number:
        return f"order #{number}"
    if record.order_id:
        return f"order {record.order_id}"
    return f"case {record.case_id}"


def format_order_facts(facts: dict[str, Any]) -> str:
    """The order facts as mrkdwn lines (known keys in words, anything else as ``key: value``)."""
    lines: list[str] = []
    shown = {"order_id", "order_number", "order_value", "currency", "placed_at", "ship_by", "items", "shipments"}
    shown |= {"holds", "contacts"}
    if facts.get("order_id"):
        number = f" (#{facts['order_number']})" if facts.get("order_number") else ""
        lines.append(f"Order id: {escape(str(facts['order_id']))}{escape(number)}")
    if facts.get("order_value") is not None:
        lines.append(f"Value: {escape(str(facts['order_value']))} {escape(str(facts.get('currency') or ''))}".rstrip())
    if facts.get("placed_at"):
        lines.append(f"Placed: {escape(str(facts['placed_at']))}")
    if facts.get("ship_by"):
        lines.append(f"Ship by: {escape(str(facts['ship_by']))}")
    for item in facts.get("items") or []:
        if isinstance(item, dict):
            lines.append(
                f"• {item.get('qty', '?')} × {escape(str(item.get('title') or ''))} ({escape(str(item.get('sku')))})"
            )
    shipments = facts.get("shipments") or {}
    if isinstance(shipments, dict):
        for sid, s in shipments.items():
            if not isinstance(s, dict):
                continue
            status = "/".join(str(v) for v in (s.get("status"), s.get("detail")) if v)
            carrier = " ".join(str(v) for v in (s.get("carrier"), s.get("tracking_number")) if v)
            lines.append(
                f"Shipment {escape(str(sid))}: {escape(status or 'no status')}"
                + (f" ({escape(carrier)})" if carrier else "")
            )
    if facts.get("holds"):
        lines.append(f"Holds: {escape(', '.join(str(h) for h in facts['holds']))}")
    if facts.get("contacts") is not None:
        lines.append(f"Customer contacts: {escape(str(facts['contacts']))}")
    for key, value in facts.items():
        if key not in shown:
            lines.append(f"{escape(str(key))}: {escape(json.dumps(value, default=str))}")
    return "\n".join(lines) or "No order facts (the order could not be identified)."


def review_buttons(record: EscalationRecord) -> dict[str, Any] | None:
    """The actions block with one button per review decision, or None without an order id."""
    if not record.order_id:
        return None
    value = review_button_value(record.escalation_id, record.order_id)
    elements = []
    for decision in record.decision_options:
        label = REVIEW_BUTTON_LABELS.get(decision)
        if label is None:
            continue
        button: dict[str, Any] = {
            "type": "button",
            "text": {"type": "plain_text", "text": _cut(label, 75)},
            "action_id": REVIEW_ACTION_PREFIX + decision,
            "value": value,
        }
        if decision in BUTTON_STYLES:
            button["style"] = BUTTON_STYLES[decision]
        elements.append(button)
    return {"type": "actions", "block_id": _cut(f"wismo_review_{record.escalation_id}", 255), "elements": elements}


def escalation_message(record: EscalationRecord) -> dict[str, Any]:
    """``{"text", "blocks"}`` for ``chat.postMessage`` (the caller adds channel and metadata)."""
    label = order_label(record)
    condition = record.condition_type.replace("_", " ")
    testing = "[testing] " if record.mode == "testing" else ""
    header = _cut(f"{testing}Escalation: {condition} — {label}", HEADER_CHARS)
    reasons = ", ".join(record.escalation_reasons) or "none given"
    fields = [
        ("Case", record.case_id),
        ("Order", label),
        ("Condition", record.condition_type),
        ("Team", record.team),
        ("Priority", record.priority),
        ("Deadline", None),
        ("Reasons", reasons),
        ("Ticket", record.ticket_id or "none (proactive)"),
    ]
    field_blocks = [
        _mrkdwn(f"*{name}*\n{escape(value) if value is not None else _when(record.deadline)}", FIELD_CHARS)
        for name, value in fields
    ]
    decision_labels = [REVIEW_BUTTON_LABELS.get(d, d) + f" (`{d}`)" for d in record.decision_options]
    options = "Decisions: " + escape(", ".join(decision_labels))
    if record.customer_options:
        options += "\nCustomer options: " + escape(", ".join(record.customer_options))
    if record.action_draft_ids:
        options += "\nAction drafts awaiting this decision: " + escape(", ".join(record.action_draft_ids))
    buttons = review_buttons(record)
    if buttons is not None:
        returns = (
            "Click a button below: the click comes back as a `review.decision` event for escalation "
            f"`{escape(record.escalation_id)}`. Or send {escape(record.answer_via)}."
        )
    else:
        returns = (
            "No order is linked to this case, so the buttons cannot answer it: take it over in the helpdesk, "
            f"or send {escape(record.answer_via)}."
        )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header}},
        {"type": "section", "fields": field_blocks},
        _section("Order facts", format_order_facts(record.order_facts)),
        _section("Customer impact", escape(record.customer_impact)),
        _section("Requested decision", escape(record.requested_decision)),
        _section("Options", options),
        _section("Internal summary", escape(record.internal_summary or record.text)),
    ]
    if buttons is not None:
        blocks.append(buttons)
    blocks.append({"type": "context", "elements": [_mrkdwn(f"*How the answer returns:* {returns}", FIELD_CHARS)]})
    text = _cut(f"{testing}Escalation ({record.priority}) for {label}: {record.requested_decision}", 3000)
    return {"text": text, "blocks": blocks}


def message_metadata(record: EscalationRecord) -> dict[str, Any]:
    """Slack message metadata carrying the action id, found again by reconciliation."""
    return {
        "event_type": METADATA_EVENT_TYPE,
        "event_payload": {
            "action_id": record.action_id,
            "escalation_id": record.escalation_id,
            "order_id": record.order_id or "",
        },
    }
