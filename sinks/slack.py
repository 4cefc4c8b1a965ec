"""Slack sink: every escalation becomes one ``chat.postMessage`` to the configured channel.

The message (built by :mod:`wismo.sinks.slack_message`) carries message ``metadata`` ``{event_type:
"wismo_escalation", event_payload: {action_id, ...}}``; after a crash or a timeout the sink reads the channel's
``conversations.history`` (with ``include_all_metadata``) from the delivery's first claim on and looks for that
action id before posting again.

Slack answers errors with HTTP 200 and ``{"ok": false, "error": ...}``: ``ratelimited`` / ``rate_limited`` and
Slack's transient server errors are retried (``internal_error``, ``fatal_error`` and ``request_timeout`` may have
posted the message, so the next attempt looks first); any other error (``channel_not_found``,
``invalid_auth``, ``invalid_blocks``, ...) is a configuration problem and is dead-lettered at once. HTTP 429 with
``Retry-After`` is honoured by the retry loop.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from wismo.sinks.backoff import server_wait
from wismo.sinks.base import CallResult, DeliveryJob, Plan, Reject, Send, Target
from wismo.sinks.http_call import json_body, request
from wismo.sinks.slack_message import METADATA_EVENT_TYPE, escalation_message, message_metadata

from wismo.records import EscalationRecord
from wismo.state_keys import DELIVERY_RECONCILE_MAX_PAGES, DELIVERY_RECONCILE_SKEW_SECONDS

RETRYABLE_ERRORS = frozenset(
    {"ratelimited", "rate_limited", "internal_error", "fatal_error", "request_timeout", "service_unavailable"}
)
MAYBE_POSTED_ERRORS = frozenset({"internal_error", "fatal_error", "request_timeout"})
HISTORY_PAGE = 200


def post_message_body(channel: str, record: EscalationRecord) -> dict[str, Any]:
    """The JSON body of ``chat.postMessage`` for ``record``."""
    return {
        "channel": channel,
        **escalation_message(record),
        "metadata": message_metadata(record),
        "unfurl_links": False,
        "unfurl_media": False,
    }


def slack_error(answer: Any, status: int, what: str, headers: httpx.Headers) -> CallResult | None:
    """The failure an ``ok: false`` (or unreadable) 200 answer means; None when ``ok`` is true."""
    if isinstance(answer, dict) and answer.get("ok") is True:
        return None
    error = str(answer.get("error")) if isinstance(answer, dict) else "not a JSON answer"
    retryable = error in RETRYABLE_ERRORS or not isinstance(answer, dict)
    return CallResult(
        "error",
        status,
        retryable=retryable,
        maybe_applied=error in MAYBE_POSTED_ERRORS or not isinstance(answer, dict),
        server_wait=server_wait(headers, time.time()) if retryable else None,
        detail=f"{what}: Slack error {error}",
    )


class SlackSink:
    target: Target = "slack"

    def __init__(
        self,
        api_url: str,
        bot_token: str,
        channel: str,
        *,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.channel = channel
        self.client = httpx.AsyncClient(
            base_url=api_url.rstrip("/") + "/",
            timeout=timeout,
            headers={"Authorization": f"Bearer {bot_token}"},
            transport=transport,
        )

    async def plan(self, job: DeliveryJob) -> Plan:
        if not isinstance(job.record, EscalationRecord):
            return Reject(f"slack takes escalations, not {job.record.kind}")
        return Send(f"message to {self.channel}", post_message_body(self.channel, job.record))

    async def send(self, job: DeliveryJob, send: Send) -> CallResult:
        got = await request(
            self.client,
            "POST",
            "chat.postMessage",
            "chat.postMessage",
            json=send.request,
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        if isinstance(got, CallResult):
            return got
        answer = json_body(got)
        failure = slack_error(answer, got.status_code, "chat.postMessage", got.headers)
        if failure is not None:
            return failure
        return CallResult(
            "success", got.status_code, remote_id=f"{answer.get('channel') or self.channel}/{answer.get('ts')}"
        )

    async def find(self, job: DeliveryJob, send: Send, since: float) -> CallResult:
        params: dict[str, str] = {
            "channel": self.channel,
            "oldest": f"{max(since - DELIVERY_RECONCILE_SKEW_SECONDS, 0):.6f}",
            "limit": str(HISTORY_PAGE),
            "include_all_metadata": "true",
        }
        status = None
        for _ in range(DELIVERY_RECONCILE_MAX_PAGES):
            got = await request(self.client, "GET", "conversations.history", "conversations.history", params=params)
            if isinstance(got, CallResult):
                return got
            status = got.status_code
            answer = json_body(got)
            failure = slack_error(answer, status, "conversations.history", got.headers)
            if failure is not None:
                return failure
            for message in answer.get("messages") or []:
                meta = message.get("metadata") if isinstance(message, dict) else None
                if not isinstance(meta, dict) or meta.get("event_type") != METADATA_EVENT_TYPE:
                    continue
                payload = meta.get("event_payload") or {}
                if isinstance(payload, dict) and payload.get("action_id") == job.action_id:
                    return CallResult("success", status, remote_id=f"{self.channel}/{message.get('ts')}")
            cursor = (answer.get("response_metadata") or {}).get("next_cursor")
            if not answer.get("has_more") or not cursor:
                break
            params = {**params, "cursor": str(cursor)}
        return CallResult("not_found", status)

    async def confirmed(self, job: DeliveryJob, send: Send, remote_id: str | None) -> None:
        return None

    async def aclose(self) -> None:
        await self.client.aclose()
