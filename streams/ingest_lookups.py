"""What the ingest reads from Redis before calling an adapter: which order and shipment a carrier webhook's
tracking number belongs to (the worker writes ``Keys.by_tracking`` when a label is created).

:func:`tracking_numbers` is pure and never raises; :func:`load_lookups` raises ``redis`` errors (the ingest
answers 503 then, and the provider retries). A malformed index value counts as no link, so the adapter
dead-letters the webhook as unlinked rather than guessing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from wismo.processors.adapters.base import ShipmentRef, StaticLookups

from wismo.state_keys import Keys, parse_tracking_ref


def _at(obj: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(name)
    return obj


def tracking_numbers(provider: str, body: Any) -> list[str]:
    """Tracking numbers a carrier delivery is about: EasyPost ``result.tracking_code`` (a Tracker event),
    AfterShip ``msg.tracking_number``. Empty for other providers and for bodies without one."""
    if provider == "easypost":
        found = _at(body, "result", "tracking_code")
    elif provider == "aftership":
        found = _at(body, "msg", "tracking_number")
    else:
        return []
    return [found] if isinstance(found, str) and found else []


def parse_shipment_ref(value: bytes | str | None) -> ShipmentRef | None:
    """A ``Keys.by_tracking`` value, or None when it is absent or malformed."""
    if value is None:
        return None
    parsed = parse_tracking_ref(value.decode("utf-8", "replace") if isinstance(value, bytes) else value)
    return ShipmentRef(order_id=parsed[0], shipment_id=parsed[1]) if parsed is not None else None


async def load_lookups(redis: Redis, keys: Keys, numbers: Sequence[str]) -> StaticLookups:
    """The shipments linked to ``numbers`` (one MGET); numbers without a valid link are left out."""
    if not numbers:
        return StaticLookups()
    values = await redis.mget([keys.by_tracking(n) for n in numbers])
    shipments = {}
    for number, value in zip(numbers, values, strict=True):
        ref = parse_shipment_ref(value)
        if ref is not None:
            shipments[number] = ref
    return StaticLookups(shipments)
