"""One batch of one input partition through the pipeline, against state loaded from Redis.

The worker owns partition numbers (the same number of every input topic, by the range assignor), so
every event of an order is processed by one worker, in partition order. For each partition of a batch:

1. :meth:`PartitionBatch.first_request` says what to read (dedupe marks, the orders' contexts and cases,
   ticket-matching indices, due follow-ups, the in-progress set for a sweep, the watermark);
2. :meth:`PartitionBatch.second_request` reads what the first answer revealed (matched orders, follow-up
   cases, sweep members, the dedupe marks of due follow-ups);
3. :meth:`PartitionBatch.run` builds a :class:`~wismo.pipeline.MemoryState` view of exactly that state,
   runs every event through the same :class:`~wismo.pipeline.Pipeline` as ``wismo replay``, and returns the
   outputs and a :class:`~wismo.streams.redis_state.StateWrite` of what changed.

Dedupe is keyed by ``event_id`` and records the claimant (topic, partition, offset): the claimant's own
message redelivered after a crash is recognised as already applied (its outputs are in the outbox, see
:mod:`wismo.streams.outbox`); any other message with a known id is a duplicate. A ``clock.tick`` sweep
(no order) is sent to every partition, so its dedupe key carries the partition (``<event_id>@<p>``).
No I/O here: the caller does the reads and writes.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import blake2b
from typing import TypeGuard

from aiokafka.partitioner import murmur2
from pydantic import BaseModel
from wismo.processors.intake import parse_line
from wismo.streams.live_lookups import LookupRequest, LookupResult
from wismo.streams.redis_state import Loaded, LoadRequest, StateWrite
from wismo.streams.state_cache import DecodedCache

from wismo.case import CaseState
from wismo.context import OrderContext
from wismo.events import ClockTick, Event, LabelCreated, TicketMessage
from wismo.ids import follow_up_event_id
from wismo.pipeline import (
    FOLLOW_UP_TICK_ID,
    FORWARD_TICKET,
    MemoryState,
    Output,
    Pipeline,
    TicketLookup,
    in_progress,
    sweep_slice_tick,
)
from wismo.records import TOPIC_DLQ, DeadLetter, record_json
from wismo.state_codec import decode_case, decode_context, encode_case, encode_context
from wismo.state_keys import follow_up_member, parse_follow_up_member, tracking_ref


def partition_for(order_id: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, as the Java client and aiokafka) gives a key."""
    return partition_of(order_id.encode(), partitions)


def partition_of(key: bytes | None, partitions: int) -> int:
    """:func:`partition_for` of a raw key; a record without a key goes to partition 0."""
    if key is None:
        return 0
    h: int = murmur2(key)
    return (h & 0x7FFFFFFF) % partitions


@dataclass(frozen=True, slots=True)
class InRecord:
    """One consumed Kafka message."""

    topic: str
    partition: int
    offset: int
    value: bytes
    timestamp_ms: int = 0

    @property
    def claimant(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"


@dataclass(frozen=True, slots=True)
class OutRecord:
    """One record to publish. ``topic`` is the canonical output topic name (or the ticket input topic for a
    forwarded ticket); the worker maps it to the configured name."""

    topic: str
    key: bytes | None
    value: bytes

    def digest(self) -> str:
        h = blake2b(digest_size=12)
        h.update(self.topic.encode())
        h.update(b"\x1f")
        h.update(self.key or b"")
        h.update(b"\x1f")
        h.update(self.value)
        return h.hexdigest()

    def encode(self) -> bytes:
        return b"\x1f".join((self.topic.encode(), self.key or b"", self.value))

    @staticmethod
    def decode(data: bytes) -> OutRecord:
        topic, key, value = data.split(b"\x1f", 2)
        return OutRecord(topic.decode(), key or None, value)


@dataclass(slots=True)
class Intake:
    rec: InRecord
    event: Event | None
    dead: DeadLetter | None
    dedupe_key: str | None
    lookup: TicketLookup | None = None
    """For a customer ticket without an order id: what it is matched by (computed once, read twice)."""


class TrackingSet(set[str]):
    """The view's ``seen`` set: remembers which ids were added during the batch, and by which message."""

    def __init__(self, initial: Iterable[str] = ()) -> None:
        super().__init__(initial)
        self.claimant = ""
        self.added: dict[str, str] = {}

    def add(self, item: str) -> None:
        if item not in self:
            self.added[item] = self.claimant
        super().add(item)

    def discard(self, item: object) -> None:
        if isinstance(item, str):
            self.added.pop(item, None)
        super().discard(item)


def source_name(rec: InRecord) -> str:
    return f"{rec.topic}[{rec.partition}]"


@dataclass
class BatchStats:
    redelivered: int = 0
    """messages already applied before a crash (recognised by their claimant), skipped"""
    forwarded: int = 0
    sweep_sliced: int = 0
    """orders of a large sweep sent back as per-order ticks instead of evaluated in the sweep's batch"""


SWEEP_SLICE = "forward:sweep"
"""Pseudo-topic of a deferred sweep evaluation (:func:`~wismo.pipeline.sweep_slice_tick`): the worker publishes it
to the clock topic, keyed by the order id, so it comes back on this partition."""


def _is_sweep(ev: Event | None) -> TypeGuard[ClockTick]:
    return isinstance(ev, ClockTick) and ev.order_id is None and not ev.event_id.startswith("followup:")


@dataclass
class PartitionBatch:
    """The records of one partition in one batch, in processing order."""

    partition: int
    partitions: int
    records: list[InRecord]
    intakes: list[Intake] = field(default_factory=list)
    primary: set[str] = field(default_factory=set)
    """case keys this partition owns in the batch (written back)"""
    candidates: set[str] = field(default_factory=set)
    """order ids loaded only to match a ticket (read, never written unless owned)"""
    has_sweep: bool = False
    sweep_inline: int | None = None
    """Most in-progress orders a sweep evaluates in its own batch (the first, by key, and any order the batch
    loads anyway); the others get a per-order tick each (``None``: all inline). Bounds how long one sweep holds
    up a partition and how much state one batch loads."""
    sweep_rest: list[str] = field(default_factory=list)
    follow_up_members: list[str] = field(default_factory=list)
    tool_failures: dict[str, str] = field(default_factory=dict)
    """order id -> the live look-up that failed for it in this batch (routes its contact to missing data)"""
    _lookup_at: dict[str, int] = field(default_factory=dict)
    """order id -> index of the first intake that asked for a look-up (looked-up events go before it)"""
    _was_in_progress: set[str] = field(default_factory=set)
    _cache: DecodedCache | None = None
    _loaded_index: tuple[dict[str, str], dict[str, str], dict[str, set[str]]] = field(
        default_factory=lambda: ({}, {}, {})
    )

    def __post_init__(self) -> None:
        for rec in self.records:
            parsed = parse_line(rec.value, source_name=source_name(rec), line=rec.offset)
            if isinstance(parsed, DeadLetter):
                # Keyed by position: the same message redelivered after a crash is dead-lettered once.
                self.intakes.append(Intake(rec, None, parsed, f"dlq@{rec.claimant}"))
                continue
            key = parsed.event_id
            if _is_sweep(parsed):
                key = f"{key}@{self.partition}"
                self.has_sweep = True
            self.intakes.append(Intake(rec, parsed, None, key))

    def owns(self, order_id: str) -> bool:
        return partition_for(order_id, self.partitions) == self.partition

    @property
    def horizon(self) -> float:
        times = [i.event.occurred_at.timestamp() for i in self.intakes if i.event is not None]
        return max(times, default=0.0)

    # ---- reads --------------------------------------------------------------------------------------

    def first_request(self, req: LoadRequest) -> None:
        """Add what this partition needs first to ``req`` (shared by every partition of the batch)."""
        for i in self.intakes:
            ev = i.event
            if i.dedupe_key is not None:
                req.seen.add(i.dedupe_key)
            if ev is None or i.dedupe_key is None:
                continue
            if isinstance(ev, ClockTick) and ev.event_id.startswith("followup:"):
                m = FOLLOW_UP_TICK_ID.match(ev.event_id)
                if m is not None:
                    self._want(req, m["key"])
                continue
            if isinstance(ev, TicketMessage):
                p = ev.payload
                req.tickets.add(p.ticket_id)
                self._want(req, f"ticket:{p.ticket_id}")
                if ev.order_id is None and p.author == "customer":
                    look = i.lookup = TicketLookup.of(ev)
                    req.numbers.update(look.all_numbers)
                    req.customers.update(look.refs)
            if ev.order_id is not None:
                self._want(req, ev.order_id)
        req.follow_ups[self.partition] = self.horizon
        if self.has_sweep:
            req.in_progress.add(self.partition)
        req.watermarks.add(self.partition)

    def second_request(self, first: Loaded, req: LoadRequest) -> None:
        """What the first answer revealed: ticket-mapped and candidate orders, follow-up and sweep cases."""
        for i in self.intakes:
            ev = i.event
            if not isinstance(ev, TicketMessage) or ev.order_id is not None:
                continue
            mapped = first.tickets.get(ev.payload.ticket_id)
            if mapped is not None:
                self._want(req, mapped, primary=self.owns(mapped))
            look = i.lookup
            if look is None:  # an agent's message: matched only through the ticket index
                continue
            candidates = [first.numbers[n] for n in look.all_numbers if n in first.numbers]
            for ref in look.refs:
                candidates += first.customers.get(ref, ())
            for order_id in candidates:
                self._want(req, order_id, primary=self.owns(order_id))
        self.follow_up_members = first.follow_ups.get(self.partition, [])
        for member in self.follow_up_members:
            key, case_id, due = parse_follow_up_member(member)
            self._want(req, key)
            req.seen.add(follow_up_event_id(case_id, datetime.fromisoformat(due)))
        if self.has_sweep:
            members = sorted(first.in_progress.get(self.partition, ()))
            inline = members if self.sweep_inline is None else members[: self.sweep_inline]
            for key in inline:
                self._want(req, key)
            self.sweep_rest = [k for k in members[len(inline) :] if k not in self.primary]

    # ---- live look-ups (policy ``lookups``) ------------------------------------------------------------

    def lookup_requests(self, loaded: Loaded, oms: bool, carrier: bool) -> list[LookupRequest]:
        """What to ask live systems before processing: for a new customer message about an order this
        partition owns (by order id or the ticket index), the OMS when wismo has no context for the order, a
        carrier for each labelled shipment with no carrier event yet."""
        out: dict[LookupRequest, None] = {}
        for n, i in enumerate(self.intakes):
            ev = i.event
            if not isinstance(ev, TicketMessage) or ev.payload.author != "customer" or i.dedupe_key in loaded.seen:
                continue
            order_id = ev.order_id or loaded.tickets.get(ev.payload.ticket_id)
            if order_id is None or not self.owns(order_id):
                continue
            self._lookup_at.setdefault(order_id, n)
            raw = loaded.contexts.get(order_id)
            if raw is None:
                if oms:
                    out[LookupRequest("oms", order_id)] = None
                continue
            if carrier:
                ctx = decode_context(raw)  # rare (a contact, look-ups configured): no need for the cache
                for sh in ctx.shipments.values():
                    if sh.tracking_number and sh.status is None:
                        req = LookupRequest("carrier", order_id, sh.shipment_id, sh.carrier or "", sh.tracking_number)
                        out[req] = None
        return list(out)

    def add_lookup_results(self, results: list[LookupResult]) -> list[str]:
        """Insert the looked-up events before the first message about their order (so the contact is answered
        with them) and note failures. Returns the dedupe keys to load for the inserted events."""
        keys: list[str] = []
        inserts: dict[int, list[Intake]] = {}
        for res in results:
            order_id = res.request.order_id
            if res.failure is not None:
                self.tool_failures.setdefault(order_id, res.failure)
                continue
            new = inserts.setdefault(self._lookup_at[order_id], [])
            for line in res.events:
                rec = InRecord(f"lookup.{res.request.system}", self.partition, -1, line)
                parsed = parse_line(line, source_name=source_name(rec), line=-1)
                if isinstance(parsed, DeadLetter):
                    continue  # validated by the client; cannot happen
                new.append(Intake(rec, parsed, None, parsed.event_id))
                keys.append(parsed.event_id)
        for at in sorted(inserts, reverse=True):  # later positions first: earlier indices stay valid
            self.intakes[at:at] = inserts[at]
        return keys

    def _want(self, req: LoadRequest, key: str, *, primary: bool = True) -> None:
        """Load ``key``'s context (and, when this partition owns it, its case). A candidate of another
        partition is read for ticket matching only; its case is never loaded, so a sweep here cannot
        evaluate it."""
        if not key.startswith("ticket:"):
            req.contexts.add(key)
        if primary:
            self.primary.add(key)
            req.cases.add(key)
        else:
            self.candidates.add(key)

    # ---- processing ---------------------------------------------------------------------------------

    def run(
        self,
        pipeline: Pipeline,
        loaded: Loaded,
        write: StateWrite,
        stats: BatchStats,
        cache: DecodedCache | None = None,
    ) -> list[OutRecord]:
        """Process every record against a view of the loaded state; add what changed to ``write``.
        Never raises for bad input (the pipeline dead-letters it)."""
        self._cache = cache
        view, before = self._view(loaded)
        pipeline.state = view
        pipeline.owns = self.owns
        pipeline.tool_failures = self.tool_failures
        seen = view.seen
        assert isinstance(seen, TrackingSet)
        out: list[OutRecord] = []
        for i in self.intakes:
            if i.event is None:
                assert i.dead is not None and i.dedupe_key is not None
                if i.dedupe_key in loaded.seen:
                    stats.redelivered += 1
                    continue
                pipeline.stats.events_in += 1
                pipeline.stats.dead_letters += 1
                pipeline.stats.dead_letter_types[i.dead.error_type] += 1
                write.seen[i.dedupe_key] = i.rec.claimant
                out += self._records([(TOPIC_DLQ, i.dead)], stats)
                continue
            assert i.dedupe_key is not None
            claimed_by = loaded.seen.get(i.dedupe_key)
            if claimed_by is not None:
                if claimed_by == i.rec.claimant:
                    stats.redelivered += 1
                else:
                    pipeline.stats.events_in += 1
                    pipeline.stats.events_by_type[i.event.type] += 1
                    pipeline.stats.duplicates += 1
                continue
            seen.claimant = i.rec.claimant
            outputs = pipeline.process_event(
                i.event, raw=i.rec.value, source_name=source_name(i.rec), line=i.rec.offset
            )
            out += self._records(outputs, stats)
            if self.sweep_rest and _is_sweep(i.event):
                out += [
                    OutRecord(SWEEP_SLICE, key.encode(), sweep_slice_tick(i.event, key).model_dump_json().encode())
                    for key in self.sweep_rest
                ]
                stats.sweep_sliced += len(self.sweep_rest)
        self._collect(pipeline, view, before, loaded, write)
        return out

    def _view(self, loaded: Loaded) -> tuple[MemoryState, dict[str, tuple[str, datetime] | None]]:
        view = MemoryState()
        cache = self._cache
        for key in self.primary | self.candidates:
            raw = loaded.contexts.get(key)
            if raw is not None:
                # Another partition's context (a ticket-matching candidate) is never shared through the cache.
                shared = cache is not None and key in self.primary
                view.contexts[key] = cache.contexts.get(key, raw) if cache and shared else decode_context(raw)
        before: dict[str, tuple[str, datetime] | None] = {}
        self._was_in_progress = set()
        for key in self.primary:
            raw = loaded.cases.get(key)
            if raw is not None:
                case = view.cases[key] = cache.cases.get(key, raw) if cache is not None else decode_case(raw)
                before[key] = _commitment(case)
                if in_progress(case, view.contexts.get(key)):
                    self._was_in_progress.add(key)
        fu_ids = set()
        heap = view.follow_ups
        for member in self.follow_up_members:
            key, case_id, due_iso = parse_follow_up_member(member)
            due = datetime.fromisoformat(due_iso)
            heap.append((due, key, case_id))
            fu_ids.add(follow_up_event_id(case_id, due))
        heapq.heapify(heap)
        view.seen = TrackingSet(s for s in fu_ids if s in loaded.seen)
        for i in self.intakes:
            ev = i.event
            if isinstance(ev, TicketMessage):
                tid = ev.payload.ticket_id
                if tid in loaded.tickets:
                    view.by_ticket[tid] = loaded.tickets[tid]
        view.by_number = dict(loaded.numbers)
        view.by_customer = {ref: set(ids) for ref, ids in loaded.customers.items()}
        wm = loaded.watermarks.get(self.partition)
        if wm is not None:
            view.watermark = datetime.fromtimestamp(wm, UTC)
        self._loaded_index = (
            dict(view.by_ticket),
            dict(view.by_number),
            {r: set(s) for r, s in view.by_customer.items()},
        )
        return view, before

    def _records(self, outputs: list[Output], stats: BatchStats) -> list[OutRecord]:
        recs = []
        for topic, rec in outputs:
            if topic == FORWARD_TICKET:
                stats.forwarded += 1
                assert isinstance(rec, TicketMessage) and rec.order_id is not None
                recs.append(OutRecord(FORWARD_TICKET, rec.order_id.encode(), rec.model_dump_json().encode()))
                continue
            recs.append(OutRecord(topic, _key_of(rec), record_json(rec)))
        return recs

    def _collect(
        self,
        pipeline: Pipeline,
        view: MemoryState,
        before: dict[str, tuple[str, datetime] | None],
        loaded: Loaded,
        write: StateWrite,
    ) -> None:
        p = self.partition

        def owned(k: str) -> bool:
            return k in self.primary or (not k.startswith("ticket:") and self.owns(k))

        for key, ctx in view.contexts.items():
            if not owned(key):
                continue
            data = encode_context(ctx)
            if data != loaded.contexts.get(key):
                write.contexts[key] = (data, _keep_open(pipeline, view, key, ctx))
            if self._cache is not None:
                self._cache.contexts.put(key, data, ctx)
        add_ip = write.in_progress_add.setdefault(p, set())
        rm_ip = write.in_progress_remove.setdefault(p, set())
        fu_add = write.follow_ups_add.setdefault(p, {})
        fu_rm = write.follow_ups_remove.setdefault(p, set())
        for key, case in view.cases.items():
            if not owned(key):
                continue
            data = encode_case(case)
            if data != loaded.cases.get(key):
                write.cases[key] = (data, _keep_open(pipeline, view, key, view.contexts.get(key)))
            if self._cache is not None:
                self._cache.cases.put(key, data, case)
            now_in_progress = pipeline.is_in_progress(key)
            if now_in_progress != (key in self._was_in_progress):
                (add_ip if now_in_progress else rm_ip).add(key)
            old, new = before.get(key), _commitment(case)
            if old != new:
                if old is not None:
                    fu_rm.add(follow_up_member(key, old[0], old[1].isoformat()))
                if new is not None:
                    fu_add[follow_up_member(key, new[0], new[1].isoformat())] = new[1].timestamp()
        seen = view.seen
        assert isinstance(seen, TrackingSet)
        for member in self.follow_up_members:
            _, case_id, due_iso = parse_follow_up_member(member)
            if follow_up_event_id(case_id, datetime.fromisoformat(due_iso)) in seen:
                fu_rm.add(member)  # fired (here, or earlier by a monitor tick): never fire it again
        for member in fu_rm:
            fu_add.pop(member, None)
        sweep_ids = {i.event.event_id: i.dedupe_key for i in self.intakes if i.event is not None and i.dedupe_key}
        for event_id, claimant in seen.added.items():
            write.seen[sweep_ids.get(event_id, event_id)] = claimant
        tickets0, numbers0, customers0 = self._loaded_index
        for tid, oid in view.by_ticket.items():
            if tickets0.get(tid) != oid:
                write.tickets[tid] = oid
        for num, oid in view.by_number.items():
            if numbers0.get(num) != oid:
                write.numbers[num] = oid
        for ref, ids in view.by_customer.items():
            new_ids = ids - customers0.get(ref, set())
            if new_ids:
                write.customers.setdefault(ref, set()).update(new_ids)
        for i in self.intakes:
            if isinstance(i.event, LabelCreated):
                write.tracking[i.event.payload.tracking_number] = tracking_ref(
                    i.event.order_id, i.event.payload.shipment_id
                )
        if view.watermark is not None:
            write.watermarks[p] = view.watermark.timestamp()


def _commitment(case: CaseState) -> tuple[str, datetime] | None:
    due = case.next_follow_up_due_at
    return (case.wismo_case_id, due) if due is not None and case.is_open else None


def _keep_open(pipeline: Pipeline, view: MemoryState, key: str, ctx: OrderContext | None) -> bool:
    case = view.cases.get(key)
    return (case is not None and case.is_open) or pipeline.is_in_progress(key) or (ctx is not None and not ctx.known)


def _key_of(rec: BaseModel) -> bytes | None:
    order_id = getattr(rec, "order_id", None)
    return order_id.encode() if isinstance(order_id, str) else None
