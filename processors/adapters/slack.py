"""Slack ``block_actions`` clicks on wismo's review buttons to ``review.decision``. Mapping table:
docs/adapters.md, "Slack".

A button wismo wrote has ``action_id`` = :data:`REVIEW_ACTION_PREFIX` + decision and ``value`` =
:func:`review_button_value` (escalation id and order id). Anything else is ``Rejected("bad_button")``. The event
id is ``slack-<message ts>-<action_ts>-<user id>``: Slack sends one interaction per click, so two clicks (even
on the same button) are two decisions, and a replayed interaction is the same one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from wismo.processors.adapters._fields import arr, obj, opt_text, sub, text
from wismo.processors.adapters._outcomes import DecisionIs, Table, canonical
from wismo.processors.adapters._time import epoch_seconds
from wismo.processors.adapters.base import (
    REVIEW_ACTION_PREFIX,
    REVIEW_DECISIONS,
    Adapted,
    AdapterOptions,
    Lookups,
    Rejected,
    parse_review_button_value,
)

from wismo.events import Decision

ACTION_ID: Table = {f"{REVIEW_ACTION_PREFIX}{d}": DecisionIs(cast(Decision, d)) for d in REVIEW_DECISIONS}

TABLES: dict[str, Table] = {"slack.action_id": ACTION_ID}


def adapt_slack(headers: Mapping[str, str], body: Any, lookups: Lookups, options: AdapterOptions) -> Adapted:
    """One Slack interaction payload (the parsed ``payload`` form field)."""
    root = obj(body, "payload")
    delivery_id = opt_text(root, "trigger_id", "payload")
    kind = root.get("type")
    if kind != "block_actions":
        return _bad(f"Slack interaction type {kind!r} is not a block_actions button click", delivery_id)
    events: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    for i, raw in enumerate(arr(root.get("actions"), "payload.actions")):
        action = obj(raw, f"payload.actions[{i}]")
        action_id = action.get("action_id")
        row = ACTION_ID.get(action_id) if isinstance(action_id, str) else None
        if not isinstance(row, DecisionIs):
            rejected.append(Rejected("bad_button", f"Slack action_id {action_id!r} is not a wismo review button"))
            continue
        value = action.get("value")
        parsed = parse_review_button_value(value) if isinstance(value, str) else None
        if parsed is None:
            rejected.append(Rejected("bad_button", f"Slack button value {value!r} is not one wismo wrote"))
            continue
        escalation_id, order_id = parsed
        user = sub(root, "user", "payload")
        reviewer = text(user, "id", "payload.user")
        reviewer_name = opt_text(user, "name", "payload.user") or opt_text(user, "username", "payload.user")
        message_ts = _message_ts(root)
        action_ts = text(action, "action_ts", f"payload.actions[{i}]")
        at = epoch_seconds(action_ts, f"payload.actions[{i}].action_ts")
        payload = {
            "escalation_id": escalation_id,
            "decision": row.decision,
            "reviewer": reviewer,
            "reviewer_name": reviewer_name,
        }
        event_id = f"slack-{message_ts}-{action_ts}-{reviewer}"
        events.append(canonical(event_id, "review.decision", at, payload, order_id))
    if not events and not rejected:
        rejected.append(Rejected("bad_button", "Slack block_actions payload has no actions"))
    return Adapted(events=events, rejected=rejected, delivery_id=delivery_id)


def _message_ts(root: Mapping[str, Any]) -> str:
    """The ``ts`` of the message holding the button (``container.message_ts``, else ``message.ts``)."""
    container = root.get("container")
    if isinstance(container, Mapping):
        ts = container.get("message_ts")
        if isinstance(ts, str) and ts:
            return ts
    return text(sub(root, "message", "payload"), "ts", "payload.message")


def _bad(reason: str, delivery_id: str | None) -> Adapted:
    return Adapted(rejected=[Rejected("bad_button", reason)], delivery_id=delivery_id)
