"""Zendesk sink: replies and proactive updates become public comments, internal notes private comments.

Where a record goes:

* ``reply`` / ``proactive_update`` with a ``ticket_id``: public comment on that ticket
  (``PUT /api/v2/tickets/{id}.json`` with ``{"ticket": {"comment": {"body", "public": true}}}``);
* ``internal_note`` (testing-mode drafts included, marked as drafts): private comment (``public: false``);
* a customer-visible record with no ticket: on the ticket this sink opened earlier for the same order
  (``Keys.proactive_ticket``), else a NEW ticket (``POST /api/v2/tickets.json``, requester = ``customer_email``,
  ``external_id`` = the action id, header ``Idempotency-Key`` = the action id), remembered for the order's next
  update. With no e-mail either: dead-lettered, "no open ticket and no customer e-mail";
* an internal note with no ticket (and none opened for the order): skipped, audit outcome ``no_ticket``: a note
  is for agents working a ticket; there is none, and opening a ticket just to hold a note would put an internal
  note in front of the customer's requester record. The note stays on ``wismo.notes`` (and the webhook).

Every comment ends with a reference line holding the action id (:func:`comment_marker`); after a crash or a
timeout the sink reads the ticket's comments (``GET /api/v2/tickets/{id}/comments.json``) for it before sending
again, and finds a ticket it may have created by ``external_id``. The marker also lets the Zendesk ingest
recognise wismo's own comments coming back as ticket events.

Auth: API token (``{email}/token:{token}`` basic auth). Request building is pure (:func:`comment_request`,
:func:`new_ticket_request`); :class:`ZendeskSink` does the I/O.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import httpx
from redis.asyncio import Redis
from wismo.processors.adapters.base import comment_marker
from wismo.sinks.base import CallResult, DeliveryJob, Plan, Reject, Send, Skip, Target
from wismo.sinks.http_call import json_body, request

from wismo.records import ActionRecord
from wismo.state_keys import DELIVERY_RECONCILE_MAX_PAGES, PROACTIVE_TICKET_TTL, Keys

NO_TICKET_NO_EMAIL = "no open ticket and no customer e-mail"
SUBJECT_CHARS = 100


def comment_body(record: ActionRecord) -> str:
    """The comment text: the record's text (an internal-note draft says it was not sent), then the marker."""
    text = record.text.strip()
    if record.kind == "internal_note" and record.draft:
        why = record.note_reason or "testing_mode"
        shown = (record.draft_kind or "reply").replace("_", " ")
        text = f"Draft {shown} by wismo, NOT sent to the customer ({why}):\n\n{text}"
    if record.kind == "internal_note" and record.guardrail_violations:
        text = f"{text}\n\nGuardrail violations: {', '.join(record.guardrail_violations)}"
    return f"{text}\n\n{comment_marker(record.action_id)}"


@dataclass(frozen=True, slots=True)
class Comment:
    ticket_id: str
    public: bool
    body: str


@dataclass(frozen=True, slots=True)
class NewTicket:
    order_id: str | None
    requester_email: str
    subject: str
    body: str
    external_id: str


def comment_request(comment: Comment) -> tuple[str, str, dict[str, Any]]:
    """``(method, path, json)`` adding ``comment`` to its ticket."""
    body = {"ticket": {"comment": {"body": comment.body, "public": comment.public}}}
    return "PUT", f"/api/v2/tickets/{comment.ticket_id}.json", body


def new_ticket_request(ticket: NewTicket) -> tuple[str, str, dict[str, Any], dict[str, str]]:
    """``(method, path, json, headers)`` opening a ticket whose first comment is public."""
    body = {
        "ticket": {
            "subject": ticket.subject,
            "comment": {"body": ticket.body, "public": True},
            "requester": {"email": ticket.requester_email},
            "external_id": ticket.external_id,
            "tags": ["wismo", "wismo_proactive"],
        }
    }
    return "POST", "/api/v2/tickets.json", body, {"Idempotency-Key": ticket.external_id}


def subject_for(record: ActionRecord) -> str:
    """The new ticket's subject: the first line of the customer text that is not a greeting, shortened."""
    lines = [line.strip() for line in record.text.splitlines() if line.strip()]
    candidates = [line for line in lines if not (line.lower().startswith(("hi ", "hello", "dear ")) and len(line) < 40)]
    first = (candidates or lines or ["An update on your order"])[0]
    sentence = first.split(". ")[0].rstrip(".")
    return sentence if len(sentence) <= SUBJECT_CHARS else sentence[: SUBJECT_CHARS - 3].rstrip() + "..."


def plan_for(record: ActionRecord, mapped_ticket: str | None) -> Plan:
    """Pure: where ``record`` goes, given the ticket this sink opened for its order (or None)."""
    if record.kind not in ("reply", "proactive_update", "internal_note"):
        return Reject(f"zendesk takes replies, proactive updates and internal notes, not {record.kind}")
    public = record.kind != "internal_note"
    ticket = record.ticket_id or mapped_ticket
    if ticket is not None:
        if not ticket.isdigit():
            return Reject(f"ticket id {ticket!r} is not a Zendesk ticket id (Zendesk ids are numbers)")
        placement = "public comment" if public else "private comment"
        return Send(f"{placement} on ticket {ticket}", Comment(ticket, public, comment_body(record)))
    if not public:
        return Skip("no_ticket", f"internal note for order {record.order_id} has no ticket to attach to")
    if not record.customer_email:
        return Reject(NO_TICKET_NO_EMAIL)
    new = NewTicket(record.order_id, record.customer_email, subject_for(record), comment_body(record), record.action_id)
    return Send(f"new ticket for {record.customer_email}", new)


class ZendeskSink:
    """Zendesk Support API client for the delivery loop (see the module docstring)."""

    target: Target = "zendesk"

    def __init__(
        self,
        base_url: str,
        email: str,
        api_token: str,
        *,
        redis: Redis,
        keys: Keys,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        auth = base64.b64encode(f"{email}/token:{api_token}".encode()).decode()
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            headers={"Authorization": f"Basic {auth}", "Accept": "application/json"},
            transport=transport,
        )
        self.redis = redis
        self.keys = keys

    async def plan(self, job: DeliveryJob) -> Plan:
        record = job.record
        mapped = None
        if record.ticket_id is None and record.order_id is not None:
            raw = await self.redis.get(self.keys.proactive_ticket(record.order_id))
            mapped = raw.decode() if isinstance(raw, bytes) else raw
        return plan_for(record, mapped)

    async def send(self, job: DeliveryJob, send: Send) -> CallResult:
        if isinstance(send.request, Comment):
            method, path, body = comment_request(send.request)
            got = await request(self.client, method, path, send.what, json=body)
            if isinstance(got, CallResult):
                return got
            audit = (json_body(got) or {}).get("audit") or {}
            audit_id = audit.get("id") if isinstance(audit, dict) else None
            remote = f"{send.request.ticket_id}/{audit_id}" if audit_id is not None else send.request.ticket_id
            return CallResult("success", got.status_code, remote_id=remote)
        method, path, body, headers = new_ticket_request(send.request)
        got = await request(self.client, method, path, send.what, json=body, headers=headers)
        if isinstance(got, CallResult):
            return got
        ticket = (json_body(got) or {}).get("ticket") or {}
        ticket_id = ticket.get("id") if isinstance(ticket, dict) else None
        if ticket_id is None:  # 2xx without a ticket: it may exist; the next attempt looks it up first
            return CallResult(
                "error", got.status_code, retryable=True, maybe_applied=True, detail="no ticket id in the answer"
            )
        return CallResult("success", got.status_code, remote_id=str(ticket_id))

    async def find(self, job: DeliveryJob, send: Send, since: float) -> CallResult:
        if isinstance(send.request, Comment):
            return await self._find_comment(send.request.ticket_id, job.action_id)
        got = await request(
            self.client, "GET", "/api/v2/tickets.json", "ticket look-up", params={"external_id": job.action_id}
        )
        if isinstance(got, CallResult):
            return got
        for ticket in (json_body(got) or {}).get("tickets") or []:
            if isinstance(ticket, dict) and ticket.get("external_id") == job.action_id and ticket.get("id") is not None:
                return CallResult("success", got.status_code, remote_id=str(ticket["id"]))
        return CallResult("not_found", got.status_code)

    async def _find_comment(self, ticket_id: str, action_id: str) -> CallResult:
        marker = comment_marker(action_id)
        url: str | None = f"/api/v2/tickets/{ticket_id}/comments.json"
        params: dict[str, str] | None = {"sort_order": "desc", "per_page": "100"}
        status = None
        for _ in range(DELIVERY_RECONCILE_MAX_PAGES):
            if url is None:
                break
            got = await request(self.client, "GET", url, f"comments of ticket {ticket_id}", params=params)
            if isinstance(got, CallResult):
                return got
            status = got.status_code
            page = json_body(got) or {}
            for comment in page.get("comments") or []:
                if not isinstance(comment, dict):
                    continue
                text = " ".join(str(comment.get(f) or "") for f in ("body", "plain_body", "html_body"))
                if marker in text:
                    audit_id = comment.get("audit_id") or comment.get("id")
                    return CallResult("success", status, remote_id=f"{ticket_id}/{audit_id}")
            url, params = _next_page(page), None
        return CallResult("not_found", status)

    async def confirmed(self, job: DeliveryJob, send: Send, remote_id: str | None) -> None:
        if isinstance(send.request, NewTicket) and send.request.order_id and remote_id:
            await self.redis.set(self.keys.proactive_ticket(send.request.order_id), remote_id, ex=PROACTIVE_TICKET_TTL)

    async def aclose(self) -> None:
        await self.client.aclose()


def _next_page(page: dict[str, Any]) -> str | None:
    """Offset pagination (``next_page``) or cursor pagination (``meta.has_more`` + ``links.next``)."""
    nxt = page.get("next_page")
    if isinstance(nxt, str) and nxt:
        return nxt
    meta, links = page.get("meta") or {}, page.get("links") or {}
    if isinstance(meta, dict) and meta.get("has_more") and isinstance(links, dict):
        cursor = links.get("next")
        return cursor if isinstance(cursor, str) and cursor else None
    return None
