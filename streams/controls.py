"""Run-time rollout controls shared by every worker through one Redis hash (:meth:`Keys.control`).

Fields: ``kill_switch`` (``on`` while set: every customer message becomes a testing-mode draft note);
``demoted:<condition>`` (that condition runs in testing mode; the value says who or what demoted it, when and
why). ``wismo control`` writes them; each worker reads them every ``control_interval_seconds`` (1 s by
default), so a change reaches running workers within seconds, with no restart. A worker also demotes a
condition by itself when its rates cross the policy's ``rollout.demotion`` limits (:mod:`wismo.rollout`),
logging an ``ALERT`` line and exporting ``wismo_condition_demoted`` for the alert rules.

If Redis cannot be read, the last controls read stay in force (logged); nothing is relaxed by an outage.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from wismo.conditions import PRECEDENCE, ConditionType
from wismo.pipeline import Pipeline
from wismo.policy import CHANNELS
from wismo.rollout import RateWindow, condition_counts, demotions
from wismo.state_keys import Keys

log = logging.getLogger(__name__)

KILL_SWITCH = "kill_switch"
DEMOTED = "demoted:"


async def read_controls(redis: Redis, keys: Keys) -> tuple[bool, dict[str, dict[str, Any]]]:
    """(kill switch on, {demoted condition: {by, at, reason}})."""
    raw = await redis.hgetall(keys.control())
    fields = {_s(k): _s(v) for k, v in raw.items()}
    demoted: dict[str, dict[str, Any]] = {}
    for name, value in fields.items():
        if name.startswith(DEMOTED) and name[len(DEMOTED) :] in PRECEDENCE:
            try:
                info = orjson.loads(value)
            except orjson.JSONDecodeError:
                info = {"reason": value}
            demoted[name[len(DEMOTED) :]] = info if isinstance(info, dict) else {"reason": str(info)}
    return fields.get(KILL_SWITCH) == "on", demoted


async def set_kill_switch(redis: Redis, keys: Keys, on: bool) -> None:
    if on:
        await redis.hset(keys.control(), KILL_SWITCH, "on")
    else:
        await redis.hdel(keys.control(), KILL_SWITCH)


async def demote(redis: Redis, keys: Keys, condition: str, by: str, reason: str) -> bool:
    """Demote ``condition`` unless it already is (the first reason stays). True when this call demoted it."""
    info = orjson.dumps({"by": by, "at": datetime.now(UTC).isoformat(), "reason": reason})
    return bool(await redis.hsetnx(keys.control(), DEMOTED + condition, info))


async def promote(redis: Redis, keys: Keys, condition: str) -> bool:
    return bool(await redis.hdel(keys.control(), DEMOTED + condition))


class RuntimeControls:
    """One worker's view of the controls, and its automatic demotion. ``tick()`` on a timer."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        pipeline: Pipeline,
        who: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.pipeline = pipeline
        self.base = pipeline.policy
        self.who = who
        self.clock = clock
        limits = self.base.rollout.demotion
        self.window = RateWindow(limits.window_minutes * 60)
        self._last: dict[str, Counter[str]] = {}
        self.kill_switch = False
        self.demoted: frozenset[ConditionType] = frozenset()
        self.live = [c for c in PRECEDENCE if any(self.base.mode_for(ch, c) == "live" for ch in CHANNELS)]
        """conditions the policy sends live on some channel: the only ones automatic demotion applies to"""

    async def tick(self) -> None:
        """Count the last interval, demote what crossed a limit, read the controls and apply them."""
        now = self.clock()
        self._observe(now)
        try:
            for cond, reason in demotions(self.window.totals(now), self.base.rollout.demotion, self._still_live()):
                if await demote(self.redis, self.keys, cond, f"automatic ({self.who})", reason):
                    log.error("ALERT: condition %s demoted to testing mode: %s", cond, reason)
            kill, demoted = await read_controls(self.redis, self.keys)
        except RedisError:
            log.warning("could not read the run-time controls; keeping the last ones", exc_info=True)
            return
        self.apply(kill, frozenset(c for c in PRECEDENCE if c in demoted))

    def apply(self, kill_switch: bool, demoted: frozenset[ConditionType]) -> None:
        if (kill_switch, demoted) == (self.kill_switch, self.demoted):
            return
        log.warning("run-time controls: kill switch %s, demoted %s", "on" if kill_switch else "off", sorted(demoted))
        self.kill_switch, self.demoted = kill_switch, demoted
        self.pipeline.policy = self.base.with_controls(kill_switch, demoted)

    def _still_live(self) -> list[ConditionType]:
        return [c for c in self.live if c not in self.demoted]

    def _observe(self, now: float) -> None:
        s = self.pipeline.stats
        current = condition_counts(s.conditions, s.escalations, s.guardrail_failures)
        for cond, counts in current.items():
            delta = counts - self._last.get(cond, Counter())
            if delta:
                self.window.add(now, cond, **delta)
        self._last = current


def _s(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v
