"""Zendesk ticket comments to ``ticket.message``. Mapping tables: docs/adapters.md, "Zendesk".

Two body shapes are read:

* event-subscription webhooks: ``{"type": "zen:event-type:ticket.<event>", "id", "time", "detail": <ticket>,
  "event": {...}}``. Only ``ticket.comment_added`` carries a message; the author is the customer unless
  ``event.comment.author.is_staff`` is true.
* ticket + audit bodies, as the Tickets API returns them (``{"ticket", "audit"}``) or the Ticket Audits API
  lists them (``{"audits": [...]}``, optionally with ``"ticket"``): every ``Comment`` audit event is a message.
  Audits do not say who is staff: the ticket's requester is the customer, anyone else an agent (so a CC'd
  end-user counts as an agent here; use event webhooks to tell them apart).

Either way a comment that is not public is an internal note (``author: agent, public: false``), whoever wrote
it. The requester's Zendesk user id travels as ``zendesk_requester_id``, never as ``customer.id``: that field
holds the shop's own customer id, and a helpdesk id in it would make the intake refuse the customer's own order
number ("does not belong to this customer"). The customer's e-mail is passed when the body carries it (e-mail
audits); otherwise the intake matches by the order number in the text or a configured field.
The event id is ``zendesk-comment-<comment id>`` in both shapes (an audit's Comment event id is the comment
id), so the same comment seen twice, or through both shapes, dedupes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wismo.processors.adapters._fields import MissingField, arr, flag, ident, obj, opt_ident, opt_text, sub
from wismo.processors.adapters._outcomes import ChannelIs, Emits, NoEvent, Table, canonical
from wismo.processors.adapters._time import instant
from wismo.processors.adapters.base import Adapted, AdapterOptions, Lookups, Rejected, is_wismo_comment

EVENT_PREFIX = "zen:event-type:"

_NOT_A_MESSAGE = "a ticket field change; wismo reads customer and agent messages, not ticket bookkeeping"
EVENT_TYPE: Table = {
    "ticket.comment_added": Emits("ticket.message"),
    "ticket.created": NoEvent(
        "the ticket's first comment also arrives as ticket.comment_added; reading both would count one message twice"
    ),
    **{
        f"ticket.{name}": NoEvent(_NOT_A_MESSAGE)
        for name in (
            "agent_assignment_changed",
            "attachment_linked_to_comment",
            "attachment_redacted_from_comment",
            "brand_changed",
            "comment_made_private",
            "comment_redacted",
            "custom_field_changed",
            "custom_status_changed",
            "description_changed",
            "external_id_changed",
            "email_ccs_changed",
            "followers_changed",
            "form_changed",
            "group_assignment_changed",
            "organization_changed",
            "priority_changed",
            "problem_link_changed",
            "requester_changed",
            "status_changed",
            "subject_changed",
            "submitter_changed",
            "tags_changed",
            "task_due_at_changed",
            "type_changed",
            "marked_as_spam",
            "merged",
            "permanently_deleted",
            "soft_deleted",
            "undeleted",
        )
    },
}
"""Event-subscription ``type`` (without the ``zen:event-type:`` prefix)."""

_AUDIT_NOISE = "not a message: ticket bookkeeping, notifications or channel plumbing recorded in the audit"
AUDIT_EVENT_TYPE: Table = {
    "Comment": Emits("ticket.message"),
    "VoiceComment": NoEvent("a call recording or transcript; wismo reads written messages"),
    **{
        name: NoEvent(_AUDIT_NOISE)
        for name in (
            "Create",
            "Change",
            "Notification",
            "Cc",
            "FollowerChange",
            "EmailCcChange",
            "CommentPrivacyChange",
            "CommentRedactionEvent",
            "AttachmentRedactionEvent",
            "SatisfactionRating",
            "Error",
            "External",
            "Push",
            "Tweet",
            "FacebookEvent",
            "FacebookComment",
            "SMS",
            "LogMeInTranscript",
            "TicketSharingEvent",
            "OrganizationActivity",
            "AgentMacroReference",
            "ChatStartedEvent",
            "ChatEndedEvent",
        )
    },
}
"""Audit event ``type``."""

VIA_CHANNEL: Table = {
    **{c: ChannelIs("email") for c in ("email", "mail")},
    **{
        c: ChannelIs("chat")
        for c in (
            "chat",
            "native_messaging",
            "sms",
            "twitter",
            "twitter_dm",
            "twitter_favorite",
            "facebook",
            "facebook_post",
            "facebook_message",
            "whatsapp",
            "line",
            "wechat",
            "instagram_dm",
            "any_channel",
            "mobile_sdk",
        )
    },
    **{
        c: ChannelIs("ticket")
        for c in (
            "web",
            "web_form",
            "web_widget",
            "api",
            "web_service",
            "help_center",
            "helpcenter",
            "mobile",
            "voice",
            "voicemail",
            "phone_call_inbound",
            "phone_call_outbound",
            "api_voicemail",
            "api_phone_call_inbound",
            "api_phone_call_outbound",
            "rule",
            "system",
            "closed_ticket",
            "ticket_sharing",
            "sample_ticket",
            "side_conversation",
            "linked_problem",
            "get_satisfaction",
            "satisfaction_prediction",
        )
    },
}
"""``via.channel`` (JSON names like ``email`` and the via-type names event webhooks use, like ``mail``)."""

TABLES: dict[str, Table] = {
    "zendesk.event_type": EVENT_TYPE,
    "zendesk.audit_event_type": AUDIT_EVENT_TYPE,
    "zendesk.via_channel": VIA_CHANNEL,
}


def adapt_zendesk(headers: Mapping[str, str], body: Any, lookups: Lookups, options: AdapterOptions) -> Adapted:
    """One Zendesk delivery: an event-subscription webhook or a ticket+audit body (see the module doc)."""
    root = obj(body, "body")
    if "type" in root and isinstance(root.get("type"), str) and root["type"].startswith("zen:"):
        return _from_event(root, options)
    if "audit" in root or "audits" in root:
        return _from_audits(root, options)
    raise MissingField("body is neither a Zendesk event webhook (type zen:event-type:...) nor a ticket audit body")


# ---- event-subscription webhooks --------------------------------------------------------------------------


def _from_event(root: Mapping[str, Any], options: AdapterOptions) -> Adapted:
    delivery_id = opt_text(root, "id", "")
    full_type = root["type"]
    row = EVENT_TYPE.get(full_type.removeprefix(EVENT_PREFIX))
    if row is None:
        reason = f"Zendesk event type {full_type!r} is not one wismo reads"
        return Adapted(rejected=[Rejected("unknown_topic", reason)], delivery_id=delivery_id)
    if isinstance(row, NoEvent):
        return Adapted(ignored=f"Zendesk {full_type}: {row.why}", delivery_id=delivery_id)
    ticket = sub(root, "detail", "")
    comment = sub(sub(root, "event", ""), "comment", "event")
    comment_id = ident(comment, "id", "event.comment")
    public = _public(comment, "event.comment")
    author = comment.get("author")
    author_obj = obj(author, "event.comment.author") if author is not None else {}
    requester = opt_ident(ticket, "requester_id", "detail")
    if not public:
        role = "agent"
    elif isinstance(author_obj.get("is_staff"), bool):
        role = "agent" if author_obj["is_staff"] else "customer"
    else:
        role = _role_by_requester(opt_ident(author_obj, "id", "event.comment.author"), requester)
    text = _body(comment, "event.comment")
    if is_wismo_comment(text):
        return Adapted(
            ignored=f"Zendesk comment {comment_id} is wismo's own (written by its sink)", delivery_id=delivery_id
        )
    channel, rejected = _channel(ticket, "detail")
    if channel is None:
        return Adapted(rejected=rejected, delivery_id=delivery_id)
    at = instant(root.get("time") or ticket.get("updated_at"), "time")
    payload = {
        "ticket_id": ident(ticket, "id", "detail"),
        "channel": channel,
        "author": role,
        "public": public,
        "text": text,
        "customer": None,  # a Zendesk user id is not the shop's customer id (see the module docstring)
        "zendesk_requester_id": requester,
        "order_number": _order_number(ticket, options),
        "author_name": opt_text(author_obj, "name", "event.comment.author"),
    }
    return Adapted(
        events=[canonical(f"zendesk-comment-{comment_id}", "ticket.message", at, payload)], delivery_id=delivery_id
    )


# ---- ticket + audit bodies --------------------------------------------------------------------------------


def _from_audits(root: Mapping[str, Any], options: AdapterOptions) -> Adapted:
    ticket_raw = root.get("ticket")
    ticket = obj(ticket_raw, "ticket") if ticket_raw is not None else {}
    if "audit" in root:
        audits = [sub(root, "audit", "")]
    else:
        audits = [obj(a, f"audits[{i}]") for i, a in enumerate(arr(root.get("audits"), "audits"))]
    delivery_id = opt_ident(audits[0], "id", "audit") if len(audits) == 1 else None
    requester = opt_ident(ticket, "requester_id", "ticket")
    events: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    ignored: list[str] = []
    for i, audit in enumerate(audits):
        path = "audit" if "audit" in root else f"audits[{i}]"
        audit_events = [
            obj(raw, f"{path}.events[{j}]") for j, raw in enumerate(arr(audit.get("events"), f"{path}.events"))
        ]
        for ev in audit_events:  # an audit is one change: a requester it sets applies to its own comments
            value = ev.get("value")
            sets_requester = ev.get("type") in ("Create", "Change") and ev.get("field_name") == "requester_id"
            if sets_requester and isinstance(value, (str, int)) and not isinstance(value, bool):
                requester = str(value)
        for j, ev in enumerate(audit_events):
            kind = str(ev.get("type"))
            row = AUDIT_EVENT_TYPE.get(kind)
            if row is None:
                rejected.append(Rejected("unmapped_value", f"Zendesk audit event type {kind!r} has no mapping"))
            elif isinstance(row, NoEvent):
                ignored.append(kind)
            else:
                message = _audit_comment(audit, ev, ticket, requester, options, f"{path}.events[{j}]", rejected)
                if message is not None:
                    events.append(message)
    ignored_text = None
    if not events and not rejected:
        kinds = ", ".join(dict.fromkeys(ignored)) or "none"
        ignored_text = f"no Comment in the Zendesk audit (event types: {kinds}): {_AUDIT_NOISE}"
    return Adapted(events=events, rejected=rejected, ignored=ignored_text, delivery_id=delivery_id)


def _audit_comment(
    audit: Mapping[str, Any],
    ev: Mapping[str, Any],
    ticket: Mapping[str, Any],
    requester: str | None,
    options: AdapterOptions,
    path: str,
    rejected: list[Rejected],
) -> dict[str, Any] | None:
    comment_id = ident(ev, "id", path)
    if is_wismo_comment(_body(ev, path)):
        return None  # wismo's own comment, written by its sink
    public = _public(ev, path)
    if not public:
        role = "agent"
    elif requester is None:
        raise MissingField(
            f"ticket.requester_id (needed to tell whether public comment {comment_id} is the customer's)"
        )
    else:
        role = _role_by_requester(opt_ident(ev, "author_id", path), requester)
    via_source = audit if isinstance(audit.get("via"), Mapping) else ticket
    channel, bad = _channel(via_source, "audit")
    if channel is None:
        rejected.extend(bad)
        return None
    customer: dict[str, str] = {}
    email = _from_address(via_source)
    if email and role == "customer":
        customer["email"] = email
    payload = {
        "ticket_id": ident(audit, "ticket_id", "audit")
        if audit.get("ticket_id") is not None
        else ident(ticket, "id", "ticket"),
        "channel": channel,
        "author": role,
        "public": public,
        "text": _body(ev, path),
        "customer": customer or None,
        "zendesk_requester_id": requester,
        "order_number": _order_number(ticket, options),
    }
    at = instant(ev.get("created_at") or audit.get("created_at"), "audit.created_at")
    return canonical(f"zendesk-comment-{comment_id}", "ticket.message", at, payload)


# ---- shared -----------------------------------------------------------------------------------------------


def _public(comment: Mapping[str, Any], path: str) -> bool:
    key = "is_public" if "is_public" in comment else "public"
    return flag(comment, key, path)


def _role_by_requester(author_id: str | None, requester: str | None) -> str:
    return "customer" if author_id is not None and author_id == requester else "agent"


def _body(comment: Mapping[str, Any], path: str) -> str:
    for key in ("body", "plain_body", "value"):
        value = comment.get(key)
        if isinstance(value, str):
            return value
    raise MissingField(f"{path}.body is missing or not a string")


def _channel(holder: Mapping[str, Any], path: str) -> tuple[str | None, list[Rejected]]:
    via = sub(holder, "via", path)
    value = opt_text(via, "channel", f"{path}.via")
    if value is None:
        raise MissingField(f"{path}.via.channel is missing")
    row = VIA_CHANNEL.get(value)
    if not isinstance(row, ChannelIs):
        return None, [Rejected("unmapped_value", f"Zendesk via.channel {value!r} has no mapping")]
    return row.channel, []


def _from_address(holder: Mapping[str, Any]) -> str | None:
    via = holder.get("via")
    source = via.get("source") if isinstance(via, Mapping) else None
    sender = source.get("from") if isinstance(source, Mapping) else None
    address = sender.get("address") if isinstance(sender, Mapping) else None
    return address if isinstance(address, str) and "@" in address else None


def _order_number(ticket: Mapping[str, Any], options: AdapterOptions) -> str | None:
    """The first configured custom field (``options.zendesk_order_number_fields``) that has a value."""
    if not options.zendesk_order_number_fields:
        return None
    for raw in ticket.get("custom_fields") or []:
        if not isinstance(raw, Mapping):
            continue
        if str(raw.get("id")) in options.zendesk_order_number_fields:
            value = raw.get("value")
            if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
                return str(value).strip()
    return None
