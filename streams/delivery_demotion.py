"""Automatic demotion by delivery errors, in ``wismo deliver``: the worker sees guardrail failures and
escalations, only the sinks see deliveries fail. Per condition, over the policy's ``rollout.demotion`` window,
failed attempts (timeout, error, dead-lettered) per attempt of live records; a condition above
``max_delivery_error_rate`` (after ``min_deliveries``) is demoted to testing mode through the same Redis control
hash the workers read (:mod:`wismo.streams.controls`), with an ``ALERT`` log line. Testing-mode records (internal
notes) are not counted: demoting a condition that sends nothing live would change nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError
from wismo.sinks.audit import DeliveryAudit
from wismo.streams.controls import demote

from wismo.conditions import PRECEDENCE
from wismo.policy import Demotion
from wismo.rollout import RateWindow, demotions
from wismo.state_keys import Keys

log = logging.getLogger(__name__)

COUNTED = {"success": 0, "reconciled": 0, "timeout": 1, "error": 1, "dead_lettered": 1}
"""Audit outcomes that are a delivery attempt, and whether each is a failure."""


class DeliveryDemotion:
    def __init__(
        self, redis: Redis, keys: Keys, limits: Demotion, who: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.redis, self.keys, self.limits, self.who, self.clock = redis, keys, limits, who, clock
        self.window = RateWindow(limits.window_minutes * 60)
        self.demoted: set[str] = set()

    def observe(self, audit: DeliveryAudit) -> None:
        failed = COUNTED.get(audit.outcome)
        if failed is None or audit.mode != "live" or audit.condition_type not in PRECEDENCE:
            return
        self.window.add(self.clock(), audit.condition_type, deliveries=1, delivery_errors=failed)

    async def check(self) -> None:
        """Demote what crossed the limit (once per condition per process; Redis errors are logged, retried at
        the next check)."""
        live = [c for c in PRECEDENCE if c not in self.demoted]
        for cond, reason in demotions(self.window.totals(self.clock()), self.limits, live):
            try:
                if await demote(self.redis, self.keys, cond, f"automatic ({self.who})", reason):
                    log.error("ALERT: condition %s demoted to testing mode: %s", cond, reason)
            except RedisError:
                log.warning("could not write the demotion of %s; retrying later", cond, exc_info=True)
                continue
            self.demoted.add(cond)
