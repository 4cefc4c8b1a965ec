"""Every Redis key pattern, TTL and runtime threshold of the streaming worker, in one place.

All keys share the ``wismo:`` prefix (configurable, so two deployments can share one Redis). Keys that hold
one order's state are global, not per partition: only the worker that owns the order's partition writes
them, but any worker may read them (ticket matching). Per-partition keys carry ``{p}``, the partition
number of the input topics (every input topic has the same partition count, see topics.yaml).

Nothing grows without bound: every key has a TTL, or is a per-partition structure whose members are
removed when the case they belong to closes (follow-ups, in-progress set, outbox).
"""

from __future__ import annotations

from dataclasses import dataclass

DAY = 86_400

# ---- TTLs (seconds) ------------------------------------------------------------------------------------

OPEN_TTL = 120 * DAY
"""Order context and case of an order still in progress. Refreshed on every write, so only an order that
has had no event for 120 days expires while open: far beyond any carrier or supplier window, and a bound
on abandoned state."""

CLOSED_TTL = 30 * DAY
"""Order context and case once the case is closed (delivered, cancelled) and the order is no longer in
progress. Long enough for a late "not received" claim (which reopens the case) or a late reviewer decision;
a reopened case is written with ``OPEN_TTL`` again."""

SEEN_TTL = 14 * DAY
"""Dedupe marks. Matches the input topics' retention (topics.yaml: 14 d): Kafka cannot redeliver anything
older, and a source that resends an event after two weeks is treated as a new event."""

INDEX_TTL = 120 * DAY
"""Customer -> orders, order number -> order and ticket -> order indices used to match tickets without an
order id. The intake's match window is 90 days (policy ``match_lookback_days``); 120 keeps a margin."""

# ---- runtime thresholds -------------------------------------------------------------------------------

FOLLOW_UP_LEASE_SECONDS = 60.0
"""How long a follow-up claimed by the monitor stays in flight before the reaper returns it to the due set.
The claimed follow-up is published as a tick within milliseconds; a lease that expires means the claiming
worker died between claim and publish. A double publish is harmless (the tick id is deterministic)."""

OVERDUE_GRACE_SECONDS = 300.0
"""A follow-up still in the due set this long after its due time is reported overdue (``wismo status``): the
monitor claims due follow-ups every second, so one left that long means no worker is firing them."""

FOLLOW_UP_CLAIM_BATCH = 500
"""Follow-ups claimed per partition per monitor pass, so one pass never blocks the loop for long."""

OUTBOX_SCAN_SLACK_SECONDS = 30.0
"""On recovery, output partitions are scanned from the outbox's creation time minus this slack for records
that were already published (clock skew between the worker and the broker's timestamps)."""

INGEST_DEDUPE_TTL = 7 * DAY
"""Provider delivery ids seen by the webhook ingest. Providers retry a failed delivery for up to two days
(Shopify 48 h, EasyPost and AfterShip less); a week absorbs every retry and a manual redelivery from a
provider's dashboard the following days."""

INGEST_CLAIM_SECONDS = 30.0
"""How long an ingest request holds a delivery id while it publishes. A request that dies meanwhile frees
the id when this expires, so the provider's retry is accepted rather than lost."""

DELIVERY_RECORD_TTL = 30 * DAY
"""Idempotency records of the delivery sinks (one per action and target). Matches the output topics'
retention (topics.yaml: 30 d): a record older than that can no longer be redelivered from Kafka."""

DELIVERY_LEASE_SECONDS = 60.0
"""How long a sink owns an in-flight delivery before another may reconcile it. Longer than the total time
of one attempt (HTTP timeout 10 s plus a Retry-After capped at 30 s)."""

PROACTIVE_TICKET_TTL = 120 * DAY
"""Order -> helpdesk ticket the sink opened for a proactive update, so the next update on that order lands
on the same ticket. As long as an open case lives (``OPEN_TTL``)."""

DELIVERY_BUSY_POLL_SECONDS = 0.25
"""How often a sink that finds a delivery leased by another sink (a rebalance moved the partition while the old
owner was still delivering) checks again whether it finished or its lease expired."""

DELIVERY_RECONCILE_MAX_PAGES = 10
"""Pages (100 Zendesk comments / 200 Slack messages each) a sink reads when asking a target whether an interrupted
delivery happened. The delivery in question is among the newest on the ticket or in the channel (it is at most a
few retries old), so ten pages are plenty, and they bound the cost on a huge ticket or a busy channel."""

DELIVERY_RECONCILE_SKEW_SECONDS = 300.0
"""Slack history is searched from the delivery's first claim (Redis time) minus this margin: clock skew between
Redis and Slack must not hide the message."""

DELIVERY_MAX_POLL_INTERVAL_MS = 30 * 60 * 1000
"""Kafka ``max.poll.interval.ms`` of the delivery consumer. A batch of retried deliveries can take minutes
(attempts x (timeout + backoff cap)); a consumer polling later than this leaves the group and its commit fails,
which loses nothing (the next owner finds the deliveries done in Redis) but costs a rebalance."""

DELIVERY_INTERNAL_ERROR_LIMIT = 3
"""Unexpected errors (a bug, an answer a sink cannot read) one delivery may hit before it is dead-lettered as an
internal error. Below the limit the record is retried with its batch's next poll; at the limit it stops blocking
its partition, and a person can redrive it from ``wismo.dlq``."""

WEBHOOK_SIGNATURE_TOLERANCE_SECONDS = 300
"""How far from its own clock a webhook receiver accepts ``X-Wismo-Timestamp`` (replay protection). Retries
re-sign with a fresh timestamp, so only a captured request replayed later is refused."""

LOOKUP_BREAKER_FAILURES = 5
"""Consecutive failed live look-ups (timeouts, errors) after which a system's circuit opens: the worker stops
asking it and routes to missing_order_data at once instead of waiting for one more timeout per event."""

LOOKUP_BREAKER_OPEN_SECONDS = 30.0
"""How long an open circuit stays open before one trial request may go through (half-open)."""

REDIS_RETRY_INITIAL_SECONDS = 0.05
REDIS_RETRY_MAX_SECONDS = 5.0
"""Back-off between attempts while Redis is unreachable: doubles from the initial value up to the cap. The
worker never gives up and never commits offsets meanwhile, so nothing is lost; it just stops consuming."""


@dataclass(frozen=True, slots=True)
class Keys:
    """Key builders. ``prefix`` defaults to ``wismo``."""

    prefix: str = "wismo"

    def context(self, order_id: str) -> str:
        """Encoded :class:`~wismo.context.OrderContext` (see :mod:`wismo.state_codec`)."""
        return f"{self.prefix}:ctx:{order_id}"

    def case(self, key: str) -> str:
        """Encoded :class:`~wismo.case.CaseState` of the open (or last) case of an order id, or of
        ``ticket:<id>`` for a ticket not yet matched to an order."""
        return f"{self.prefix}:case:{key}"

    def seen(self, dedupe_key: str) -> str:
        """Dedupe mark: value ``<topic>:<partition>:<offset>`` of the message that claimed the event. The
        same message redelivered after a crash (same claimant) is recognised as already applied, not as a
        duplicate; any other message with the id is a duplicate."""
        return f"{self.prefix}:seen:{dedupe_key}"

    def by_customer(self, ref: str) -> str:
        """Set of order ids of a customer; ``ref`` is ``id:<customer id>`` or ``email:<address>``."""
        return f"{self.prefix}:idx:cust:{ref}"

    def by_number(self, number: str) -> str:
        """Order number (normalised) -> order id."""
        return f"{self.prefix}:idx:num:{number}"

    def by_ticket(self, ticket_id: str) -> str:
        """Ticket id -> order id it was matched to."""
        return f"{self.prefix}:idx:ticket:{ticket_id}"

    def follow_ups(self, partition: int) -> str:
        """Sorted set of due follow-up commitments of one partition: member ``<case key>\\x1f<case id>\\x1f
        <due ISO>``, score = due (epoch seconds)."""
        return f"{self.prefix}:fu:due:{partition}"

    def follow_ups_inflight(self, partition: int) -> str:
        """Sorted set of follow-ups claimed by the monitor: same members, score = lease expiry."""
        return f"{self.prefix}:fu:inflight:{partition}"

    def in_progress(self, partition: int) -> str:
        """Set of case keys in progress in one partition: what a ``clock.tick`` sweep evaluates."""
        return f"{self.prefix}:inprogress:{partition}"

    def outbox(self, partition: int) -> str:
        """Hash of output records not yet confirmed published, for the input partition whose events caused
        them: field = record digest, value = encoded ``(topic, key, value)``. Written atomically with the
        state; deleted once the broker acknowledged every record."""
        return f"{self.prefix}:outbox:{partition}"

    def outbox_since(self, partition: int) -> str:
        """Wall-clock ms when the outbox of that partition was first written; where a recovery scan starts."""
        return f"{self.prefix}:outbox-since:{partition}"

    def watermark(self) -> str:
        """Sorted set, member = partition number, score = the highest event time (epoch seconds) processed
        on that partition (``ZADD GT`` keeps the maximum atomically). A partition's follow-ups fall due
        against its own event time, so a partition far ahead in a backlog never fires another's early."""
        return f"{self.prefix}:watermark"

    def by_tracking(self, tracking_number: str) -> str:
        """Tracking number -> ``<order id>\x1f<shipment id>``, written when a label is created; the webhook
        ingest uses it to attach carrier webhooks (EasyPost, AfterShip) that carry no order id."""
        return f"{self.prefix}:idx:track:{tracking_number}"

    def by_fulfillment_order(self, fulfillment_order_id: str) -> str:
        """Shopify fulfillment order id (numeric) -> its order id, written by the webhook ingest after the Admin
        API named the order (hold webhooks name only the fulfillment order). A fulfillment order never moves to
        another order, so the value never goes stale; TTL ``INDEX_TTL``, like the other indices: holds come
        within an order's first weeks, and an expired entry only costs one more API call."""
        return f"{self.prefix}:idx:fo:{fulfillment_order_id}"

    def ingest_delivery(self, provider: str, delivery_id: str) -> str:
        """Webhook delivery id seen by the ingest: value ``claimed`` while publishing, ``done`` after
        (TTL ``INGEST_CLAIM_SECONDS`` then ``INGEST_DEDUPE_TTL``)."""
        return f"{self.prefix}:ingest:{provider}:{delivery_id}"

    def delivery(self, target: str, action_id: str) -> str:
        """Hash: idempotency record of one output record's delivery to one target (``zendesk``, ``slack``,
        ``webhook``): state, attempt, lease expiry, remote id (TTL ``DELIVERY_RECORD_TTL``)."""
        return f"{self.prefix}:dlv:{target}:{action_id}"

    def proactive_ticket(self, order_id: str) -> str:
        """Helpdesk ticket id a sink opened for an order's proactive update (TTL ``PROACTIVE_TICKET_TTL``)."""
        return f"{self.prefix}:dlv:ticket:{order_id}"

    def control(self) -> str:
        """Hash of runtime controls read by every worker (kill switch and mode overrides; issue 5)."""
        return f"{self.prefix}:control"


FOLLOW_UP_SEP = "\x1f"


def follow_up_member(case_key: str, case_id: str, due_iso: str) -> str:
    return f"{case_key}{FOLLOW_UP_SEP}{case_id}{FOLLOW_UP_SEP}{due_iso}"


def tracking_ref(order_id: str, shipment_id: str) -> str:
    """The value of :meth:`Keys.by_tracking`."""
    return f"{order_id}{FOLLOW_UP_SEP}{shipment_id}"


def parse_tracking_ref(value: str) -> tuple[str, str] | None:
    """``(order id, shipment id)`` from a :meth:`Keys.by_tracking` value, or None when malformed."""
    order_id, sep, shipment_id = value.partition(FOLLOW_UP_SEP)
    return (order_id, shipment_id) if sep and order_id and shipment_id else None


def parse_follow_up_member(member: str) -> tuple[str, str, str]:
    """``(case key, case id, due ISO)``; raises ValueError on a malformed member."""
    key, case_id, due = member.split(FOLLOW_UP_SEP)
    return key, case_id, due
