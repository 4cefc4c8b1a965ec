"""Delivers one record to one target: idempotency ledger, reconciliation, retries, audit and dead letter.

For each (record, target):

1. claim the idempotency record (:mod:`wismo.sinks.delivery_ledger`). ``done`` / ``dead_lettered``: nothing to do
   (audit ``duplicate``). Leased by another live sink: wait until it finishes or its lease expires;
2. ask the sink for a plan: :class:`Skip` is recorded as done (audit ``no_ticket``), :class:`Reject` is
   dead-lettered at once;
3. attempts, each renewing the lease first: when an earlier call may have taken effect (a claim ``resumed``
   from a crashed sink, a timeout, a 5xx), ask the target first (:meth:`Sink.find`); found -> ``reconciled``,
   never sent twice. Otherwise send. Success -> done with the remote id. A retryable failure waits
   (:mod:`wismo.sinks.backoff`) and tries again up to ``max_attempts`` (counted across restarts; a resumed
   delivery always gets one more attempt, so a crash after the last call is reconciled, not dead-lettered);
   a non-retryable failure or the last attempt -> the dead letter is published (``wismo.dlq``, the original
   record and the reason), THEN the ledger says ``dead_lettered``, an ERROR line names target and action id,
   and ``stats.dead_lettered`` counts it.

Every attempt writes one audit record. A stop request interrupts a wait (:class:`Interrupted`): the record stays
in flight, unfinished, and the next owner reconciles it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Protocol

from wismo.sinks.audit import AuditOutcome, DeliveryAudit, DeliveryStats
from wismo.sinks.backoff import BackoffPolicy
from wismo.sinks.base import CallResult, DeliveryJob, Reject, Send, Sink, Skip, Target
from wismo.sinks.delivery_ledger import Claim, DeliveryLedger
from wismo.streams.redis_state import retry_redis

from wismo.ids import stable_id
from wismo.records import DeadLetter, DeadLetterType
from wismo.state_keys import DELIVERY_BUSY_POLL_SECONDS

log = logging.getLogger(__name__)


class Interrupted(Exception):
    """A stop was requested while a delivery waited; it is left unfinished (in flight) for the next owner."""


class DeliveryOutput(Protocol):
    """Where audit records and dead letters go (Kafka in the delivery loop)."""

    async def audit(self, record: DeliveryAudit) -> None:
        """Queue one audit record (the loop waits for every acknowledgement before committing)."""
        ...

    async def dead_letter(self, record: DeadLetter) -> None:
        """Publish a dead letter and wait for the broker's acknowledgement."""
        ...


class Delivery:
    def __init__(
        self,
        ledger: DeliveryLedger,
        sinks: Mapping[Target, Sink],
        output: DeliveryOutput,
        *,
        max_attempts: int,
        backoff: BackoffPolicy,
        lease_seconds: float,
        stats: DeliveryStats,
        stopping: asyncio.Event,
        rand: Callable[[], float] = random.random,
        fault: Callable[[str], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.sinks = sinks
        self.output = output
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.lease_seconds = lease_seconds
        self.stats = stats
        self.stopping = stopping
        self.rand = rand
        self.fault = fault

    async def deliver(self, job: DeliveryJob, target: Target) -> AuditOutcome:
        """Deliver ``job`` to ``target`` exactly once as far as the target can tell; returns the final outcome.
        Raises :class:`Interrupted` on a stop request and :class:`~wismo.sinks.delivery_ledger.LostLease` when
        another sink took the delivery over; Redis outages are waited out."""
        sink = self.sinks[target]
        claim = await self._claim(job, target)
        if claim.state in ("done", "dead_lettered"):
            await self._audit(
                job, target, 0, 0.0, "duplicate", remote_id=claim.remote_id, detail=f"already {claim.state}"
            )
            return "duplicate"
        plan = await retry_redis(lambda: sink.plan(job), what=f"{target} plan")
        if isinstance(plan, Skip):
            await retry_redis(lambda: self.ledger.done(target, job.action_id, None, plan.outcome), what="ledger done")
            await self._audit(job, target, 0, 0.0, plan.outcome, detail=plan.reason)
            return plan.outcome
        if isinstance(plan, Reject):
            await self._dead_letter(job, target, claim.attempt, plan.reason, "unknown_reference", None, 0.0, 0)
            return "dead_lettered"
        return await self._attempts(job, target, sink, plan, claim)

    async def give_up(self, job: DeliveryJob, target: Target, reason: str) -> None:
        """Dead-letter a delivery that keeps failing in an unexpected way (see ``DELIVERY_INTERNAL_ERROR_LIMIT``)."""
        await self._dead_letter(job, target, 0, reason, "internal_error", None, 0.0, 0)

    async def _claim(self, job: DeliveryJob, target: Target) -> Claim:
        while True:
            claim = await retry_redis(
                lambda: self.ledger.claim(target, job.action_id, self.lease_seconds), what="ledger claim"
            )
            if claim.state != "busy":
                return claim
            await self._sleep(DELIVERY_BUSY_POLL_SECONDS)

    async def _attempts(self, job: DeliveryJob, target: Target, sink: Sink, plan: Send, claim: Claim) -> AuditOutcome:
        aid = job.action_id
        attempt = claim.attempt
        check = claim.state == "resumed"
        last = max(self.max_attempts, attempt + 1)
        while True:
            attempt += 1
            await self._renew(target, aid, attempt, self.lease_seconds)
            t0 = time.perf_counter()
            check_failed = False
            result: CallResult | None = None
            if check:
                found = await sink.find(job, plan, claim.started_at)
                if found.outcome == "success":
                    await self._finish(job, target, sink, plan, attempt, t0, "reconciled", found)
                    return "reconciled"
                if found.outcome != "not_found":
                    result, check_failed = found, True
            if result is None:
                result = await sink.send(job, plan)
                if result.outcome == "success":
                    if self.fault is not None:
                        self.fault("after_call")
                    await self._finish(job, target, sink, plan, attempt, t0, "success", result)
                    return "success"
            duration = time.perf_counter() - t0
            if not result.retryable or attempt >= last:
                reason = result.detail or f"{result.outcome} without detail"
                if result.retryable:
                    reason = f"gave up after {attempt} attempts; last: {reason}"
                await self._dead_letter(
                    job, target, attempt, reason, "internal_error", result.http_status, duration, attempt
                )
                return "dead_lettered"
            outcome: AuditOutcome = "timeout" if result.outcome == "timeout" else "error"
            await self._audit(
                job, target, attempt, duration, outcome, http_status=result.http_status, detail=result.detail
            )
            check = result.maybe_applied or check_failed
            delay = self.backoff.delay(attempt, server_wait=result.server_wait, rand=self.rand())
            await self._renew(target, aid, attempt, self.lease_seconds + delay)
            await self._sleep(delay)

    async def _renew(self, target: Target, action_id: str, attempt: int, lease: float) -> None:
        await retry_redis(lambda: self.ledger.renew(target, action_id, attempt, lease), what="ledger renew")

    async def _finish(
        self,
        job: DeliveryJob,
        target: Target,
        sink: Sink,
        plan: Send,
        attempt: int,
        t0: float,
        outcome: AuditOutcome,
        result: CallResult,
    ) -> None:
        await retry_redis(lambda: sink.confirmed(job, plan, result.remote_id), what=f"{target} confirm")
        await retry_redis(
            lambda: self.ledger.done(target, job.action_id, result.remote_id, outcome), what="ledger done"
        )
        await self._audit(
            job,
            target,
            attempt,
            time.perf_counter() - t0,
            outcome,
            http_status=result.http_status,
            remote_id=result.remote_id,
            detail=plan.what,
        )

    async def _dead_letter(
        self,
        job: DeliveryJob,
        target: Target,
        attempt: int,
        reason: str,
        error_type: DeadLetterType,
        http_status: int | None,
        duration: float,
        audit_attempt: int,
    ) -> None:
        aid = job.action_id
        full = f"{reason} (delivery to {target}, action {aid}, {attempt} attempt(s))"
        letter = DeadLetter(
            dlq_id=stable_id("dlq", "deliver", target, aid),
            reason=full,
            error_type=error_type,
            original=job.raw.decode("utf-8", "replace"),
            order_id=job.record.order_id,
            source_name=f"deliver:{target}:{job.source}",
            line=job.offset,
        )
        await self.output.dead_letter(letter)  # published before the ledger says so: never lost
        await retry_redis(lambda: self.ledger.dead_lettered(target, aid, reason), what="ledger dead-letter")
        log.error(
            "delivery dead-lettered: target=%s action_id=%s order_id=%s: %s", target, aid, job.record.order_id, reason
        )
        await self._audit(job, target, audit_attempt, duration, "dead_lettered", http_status=http_status, detail=reason)

    async def _audit(
        self,
        job: DeliveryJob,
        target: Target,
        attempt: int,
        duration: float,
        outcome: AuditOutcome,
        *,
        http_status: int | None = None,
        remote_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.stats.count(target, outcome, attempted=attempt > 0 and outcome not in ("duplicate", "no_ticket"))
        await self.output.audit(
            DeliveryAudit(
                action_id=job.action_id,
                target=target,
                attempt=attempt,
                duration_ms=round(duration * 1000),
                outcome=outcome,
                http_status=http_status,
                remote_id=remote_id,
                at=datetime.now(UTC),
                topic=job.topic,
                kind=job.record.kind,
                order_id=job.record.order_id,
                condition_type=job.record.condition_type,
                mode=job.record.mode,
                detail=detail,
            )
        )

    async def _sleep(self, seconds: float) -> None:
        if self.stopping.is_set():
            raise Interrupted
        if seconds <= 0:
            return
        try:
            await asyncio.wait_for(self.stopping.wait(), seconds)
        except TimeoutError:
            return
        raise Interrupted
