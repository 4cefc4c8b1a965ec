"""Signed generic webhook: POST each action record, as published on Kafka, to one configured URL.

Request: ``POST <url>``, body = the record's JSON exactly as on its topic, headers

* ``X-Wismo-Timestamp``: Unix seconds when this attempt was signed;
* ``X-Wismo-Signature``: ``sha256=`` + hex HMAC-SHA256 with the shared secret over ``{timestamp}.{body}``
  (the timestamp's ASCII digits, a dot, then the raw body bytes);
* ``X-Wismo-Action-Id``: the record's ``action_id``; ``X-Wismo-Topic``: its canonical topic.

How a receiver verifies it (:func:`verify_signature` does exactly this):

1. read the raw body bytes before any JSON parsing;
2. compute ``hmac_sha256(secret, timestamp + "." + body)`` and compare it with the hex after ``sha256=`` using a
   constant-time comparison; refuse on mismatch;
3. refuse a timestamp more than ``WEBHOOK_SIGNATURE_TOLERANCE_SECONDS`` (300) from its own clock (a replayed
   capture); every retry is signed afresh, so a legitimate retry is never stale;
4. de-duplicate by ``X-Wismo-Action-Id``: delivery is at least once. After a crash or a timeout the sink cannot
   ask the receiver whether it got the record, so it sends it again; a receiver that already processed that
   action id answers 2xx and does nothing.

Any 2xx is success; 408/409/429/5xx are retried (honouring ``Retry-After``); other statuses are dead-lettered.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx
from wismo.sinks.base import CallResult, DeliveryJob, Plan, Send, Target
from wismo.sinks.http_call import request

from wismo.state_keys import WEBHOOK_SIGNATURE_TOLERANCE_SECONDS

SIGNATURE_HEADER = "X-Wismo-Signature"
TIMESTAMP_HEADER = "X-Wismo-Timestamp"
ACTION_ID_HEADER = "X-Wismo-Action-Id"
TOPIC_HEADER = "X-Wismo-Topic"


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>`` over ``{timestamp}.{body}``."""
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_headers(secret: bytes, timestamp: int, body: bytes, action_id: str, topic: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        ACTION_ID_HEADER: action_id,
        TOPIC_HEADER: topic,
    }


def verify_signature(
    secret: bytes,
    timestamp: str | None,
    body: bytes,
    signature: str | None,
    *,
    now: float,
    tolerance: float = WEBHOOK_SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """The receiver's check: a well-formed, fresh timestamp and a matching signature (constant-time)."""
    if not timestamp or not signature or not timestamp.isdigit() or not signature.startswith("sha256="):
        return False
    if abs(now - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


class SignedWebhookSink:
    target: Target = "webhook"

    def __init__(
        self, url: str, secret: str, *, timeout: float, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.url = url
        self.secret = secret.encode()
        self.client = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def plan(self, job: DeliveryJob) -> Plan:
        return Send(f"POST {self.url}")

    async def send(self, job: DeliveryJob, send: Send) -> CallResult:
        headers = signed_headers(self.secret, int(time.time()), job.raw, job.action_id, job.topic)
        got = await request(self.client, "POST", self.url, "webhook", content=job.raw, headers=headers)
        if isinstance(got, CallResult):
            return got
        return CallResult("success", got.status_code, remote_id=got.headers.get("X-Request-Id"))

    async def find(self, job: DeliveryJob, send: Send, since: float) -> CallResult:
        """The receiver cannot be asked: always ``not_found``, so the record is sent again (receivers dedupe by
        ``X-Wismo-Action-Id``)."""
        return CallResult("not_found")

    async def confirmed(self, job: DeliveryJob, send: Send, remote_id: str | None) -> None:
        return None

    async def aclose(self) -> None:
        await self.client.aclose()
