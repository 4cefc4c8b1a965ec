"""The idempotency record of every delivery: one Redis hash per action and target (``Keys.delivery``).

Fields: ``state`` (``in_flight``, ``done``, ``dead_lettered``), ``attempt`` (attempts made so far), ``lease_until``
(epoch seconds), ``owner`` (the sink process holding the lease), ``started_at`` (first claim), ``remote_id`` and
``outcome`` once finished. Every time is Redis server time (``TIME`` inside the scripts), so sinks on hosts with
skewed clocks agree on who owns a lease.

Guarantees: :meth:`DeliveryLedger.claim` is atomic, so two sinks never both own a live lease; a record found
``done`` or ``dead_lettered`` is never delivered again; a record found ``in_flight`` with an expired lease is
handed over as ``resumed`` (the caller must reconcile before sending). Every write refreshes the TTL
(``DELIVERY_RECORD_TTL``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis

from wismo.state_keys import DELIVERY_RECORD_TTL, Keys

ClaimState = Literal["new", "resumed", "busy", "done", "dead_lettered"]

_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) + tonumber(t[2]) / 1000000 "

_CLAIM = (
    _NOW
    + """
local st = redis.call('HGET', KEYS[1], 'state')
if not st then
  redis.call('HSET', KEYS[1], 'state', 'in_flight', 'attempt', 0, 'owner', ARGV[1],
             'lease_until', tostring(now + tonumber(ARGV[2])), 'started_at', tostring(now))
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  return {'new', '0', '', tostring(now), tostring(now)}
end
local f = redis.call('HMGET', KEYS[1], 'attempt', 'remote_id', 'started_at', 'lease_until', 'owner')
local attempt, remote, started = f[1] or '0', f[2] or '', f[3] or tostring(now)
if st ~= 'in_flight' then
  return {st, attempt, remote, started, tostring(now)}
end
if tonumber(f[4] or '0') > now and f[5] ~= ARGV[1] then
  return {'busy', attempt, '', started, f[4]}
end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'lease_until', tostring(now + tonumber(ARGV[2])))
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {'resumed', attempt, '', started, tostring(now)}
"""
)

_RENEW = (
    _NOW
    + """
local f = redis.call('HMGET', KEYS[1], 'state', 'owner')
if f[1] ~= 'in_flight' or f[2] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'attempt', ARGV[2], 'lease_until', tostring(now + tonumber(ARGV[3])))
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""
)

_FINISH = (
    _NOW
    + """
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'remote_id', ARGV[2], 'outcome', ARGV[3], 'finished_at',
           tostring(now), 'lease_until', '0')
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""
)


@dataclass(frozen=True, slots=True)
class Claim:
    """What :meth:`DeliveryLedger.claim` found. ``attempt``: attempts already made. ``started_at``: first claim
    (epoch s). ``remote_id``: of a finished delivery. ``until``: for ``busy``, when the other owner's lease ends."""

    state: ClaimState
    attempt: int
    remote_id: str | None
    started_at: float
    until: float


class LostLease(Exception):
    """Another sink took the delivery over (this sink's lease had expired): stop without sending."""


class DeliveryLedger:
    """Idempotency records in Redis. ``owner`` identifies this sink process (unique per process start)."""

    def __init__(self, redis: Redis, keys: Keys, owner: str, *, ttl: int = DELIVERY_RECORD_TTL) -> None:
        self.redis = redis
        self.keys = keys
        self.owner = owner
        self.ttl = ttl
        self._claim = redis.register_script(_CLAIM)
        self._renew = redis.register_script(_RENEW)
        self._finish = redis.register_script(_FINISH)

    async def claim(self, target: str, action_id: str, lease_seconds: float) -> Claim:
        """Take the lease unless the delivery is finished or leased by another live owner."""
        res = await self._claim(
            keys=[self.keys.delivery(target, action_id)], args=[self.owner, lease_seconds, self.ttl]
        )
        state, attempt, remote, started, until = (_text(v) for v in res)
        return Claim(
            state=state,  # type: ignore[arg-type]
            attempt=int(attempt),
            remote_id=remote or None,
            started_at=float(started),
            until=float(until),
        )

    async def renew(self, target: str, action_id: str, attempt: int, lease_seconds: float) -> None:
        """Record attempt ``attempt`` and extend the lease by ``lease_seconds`` from now. Raises
        :class:`LostLease` when this sink no longer owns the delivery."""
        ok = await self._renew(
            keys=[self.keys.delivery(target, action_id)], args=[self.owner, attempt, lease_seconds, self.ttl]
        )
        if not ok:
            raise LostLease(f"{target} delivery of {action_id} was taken over by another sink")

    async def done(self, target: str, action_id: str, remote_id: str | None, outcome: str) -> None:
        """Finished: delivered, found delivered, or deliberately skipped. Unconditional (a success is a fact)."""
        await self._finish(
            keys=[self.keys.delivery(target, action_id)], args=["done", remote_id or "", outcome, self.ttl]
        )

    async def dead_lettered(self, target: str, action_id: str, reason: str) -> None:
        """Finished without delivery; the dead letter is already published."""
        await self._finish(keys=[self.keys.delivery(target, action_id)], args=["dead_lettered", "", reason, self.ttl])

    async def read(self, target: str, action_id: str) -> dict[str, str]:
        """The raw record (empty when none): for operators and tests."""
        raw = await self.redis.hgetall(self.keys.delivery(target, action_id))
        return {_text(k): _text(v) for k, v in raw.items()}


def _text(value: bytes | str | int) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
