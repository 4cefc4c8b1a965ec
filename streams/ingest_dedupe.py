"""De-duplication of webhook deliveries by the provider's delivery id.

Which id (:func:`delivery_id`), first match wins:

1. ``Adapted.delivery_id`` (docs/adapters.md): Shopify ``X-Shopify-Event-Id``, else ``X-Shopify-Webhook-Id``
   (both the same on every retry of one delivery); EasyPost the Event ``id`` (``evt_...``); AfterShip
   ``event_id``; Zendesk the event webhook's ``id`` (an audit body: the audit id); Slack the interaction's
   ``trigger_id`` (Slack does not retry interactions; every click has a new one);
2. when the adapter gave none: Shopify ``X-Shopify-Webhook-Id``; Zendesk ``X-Zendesk-Webhook-Invocation-Id``;
   EasyPost ``id``; AfterShip ``event_id``; Slack ``<user.id>:<actions[0].action_ts>``.

A delivery with none of these is published without de-duplication: the adapters' event ids are deterministic,
so the engine's own dedupe still absorbs a resend.

Protocol (:class:`DeliveryLedger`), on ``Keys.ingest_delivery(provider, id)``: ``SET NX "claimed"`` with TTL
``INGEST_CLAIM_SECONDS``; publish; ``SET "done"`` with TTL ``INGEST_DEDUPE_TTL``. A failed publish deletes the
claim (only while it is still ``claimed``) so the provider's retry is accepted; a request that dies meanwhile
frees it when the claim expires. Redis errors propagate (the ingest answers 503).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

from redis.asyncio import Redis
from wismo.processors.adapters.base import Adapted

from wismo.state_keys import INGEST_CLAIM_SECONDS, INGEST_DEDUPE_TTL, Keys

CLAIMED = b"claimed"
DONE = b"done"

DELIVERY_HEADERS = {
    "shopify": "x-shopify-webhook-id",
    "zendesk": "x-zendesk-webhook-invocation-id",
}

# Delete the key only while it still holds "claimed": never undo another request's "done".
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _slack_click(body: Mapping[str, Any]) -> str | None:
    user = body.get("user")
    actions = body.get("actions")
    user_id = _text(user.get("id")) if isinstance(user, dict) else None
    first = actions[0] if isinstance(actions, list) and actions else None
    action_ts = _text(first.get("action_ts")) if isinstance(first, dict) else None
    return f"{user_id}:{action_ts}" if user_id and action_ts else None


def delivery_id(provider: str, headers: Mapping[str, str], body: Mapping[str, Any], adapted: Adapted) -> str | None:
    """The id the ingest de-duplicates ``provider``'s delivery on (see the module docstring); None if none."""
    if adapted.delivery_id:
        return adapted.delivery_id
    header = DELIVERY_HEADERS.get(provider)
    if header and headers.get(header):
        return headers[header]
    if provider == "easypost":
        return _text(body.get("id"))
    if provider == "aftership":
        return _text(body.get("event_id"))
    if provider == "slack":
        return _slack_click(body)
    return None


class Claim(Enum):
    NEW = "new"
    """This request owns the delivery: publish, then :meth:`DeliveryLedger.done` or :meth:`~.release`."""
    DONE = "done"
    """Already published by an earlier request: answer success, publish nothing."""
    IN_FLIGHT = "in_flight"
    """Another request is publishing it right now: answer 503 so the provider retries later."""


class DeliveryLedger:
    """The claimed/done marks of webhook deliveries in Redis."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._release = redis.register_script(_RELEASE)

    async def claim(self, provider: str, delivery: str) -> Claim:
        key = self._keys.ingest_delivery(provider, delivery)
        if await self._redis.set(key, CLAIMED, nx=True, px=int(INGEST_CLAIM_SECONDS * 1000)):
            return Claim.NEW
        # A claim released or expired between the SET and this GET reads as in flight: the retry will win.
        return Claim.DONE if await self._redis.get(key) in (DONE, DONE.decode()) else Claim.IN_FLIGHT

    async def done(self, provider: str, delivery: str) -> None:
        await self._redis.set(self._keys.ingest_delivery(provider, delivery), DONE, ex=INGEST_DEDUPE_TTL)

    async def release(self, provider: str, delivery: str) -> None:
        await self._release(keys=[self._keys.ingest_delivery(provider, delivery)], args=[CLAIMED])
