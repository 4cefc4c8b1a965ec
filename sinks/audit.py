"""The delivery audit (topic ``wismo.deliveries``): one record per delivery attempt, and counters for alerts.

Outcomes: ``success`` (delivered by this attempt), ``reconciled`` (an earlier, interrupted attempt had delivered
it: found at the target, not sent again), ``timeout`` / ``error`` (failed; another attempt follows),
``dead_lettered`` (failed for good: the record is on ``wismo.dlq``), ``duplicate`` (already delivered or
dead-lettered before: nothing done) and ``no_ticket`` (an internal note for an order with no helpdesk ticket:
nothing to attach it to; it stays on ``wismo.notes``). ``attempt`` is 1-based and counts across restarts; 0 means
no call was made (``duplicate``, ``no_ticket``, or a record dead-lettered without a call).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

TOPIC_DELIVERIES = "wismo.deliveries"

AuditOutcome = Literal["success", "timeout", "error", "duplicate", "reconciled", "dead_lettered", "no_ticket"]


class DeliveryAudit(BaseModel):
    """One delivery attempt (or a decision not to attempt). Key on the topic: the order id."""

    model_config = ConfigDict(extra="forbid")

    action_id: str
    target: str
    attempt: int
    duration_ms: int
    outcome: AuditOutcome
    http_status: int | None
    remote_id: str | None
    at: datetime
    topic: str
    kind: str | None = None
    order_id: str | None = None
    condition_type: str | None = None
    mode: str | None = None
    detail: str | None = None
    """Why it failed, what was skipped, or what was sent (``public comment on ticket 123``)."""


@dataclass
class DeliveryStats:
    """Counters per target, for the worker's metrics and for alerting. ``dead_lettered`` is the alert counter:
    every increment is also an ERROR log line naming the target and the action id. ``outcomes`` counts every audit
    record by (target, outcome): what ``wismo deliver`` exports as ``wismo_delivery_attempts_total``."""

    outcomes: Counter[tuple[str, AuditOutcome]] = field(default_factory=Counter)
    attempts: Counter[str] = field(default_factory=Counter)
    delivered: Counter[str] = field(default_factory=Counter)
    reconciled: Counter[str] = field(default_factory=Counter)
    duplicates: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    failed_attempts: Counter[str] = field(default_factory=Counter)
    dead_lettered: Counter[str] = field(default_factory=Counter)
    invalid_records: int = 0
    """Records on an action topic that are not valid action records (dead-lettered, no target tried)."""

    def count(self, target: str, outcome: AuditOutcome, attempted: bool) -> None:
        """One audit record (call it once per record written to ``wismo.deliveries``)."""
        self.outcomes[(target, outcome)] += 1
        if attempted:
            self.attempts[target] += 1
        bucket = {
            "success": self.delivered,
            "reconciled": self.reconciled,
            "duplicate": self.duplicates,
            "no_ticket": self.skipped,
            "dead_lettered": self.dead_lettered,
        }.get(outcome, self.failed_attempts)
        bucket[target] += 1
