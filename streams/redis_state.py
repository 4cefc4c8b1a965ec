"""Redis I/O of the worker: pipelined reads and one atomic write per batch.

The batch logic (:mod:`wismo.streams.partition_batch`) says *what* it needs and *what* changed, in domain
terms; this module maps that onto the key layout of :mod:`wismo.state_keys` (the only place keys and TTLs
are defined). Guarantees:

* :meth:`RedisState.load` is one round trip (a non-transactional pipeline); it never writes.
* :meth:`RedisState.write` is one Lua script call (atomic, like ``MULTI``/``EXEC``): state, dedupe marks,
  indices, follow-ups, the in-progress sets, the outbox and the watermark change together or not at all.
  Every command in it is idempotent (``SET``, ``SADD``, ``ZADD``, ``HSET`` with the same values), so
  re-sending a call whose reply was lost (Redis restarted mid-call) is safe.
* Connection errors propagate (``redis.exceptions.ConnectionError`` / ``TimeoutError``); the caller retries
  with back-off (:func:`retry_redis`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from redis.asyncio import Redis
from redis.exceptions import BusyLoadingError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from wismo.state_keys import (
    CLOSED_TTL,
    INDEX_TTL,
    OPEN_TTL,
    REDIS_RETRY_INITIAL_SECONDS,
    REDIS_RETRY_MAX_SECONDS,
    SEEN_TTL,
    Keys,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRYABLE = (RedisConnectionError, RedisTimeoutError, BusyLoadingError, OSError)
"""Errors that mean "Redis is not reachable right now" (down, restarting, loading its AOF)."""


async def retry_redis(
    op: Callable[[], Awaitable[T]],
    *,
    what: str,
    on_failure: Callable[[BaseException], None] | None = None,
) -> T:
    """Run ``op`` until it succeeds, backing off exponentially (see ``state_keys``) while Redis is
    unreachable. Never gives up: losing the batch is worse than pausing consumption. Other errors raise."""
    delay = REDIS_RETRY_INITIAL_SECONDS
    while True:
        try:
            return await op()
        except RETRYABLE as exc:
            if on_failure is not None:
                on_failure(exc)
            log.warning("redis unavailable during %s (%s); retrying in %.2fs", what, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, REDIS_RETRY_MAX_SECONDS)


APPLY_SCRIPT = """
-- One batch's changes (ARGV[1], JSON), applied atomically. Lists are chunked: unpack() has a stack limit.
local d = cjson.decode(ARGV[1])
local function chunks(cmd, key, items, prefix)
  local n = #items
  local i = 1
  while i <= n do
    local j = math.min(i + 999, n)
    if prefix then
      redis.call(cmd, key, prefix, unpack(items, i, j))
    else
      redis.call(cmd, key, unpack(items, i, j))
    end
    i = j + 1
  end
end
for _, c in ipairs(d.set) do redis.call('SET', c[1], c[2], 'EX', c[3]) end
for _, c in ipairs(d.srem) do chunks('SREM', c[1], c[2]) end
for _, c in ipairs(d.sadd) do
  chunks('SADD', c[1], c[2])
  if c[3] > 0 then redis.call('EXPIRE', c[1], c[3]) end
end
for _, c in ipairs(d.zrem) do chunks('ZREM', c[1], c[2]) end
for _, c in ipairs(d.zadd) do chunks('ZADD', c[1], c[2]) end
for _, c in ipairs(d.zgt) do chunks('ZADD', c[1], c[2], 'GT') end
for _, c in ipairs(d.hset) do
  chunks('HSET', c[1], c[2])
  redis.call('SET', c[3], d.since, 'NX')
end
return 1
"""
"""Applies a :class:`StateWrite` (see :meth:`RedisState.write`). Chunks hold 1000 items: an even number, so a
chunk never splits a score/member or field/value pair."""


@dataclass
class LoadRequest:
    """What one batch needs from Redis."""

    seen: set[str] = field(default_factory=set)
    """dedupe keys"""
    contexts: set[str] = field(default_factory=set)
    cases: set[str] = field(default_factory=set)
    tickets: set[str] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)
    customers: set[str] = field(default_factory=set)
    follow_ups: dict[int, float] = field(default_factory=dict)
    """partition -> horizon (epoch s): due follow-ups up to it, and every in-flight one"""
    in_progress: set[int] = field(default_factory=set)
    watermarks: set[int] = field(default_factory=set)
    """partitions whose event-time watermark to read"""

    def __bool__(self) -> bool:
        return bool(
            self.seen
            or self.contexts
            or self.cases
            or self.tickets
            or self.numbers
            or self.customers
            or self.follow_ups
            or self.in_progress
            or self.watermarks
        )


@dataclass
class Loaded:
    """Raw values as stored (bytes), absent keys omitted."""

    seen: dict[str, str] = field(default_factory=dict)
    contexts: dict[str, bytes] = field(default_factory=dict)
    cases: dict[str, bytes] = field(default_factory=dict)
    tickets: dict[str, str] = field(default_factory=dict)
    numbers: dict[str, str] = field(default_factory=dict)
    customers: dict[str, set[str]] = field(default_factory=dict)
    follow_ups: dict[int, list[str]] = field(default_factory=dict)
    """partition -> members (due up to the horizon, then in flight)"""
    in_progress: dict[int, set[str]] = field(default_factory=dict)
    watermarks: dict[int, float] = field(default_factory=dict)

    def merge(self, other: Loaded) -> None:
        self.seen.update(other.seen)
        self.contexts.update(other.contexts)
        self.cases.update(other.cases)
        self.tickets.update(other.tickets)
        self.numbers.update(other.numbers)
        self.customers.update(other.customers)
        for p, members in other.follow_ups.items():
            self.follow_ups.setdefault(p, []).extend(members)
        for p, keys in other.in_progress.items():
            self.in_progress.setdefault(p, set()).update(keys)
        self.watermarks.update(other.watermarks)


@dataclass
class StateWrite:
    """Everything one batch changed. ``open`` tells which contexts/cases get ``OPEN_TTL``."""

    contexts: dict[str, tuple[bytes, bool]] = field(default_factory=dict)
    """order id -> (encoded, still open)"""
    cases: dict[str, tuple[bytes, bool]] = field(default_factory=dict)
    seen: dict[str, str] = field(default_factory=dict)
    """dedupe key -> claimant"""
    tickets: dict[str, str] = field(default_factory=dict)
    numbers: dict[str, str] = field(default_factory=dict)
    customers: dict[str, set[str]] = field(default_factory=dict)
    tracking: dict[str, str] = field(default_factory=dict)
    """tracking number -> ``<order id>\x1f<shipment id>`` (for the webhook ingest's carrier look-ups)"""
    follow_ups_add: dict[int, dict[str, float]] = field(default_factory=dict)
    follow_ups_remove: dict[int, set[str]] = field(default_factory=dict)
    in_progress_add: dict[int, set[str]] = field(default_factory=dict)
    in_progress_remove: dict[int, set[str]] = field(default_factory=dict)
    outbox: dict[int, dict[str, bytes]] = field(default_factory=dict)
    outbox_since_ms: int = 0
    watermarks: dict[int, float] = field(default_factory=dict)


class RedisState:
    """Batch reads and writes against one Redis (any client of ``redis.asyncio``)."""

    def __init__(self, redis: Redis, keys: Keys | None = None) -> None:
        self.redis = redis
        self.keys = keys or Keys()
        self._apply = redis.register_script(APPLY_SCRIPT)

    async def load(self, req: LoadRequest) -> Loaded:
        """One pipelined round trip. Values come back as stored; nothing is decoded here."""
        k = self.keys
        out = Loaded()
        if not req:
            return out
        pipe = self.redis.pipeline(transaction=False)
        seen = sorted(req.seen)
        ctxs = sorted(req.contexts)
        cases = sorted(req.cases)
        tickets = sorted(req.tickets)
        numbers = sorted(req.numbers)
        customers = sorted(req.customers)
        fu_parts = sorted(req.follow_ups)
        ip_parts = sorted(req.in_progress)
        wm_parts = sorted(req.watermarks)
        if seen:
            pipe.mget([k.seen(s) for s in seen])
        if ctxs:
            pipe.mget([k.context(o) for o in ctxs])
        if cases:
            pipe.mget([k.case(c) for c in cases])
        if tickets:
            pipe.mget([k.by_ticket(t) for t in tickets])
        if numbers:
            pipe.mget([k.by_number(n) for n in numbers])
        for c in customers:
            pipe.smembers(k.by_customer(c))
        for p in fu_parts:
            pipe.zrangebyscore(k.follow_ups(p), "-inf", req.follow_ups[p])
            pipe.zrange(k.follow_ups_inflight(p), 0, -1)
        for p in ip_parts:
            pipe.smembers(k.in_progress(p))
        if wm_parts:
            pipe.zmscore(k.watermark(), [str(p) for p in wm_parts])
        res: list[Any] = await pipe.execute()
        it = iter(res)
        if seen:
            out.seen = {s: _text(v) for s, v in zip(seen, next(it), strict=True) if v is not None}
        if ctxs:
            out.contexts = {o: v for o, v in zip(ctxs, next(it), strict=True) if v is not None}
        if cases:
            out.cases = {c: v for c, v in zip(cases, next(it), strict=True) if v is not None}
        if tickets:
            out.tickets = {t: _text(v) for t, v in zip(tickets, next(it), strict=True) if v is not None}
        if numbers:
            out.numbers = {n: _text(v) for n, v in zip(numbers, next(it), strict=True) if v is not None}
        for c in customers:
            members = next(it)
            if members:
                out.customers[c] = {_text(m) for m in members}
        for p in fu_parts:
            due = [_text(m) for m in next(it)]
            inflight = [_text(m) for m in next(it)]
            out.follow_ups[p] = due + [m for m in inflight if m not in set(due)]
        for p in ip_parts:
            out.in_progress[p] = {_text(m) for m in next(it)}
        if wm_parts:
            scores = next(it)
            out.watermarks = {p: float(s) for p, s in zip(wm_parts, scores, strict=True) if s is not None}
        return out

    async def write(self, w: StateWrite) -> None:
        """Apply every change of the batch atomically, in one round trip: one Lua script call whose single
        argument is the whole change set as JSON (packing thousands of commands in redis-py costs more CPU
        than the pipeline itself). Idempotent; safe to resend. Every value is UTF-8 text (the state codec and
        the records write JSON), so it travels inside the JSON document as a string."""
        doc = self._change_set(w)
        if doc is not None:
            await self._apply(keys=[], args=[doc])

    def _change_set(self, w: StateWrite) -> bytes | None:
        k = self.keys
        sets: list[list[object]] = []
        for order_id, (data, is_open) in w.contexts.items():
            sets.append([k.context(order_id), data.decode(), OPEN_TTL if is_open else CLOSED_TTL])
        for key, (data, is_open) in w.cases.items():
            sets.append([k.case(key), data.decode(), OPEN_TTL if is_open else CLOSED_TTL])
        for dedupe_key, claimant in w.seen.items():
            sets.append([k.seen(dedupe_key), claimant, SEEN_TTL])
        for ticket_id, order_id in w.tickets.items():
            sets.append([k.by_ticket(ticket_id), order_id, INDEX_TTL])
        for number, order_id in w.numbers.items():
            sets.append([k.by_number(number), order_id, INDEX_TTL])
        for number, ref in w.tracking.items():
            sets.append([k.by_tracking(number), ref, INDEX_TTL])
        sadd = [[k.by_customer(ref), sorted(ids), INDEX_TTL] for ref, ids in w.customers.items() if ids]
        sadd += [[k.in_progress(p), sorted(keys), 0] for p, keys in w.in_progress_add.items() if keys]
        srem = [[k.in_progress(p), sorted(keys)] for p, keys in w.in_progress_remove.items() if keys]
        zrem: list[list[object]] = []
        for p, members in w.follow_ups_remove.items():
            if members:
                zrem.append([k.follow_ups(p), sorted(members)])
                zrem.append([k.follow_ups_inflight(p), sorted(members)])
        zadd = [
            [k.follow_ups(p), [x for m, score in sorted(scored.items()) for x in (score, m)]]
            for p, scored in w.follow_ups_add.items()
            if scored
        ]
        hset = [
            [k.outbox(p), [x for f, v in records.items() for x in (f, v.decode())], k.outbox_since(p)]
            for p, records in w.outbox.items()
            if records
        ]
        zgt = [[k.watermark(), [x for p, wm in w.watermarks.items() for x in (wm, str(p))]]] if w.watermarks else []
        if not (sets or sadd or srem or zrem or zadd or hset or zgt):
            return None
        return orjson.dumps(
            {
                "set": sets,
                "sadd": sadd,
                "srem": srem,
                "zrem": zrem,
                "zadd": zadd,
                "zgt": zgt,
                "hset": hset,
                "since": w.outbox_since_ms,
            }
        )

    async def outbox(self, partition: int) -> tuple[dict[str, bytes], int | None]:
        """The pending outbox of a partition and when it was first written (wall-clock ms)."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(self.keys.outbox(partition))
        pipe.get(self.keys.outbox_since(partition))
        records, since = await pipe.execute()
        return {_text(f): v for f, v in records.items()}, int(since) if since is not None else None

    async def clear_outbox(self, partitions: set[int]) -> None:
        """Forget published outboxes (after the broker acknowledged every record)."""
        if partitions:
            keys = [self.keys.outbox(p) for p in partitions] + [self.keys.outbox_since(p) for p in partitions]
            await self.redis.delete(*keys)


def _text(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v
