"""What every delivery sink implements, and the values passed between a sink and the delivery loop.

A sink knows one target's API; it never retries, sleeps or touches the idempotency ledger (that is
:mod:`wismo.sinks.delivery`). For one record it answers three questions:

* :meth:`Sink.plan`: what to do (:class:`Send`), or that the record does not go there (:class:`Skip`), or that
  it cannot go there for a reason a person must fix (:class:`Reject`: dead-lettered without a call);
* :meth:`Sink.send`: one call to the target;
* :meth:`Sink.find`: whether an earlier call whose outcome is unknown (a crash, a timeout) took effect, by asking
  the target. A sink that cannot ask answers ``not_found`` and relies on the receiver's dedupe by action id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from wismo.records import ActionRecord

Target = Literal["zendesk", "slack", "webhook"]
TARGETS: tuple[Target, ...] = ("zendesk", "slack", "webhook")

CallOutcome = Literal["success", "not_found", "timeout", "error"]


@dataclass(frozen=True, slots=True)
class DeliveryJob:
    """One output record to deliver. ``topic`` is the canonical topic name (no prefix); ``raw`` the exact bytes
    read from Kafka (what the webhook posts and the dead-letter keeps); ``source`` names where it was read
    (``<topic>[<partition>]``) and ``offset`` its offset there."""

    topic: str
    record: ActionRecord
    raw: bytes
    source: str
    offset: int

    @property
    def action_id(self) -> str:
        return self.record.action_id


@dataclass(frozen=True, slots=True)
class Send:
    """A call to make. ``what`` says it for people (audit detail, logs); ``request`` is the sink's own data."""

    what: str
    request: Any = None


@dataclass(frozen=True, slots=True)
class Skip:
    """Nothing to deliver to this target, and that is not an error (audit ``outcome``, e.g. ``no_ticket``)."""

    outcome: Literal["no_ticket"]
    reason: str


@dataclass(frozen=True, slots=True)
class Reject:
    """The record cannot be delivered to this target until a person acts: dead-lettered with ``reason``."""

    reason: str


Plan = Send | Skip | Reject


@dataclass(frozen=True, slots=True)
class CallResult:
    """The result of one call (or one reconciliation look-up).

    ``success``: done (``remote_id`` names what was created). ``not_found``: a look-up found no earlier delivery.
    ``timeout`` / ``error``: failed; ``retryable`` says whether trying again can help, ``maybe_applied`` whether
    the target may have acted anyway (the next attempt then asks before sending again), ``server_wait`` is what
    the server asked to wait (Retry-After, rate-limit reset) in seconds."""

    outcome: CallOutcome
    http_status: int | None = None
    remote_id: str | None = None
    retryable: bool = False
    maybe_applied: bool = False
    server_wait: float | None = None
    detail: str | None = None


class Sink(Protocol):
    target: Target

    async def plan(self, job: DeliveryJob) -> Plan: ...

    async def send(self, job: DeliveryJob, send: Send) -> CallResult: ...

    async def find(self, job: DeliveryJob, send: Send, since: float) -> CallResult:
        """``success`` with the remote id when ``send`` already took effect, ``not_found`` when it did not,
        ``timeout``/``error`` when the target could not say. ``since``: epoch seconds of the delivery's first
        claim (earlier calls cannot have happened before it)."""
        ...

    async def confirmed(self, job: DeliveryJob, send: Send, remote_id: str | None) -> None:
        """Called once a delivery succeeded or was found, before it is recorded as done (may run twice)."""
        ...

    async def aclose(self) -> None: ...
