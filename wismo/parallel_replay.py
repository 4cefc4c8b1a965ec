"""Partitioned replay: the same pipeline in N worker processes, one per partition, like Kafka partitions
keyed by order_id.

The parent reads the input in file order, assigns each event a partition and ships batches to the
workers; each worker runs an ordinary :class:`~wismo.pipeline.Pipeline` over its partition and sends back
serialised records, which the parent writes in input order. Guarantees and limits:

* every event of one order goes to one worker, in file order, so per-order results equal a sequential
  replay's; the *set* of records is the same, only the interleaving of different orders may differ;
* an order's partition is fixed by its customer (e-mail, else customer id) when ``order.placed`` is the
  first event seen for it, so a ticket without an order id reaches the worker that holds that customer's
  orders; an order first seen through another event is placed by its order id;
* a case's due follow-ups fire before its next event, as in a sequential run (``Pipeline._fire_own``); at
  the end every worker fires the rest up to the input's final event time (the global watermark);
* a ``clock.tick`` without an order id is sent to every worker (each sweeps its own orders);
* an ``event_id`` reused for events of *different* orders in different partitions is not caught by dedupe
  (it is per worker); a sequential replay (``--workers 1``) catches it.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import queue
import threading
import zlib
from collections.abc import Callable, Iterable
from dataclasses import fields
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

import orjson

from wismo.pipeline import Pipeline, Stats
from wismo.policy import Policy
from wismo.processors.intents import extract_order_number
from wismo.records import record_json
from wismo.replay import InputLine

BATCH_LINES = 2048
"""Input lines per round trip to the workers: large enough to amortise IPC, small enough to stream."""
MAX_IN_FLIGHT = 4
"""Batches sent but not yet written: keeps workers busy while the parent reads and writes."""

Item = tuple[int, bytes, str, int]
"""(sequence number, raw line, source name, line number)"""
Result = tuple[int, str, bytes]
"""(sequence number, topic, serialised record)"""


def _hash(key: str, n: int) -> int:
    return zlib.crc32(key.encode("utf-8")) % n


class PartitionRouter:
    """Assigns each raw event to a partition; remembers orders, customers, order numbers and tickets so
    that related events meet in the same worker."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.orders: dict[str, int] = {}
        self.customers: dict[str, int] = {}
        self.numbers: dict[str, int] = {}
        self.tickets: dict[str, int] = {}

    def partition(self, obj: Any) -> int | None:
        """The worker for ``obj`` (a decoded event), or None to send it to every worker."""
        if not isinstance(obj, dict):
            return 0
        payload = obj.get("payload") if isinstance(obj.get("payload"), dict) else {}
        assert isinstance(payload, dict)
        oid = obj.get("order_id")
        etype = obj.get("type")
        if isinstance(oid, str) and oid:
            part = self.orders.get(oid)
            if part is None:
                part = self._new_order(oid, etype, payload)
            if etype == "ticket.message":
                self._remember_ticket(payload, part)
            return part
        if etype == "clock.tick":
            return None
        if etype == "ticket.message":
            return self._ticket(payload)
        return 0

    def _new_order(self, oid: str, etype: object, payload: dict[str, Any]) -> int:
        part = None
        cust = payload.get("customer") if etype == "order.placed" else None
        keys = self._customer_keys(cust)
        for k in keys:
            part = self.customers.get(k)
            if part is not None:
                break
        if part is None:
            part = _hash(keys[0] if keys else oid, self.n)
        for k in keys:
            self.customers.setdefault(k, part)
        number = payload.get("order_number") if etype == "order.placed" else None
        if isinstance(number, str):
            self.numbers.setdefault(number.strip().lstrip("#").upper(), part)
        self.orders[oid] = part
        return part

    @staticmethod
    def _customer_keys(cust: object) -> list[str]:
        if not isinstance(cust, dict):
            return []
        keys = []
        email = cust.get("email")
        if isinstance(email, str) and email.strip():
            keys.append("email:" + email.strip().lower())
        cid = cust.get("id")
        if isinstance(cid, str) and cid:
            keys.append("id:" + cid)
        return keys

    def _remember_ticket(self, payload: dict[str, Any], part: int) -> None:
        tid = payload.get("ticket_id")
        if isinstance(tid, str):
            self.tickets.setdefault(tid, part)

    def _ticket(self, payload: dict[str, Any]) -> int:
        tid = payload.get("ticket_id")
        tid = tid if isinstance(tid, str) else ""
        part = self.tickets.get(tid)
        if part is None:
            number = payload.get("order_number")
            if not isinstance(number, str) or not number:
                text = payload.get("text")
                number = extract_order_number(text) if isinstance(text, str) else None
            if number:
                part = self.numbers.get(number.strip().lstrip("#").upper())
        if part is None:
            for k in self._customer_keys(payload.get("customer")):
                part = self.customers.get(k)
                if part is not None:
                    break
        if part is None:
            part = _hash(tid, self.n)
        self.tickets[tid] = part
        return part


def _worker(conn: Connection, policy_json: bytes) -> None:
    gc.set_threshold(50_000, 50, 1000)
    pipeline = Pipeline(Policy.model_validate_json(policy_json))
    while True:
        msg = conn.recv()
        if msg[0] == "end":
            out: list[Result] = []
            if msg[1] is not None:
                for topic, rec in pipeline.advance_to(datetime.fromisoformat(msg[1])):
                    out.append((msg[2], topic, record_json(rec)))
            conn.send((out, pipeline.stats))
            return
        results: list[Result] = []
        for seq, raw, source_name, line in msg[1]:
            for topic, rec in pipeline.process_line(raw, source_name=source_name, line=line):
                results.append((seq, topic, record_json(rec)))
        conn.send(results)


def merge_stats(parts: Iterable[Stats]) -> Stats:
    total = Stats()
    for s in parts:
        for f in fields(Stats):
            cur = getattr(total, f.name)
            setattr(total, f.name, cur + getattr(s, f.name))
    return total


def replay_partitioned(
    lines: Iterable[InputLine],
    policy: Policy,
    workers: int,
    write: Callable[[str, bytes], None],
    progress: Callable[[int], None] | None = None,
) -> Stats:
    """Replay ``lines`` over ``workers`` processes; hand every record (topic, JSON bytes) to ``write`` in
    input order. Returns the summed pipeline statistics.

    Up to ``MAX_IN_FLIGHT`` batches are outstanding, so workers never wait for the parent to write; one
    reader thread per worker drains its results (a worker blocked on a full pipe would otherwise stall
    the parent's next send)."""
    ctx = mp.get_context("fork")
    conns: list[Connection] = []
    procs = []
    policy_json = policy.model_dump_json().encode()
    for _ in range(workers):
        parent, child = ctx.Pipe()
        p = ctx.Process(target=_worker, args=(child, policy_json), daemon=True)
        p.start()
        child.close()
        conns.append(parent)
        procs.append(p)
    results: list[queue.SimpleQueue[Any]] = [queue.SimpleQueue() for _ in range(workers)]

    def drain(conn: Connection, q: queue.SimpleQueue[Any]) -> None:
        try:
            while True:
                msg = conn.recv()
                q.put(msg)
                if isinstance(msg, tuple):  # the final (records, stats) answer
                    return
        except (EOFError, OSError) as exc:
            q.put(exc)

    readers = [threading.Thread(target=drain, args=(c, q), daemon=True) for c, q in zip(conns, results, strict=True)]
    # A batch is larger than a pipe's buffer: sending it blocks until that worker reads it, which it does
    # only after its current batch. One sender thread per worker keeps the others fed meanwhile.
    outboxes: list[queue.SimpleQueue[Any]] = [queue.SimpleQueue() for _ in range(workers)]

    def feed(conn: Connection, q: queue.SimpleQueue[Any]) -> None:
        while True:
            msg = q.get()
            try:
                conn.send(msg)
            except (BrokenPipeError, OSError):
                return
            if msg[0] == "end":
                return

    senders = [threading.Thread(target=feed, args=(c, q), daemon=True) for c, q in zip(conns, outboxes, strict=True)]
    for thread in (*readers, *senders):
        thread.start()

    def take(q: queue.SimpleQueue[Any]) -> Any:
        msg = q.get()
        if isinstance(msg, BaseException):
            raise RuntimeError(f"a replay worker stopped: {msg!r}")
        return msg

    router = PartitionRouter(workers)
    watermark: datetime | None = None
    wm_text: str | None = None
    batches: list[list[Item]] = [[] for _ in range(workers)]
    in_flight = 0
    seq = 0

    def collect_oldest() -> None:
        nonlocal in_flight
        merged: list[Result] = []
        for q in results:
            merged.extend(take(q))
        merged.sort(key=lambda r: r[0])
        for _, topic, data in merged:
            write(topic, data)
        in_flight -= 1

    def flush() -> None:
        nonlocal in_flight, batches
        while in_flight >= MAX_IN_FLIGHT:
            collect_oldest()
        for box, b in zip(outboxes, batches, strict=True):
            box.put(("batch", b))
        batches = [[] for _ in range(workers)]
        in_flight += 1

    stats: list[Stats] = []
    try:
        for item in lines:
            seq += 1
            try:
                obj = orjson.loads(item.raw)
            except orjson.JSONDecodeError:
                obj = None
            part = router.partition(obj)
            entry: Item = (seq, item.raw, item.source_name, item.line)
            if part is None:
                for b in batches:
                    b.append(entry)
            else:
                batches[part].append(entry)
            occurred = obj.get("occurred_at") if isinstance(obj, dict) else None
            if isinstance(occurred, str):
                try:
                    t = datetime.fromisoformat(occurred)
                except ValueError:
                    t = None
                if t is not None and t.tzinfo is not None and (watermark is None or t > watermark):
                    watermark, wm_text = t, t.isoformat()
            if seq % BATCH_LINES == 0:
                flush()
                if progress is not None:
                    progress(seq)
        flush()
        while in_flight:
            collect_oldest()
        for box in outboxes:
            box.put(("end", wm_text, seq + 1))
        tail: list[Result] = []
        for q in results:
            out, st = take(q)
            tail.extend(out)
            stats.append(st)
        for _, topic, data in tail:
            write(topic, data)
    finally:
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
    total = merge_stats(stats)
    total.events_in = seq  # a sweep tick reaches every worker but is one input event
    return total
