"""Replay throughput benchmark (``./dev bench``).

Generates a deterministic, realistic mix of canonical events in memory (orders through fulfilment, pick,
label and carrier scans; holds, cancellations, allocation failures, supplier ETAs, pick delays and
exceptions, split shipments, label-no-pickup, stalls, failed deliveries, returns; customer tickets with and
without an order id, repeated contacts, delivered-not-received claims, teammate replies; redelivered
duplicates, re-sent carrier statuses, a few malformed lines and a daily clock sweep), sorted by event
time, writes them to a temporary ndjson file and measures, in this process:

  (a) a parse-only baseline: ``orjson.loads`` of every line;
  (b) the full ``replay_files`` into a temporary directory (what ``wismo replay`` does).

    python bench/replay_bench.py [--orders N] [--repeat K] [--seed S] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from wismo.pipeline import Pipeline
from wismo.policy import Policy, load_policy
from wismo.replay import replay_files

TARGET_EVENTS_PER_S = 30_000
BASE = datetime(2026, 10, 1, tzinfo=UTC)
CARRIERS = ("UPS", "USPS", "FedEx", "DHL")
HOLDS = ("fraud_review", "payment_review", "address_verification", "other")
FAIL_DETAILS = ("address_issue", "access_issue", "business_closed", "recipient_unavailable")
LOCATIONS = ("Louisville, KY", "Memphis, TN", "Chicago, IL", "Dallas, TX", "Reno, NV", "Newark, NJ")

# scenario -> weight (per order)
SCENARIOS: dict[str, float] = {
    "normal": 62,
    "split": 5,
    "label_no_pickup": 4,
    "stall": 4,
    "delivery_failed": 4,
    "return_to_sender": 1,
    "backorder": 4,
    "allocation": 2,
    "hold": 3,
    "pick_delay": 3,
    "pick_exception": 2,
    "cancelled": 1,
    "late_ship_by": 5,
}

STATUS_TEXTS = (
    "Hi, where is my order?",
    "Any update on my order? It has been a few days.",
    "When will my package arrive?",
    "Can you tell me the status of my order please",
    "Hello - I ordered last week and have not heard anything. Where is it?",
)
NOT_RECEIVED_TEXT = "The tracking says it was delivered but I never received it. Nothing at my door."
CANCEL_TEXT = "Please cancel my order, it is taking too long."
ADDRESS_TEXT = "I need to change my shipping address for this order, I moved."


def ts(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Generator:
    """Builds the event mix. Deterministic for a given seed and order count."""

    orders: int
    seed: int = 7
    days: float = 28.0
    sweep_hours: float = 24.0
    rnd: random.Random = field(init=False)
    events: list[tuple[datetime, int, bytes]] = field(default_factory=list)
    scenarios: dict[str, str] = field(default_factory=dict)
    """order id -> scenario (for looking into the results)"""
    _seq: int = 0

    def __post_init__(self) -> None:
        self.rnd = random.Random(self.seed)

    # ---- primitives -----------------------------------------------------------------------------

    def emit(
        self,
        source: str,
        type_: str,
        order_id: str | None,
        at: datetime,
        payload: dict[str, Any],
        event_id: str | None = None,
    ) -> dict[str, Any]:
        self._seq += 1
        ev: dict[str, Any] = {"event_id": event_id or f"{source}-{self._seq}", "source": source, "type": type_}
        if order_id is not None:
            ev["order_id"] = order_id
        ev["occurred_at"] = ts(at)
        ev["payload"] = payload
        self.events.append((at, self._seq, orjson.dumps(ev)))
        return ev

    def hours(self, lo: float, hi: float) -> timedelta:
        return timedelta(hours=self.rnd.uniform(lo, hi))

    # ---- one order --------------------------------------------------------------------------------

    def order(self, i: int) -> None:
        r = self.rnd
        oid = f"O{i:06d}"
        number = str(100000 + i)
        cust = r.randrange(max(1, int(self.orders * 0.7)))
        email = f"customer{cust}@example.com"
        placed = BASE + timedelta(hours=r.uniform(0, self.days * 24))
        n_items = r.choice((1, 1, 1, 2, 2, 3))
        high_value = r.random() < 0.04
        items: list[dict[str, Any]] = []
        value = 0.0
        for k in range(n_items):
            qty = r.choice((1, 1, 1, 2))
            price = round(r.uniform(300, 900) if high_value else r.uniform(5, 150), 2)
            items.append(
                {"sku": f"SKU-{r.randrange(800):04d}", "title": f"Item {k + 1}", "qty": qty, "unit_price": price}
            )
            value += qty * price
        value = round(value, 2)
        scenario = r.choices(list(SCENARIOS), weights=list(SCENARIOS.values()))[0]
        self.scenarios[oid] = scenario
        payload: dict[str, Any] = {
            "order_number": number,
            "customer": {"id": f"C{cust}", "email": email, "name": f"Customer {cust}"},
            "items": items,
            "order_value": value,
            "currency": "USD",
        }
        if r.random() < 0.3 or scenario == "late_ship_by":
            payload["ship_by"] = ts(placed + self.hours(36, 96))
        self.emit("oms", "order.placed", oid, placed, payload)
        t = placed
        last = placed
        delivered_at: datetime | None = None

        if scenario == "cancelled":
            last = self.emit_at("oms", "order.cancelled", oid, t + self.hours(1, 30), {"reason": "customer_request"})
            self.tickets(oid, number, cust, email, placed, last, delivered_at)
            return
        if scenario == "hold":
            hold = r.choice(HOLDS)
            t += self.hours(0.1, 2)
            self.emit("oms", "order.hold_placed", oid, t, {"hold_type": hold})
            t += self.hours(6, 48)
            if r.random() < 0.2:
                last = self.emit_at("oms", "order.cancelled", oid, t, {"reason": "hold_not_cleared"})
                self.tickets(oid, number, cust, email, placed, last, delivered_at)
                return
            self.emit("oms", "order.hold_released", oid, t, {"hold_type": hold})
        if scenario == "allocation":
            t += self.hours(0.5, 6)
            self.emit(
                "supplier",
                "inventory.allocation_failed",
                oid,
                t,
                {"sku": items[0]["sku"], "reason": r.choice(("reserved", "shortage"))},
            )
            t += self.hours(24, 72)
        if scenario == "backorder":
            sku = items[0]["sku"]
            t += self.hours(1, 12)
            eta = (t + timedelta(days=r.randint(5, 12))).date()
            self.emit(
                "supplier", "supplier.eta_changed", oid, t, {"sku": sku, "eta": eta.isoformat(), "po_id": f"PO-{i}"}
            )
            if r.random() < 0.5:
                t += self.hours(24, 96)
                eta = eta + timedelta(days=r.randint(3, 8))
                self.emit("supplier", "supplier.eta_changed", oid, t, {"sku": sku, "eta": eta.isoformat()})
            t = max(t, datetime(eta.year, eta.month, eta.day, tzinfo=UTC)) + self.hours(2, 20)

        n_ship = 2 if scenario == "split" and n_items > 1 else 1
        groups = [items] if n_ship == 1 else [items[:1], items[1:]]
        for s, group in enumerate(groups):
            start = t + self.hours(2, 12) + (self.hours(24, 96) if s else timedelta())
            end = self.shipment(oid, f"S{i}-{s + 1}", group, start, scenario, s)
            last = max(last, end[0])
            if end[1] is not None:
                delivered_at = end[1]
        self.tickets(oid, number, cust, email, placed, last, delivered_at)

    def emit_at(self, source: str, type_: str, oid: str, at: datetime, payload: dict[str, Any]) -> datetime:
        self.emit(source, type_, oid, at, payload)
        return at

    def shipment(
        self, oid: str, sid: str, items: list[dict[str, Any]], t: datetime, scenario: str, index: int
    ) -> tuple[datetime, datetime | None]:
        """Fulfilment -> pick -> label -> scans -> outcome. Returns (last event time, delivered at or None)."""
        r = self.rnd
        self.emit(
            "wms",
            "fulfillment.created",
            oid,
            t,
            {"shipment_id": sid, "items": [{"sku": it["sku"], "qty": it["qty"]} for it in items]},
        )
        if scenario == "pick_exception" and index == 0:
            t += self.hours(2, 10)
            self.emit(
                "wms",
                "pick.exception",
                oid,
                t,
                {
                    "shipment_id": sid,
                    "reason": r.choice(("short_pick", "sku_quarantine", "cycle_count_mismatch")),
                    "skus": [items[0]["sku"]],
                },
            )
            t += self.hours(12, 48)
        elif scenario == "pick_delay" and index == 0:
            t += self.hours(30, 60)
        else:
            t += self.hours(2, 20)
        self.emit("wms", "pick.completed", oid, t, {"shipment_id": sid})
        t += self.hours(0.5, 6)
        carrier = r.choice(CARRIERS)
        self.emit(
            "wms",
            "label.created",
            oid,
            t,
            {
                "shipment_id": sid,
                "carrier": carrier,
                "tracking_number": f"1Z{r.randrange(10**12):012d}",
                "tracking_url": f"https://track.example/{sid}",
            },
        )
        if r.random() < 0.5:
            self.carrier(oid, sid, t + self.hours(0.2, 2), "pre_transit")
        if scenario == "label_no_pickup" and index == 0:
            if r.random() < 0.3:
                return t, None  # never picked up (still open at the end of the window)
            t += self.hours(30, 60)
        else:
            t += self.hours(2, 20)
        est = t + self.hours(48, 120)
        self.carrier(oid, sid, t, "in_transit", est=est)
        for k in range(r.randint(1, 4)):
            gap = self.hours(80, 120) if scenario == "stall" and index == 0 and k == 0 else self.hours(6, 30)
            t += gap
            self.carrier(oid, sid, t, "in_transit", est=est)
        t += self.hours(4, 20)
        self.carrier(oid, sid, t, "out_for_delivery")
        if scenario in ("delivery_failed", "return_to_sender") and index == 0:
            attempts = 3 if scenario == "return_to_sender" else r.randint(1, 2)
            detail = r.choice(FAIL_DETAILS)
            for a in range(attempts):
                t += self.hours(2, 8)
                self.carrier(oid, sid, t, "delivery_failed", detail=detail)
                if a + 1 < attempts:
                    t += self.hours(16, 24)
                    self.carrier(oid, sid, t, "out_for_delivery")
            if scenario == "return_to_sender":
                t += self.hours(12, 48)
                self.carrier(oid, sid, t, "return_to_sender")
                return t, None
            t += self.hours(16, 30)
            self.carrier(oid, sid, t, "out_for_delivery")
        t += self.hours(1, 8)
        self.carrier(oid, sid, t, "delivered")
        return t, t

    def carrier(
        self, oid: str, sid: str, at: datetime, status: str, *, est: datetime | None = None, detail: str | None = None
    ) -> None:
        p: dict[str, Any] = {"shipment_id": sid, "status": status}
        if status not in ("pre_transit", "delivered"):
            p["location"] = self.rnd.choice(LOCATIONS)
        if est is not None:
            p["est_delivery_at"] = ts(est)
        if detail is not None:
            p["detail"] = detail
        self.emit("carrier", "tracking.updated", oid, at, p)
        if self.rnd.random() < 0.015:  # the carrier re-sends the same webhook under a new id
            self.emit("carrier", "tracking.updated", oid, at, p)

    def tickets(
        self,
        oid: str,
        number: str,
        cust: int,
        email: str,
        placed: datetime,
        last: datetime,
        delivered_at: datetime | None,
    ) -> None:
        r = self.rnd
        if r.random() >= 0.18:
            return
        ticket_id = f"T{oid}"
        channel = r.choice(("chat", "email", "email", "ticket"))
        at = placed + (last - placed + timedelta(hours=24)) * r.random()
        text = r.choice(STATUS_TEXTS)
        if delivered_at is not None and at > delivered_at and r.random() < 0.35:
            text = NOT_RECEIVED_TEXT
        elif r.random() < 0.04:
            text = CANCEL_TEXT
        elif r.random() < 0.03:
            text = ADDRESS_TEXT
        how = r.random()
        payload: dict[str, Any] = {
            "ticket_id": ticket_id,
            "channel": channel,
            "author": "customer",
            "public": True,
            "text": text,
        }
        order_id: str | None = oid
        if how < 0.6:
            payload["customer"] = {"id": f"C{cust}", "email": email}
        elif how < 0.85:  # no order id: matched by e-mail, sometimes with the number in the text
            order_id = None
            payload["customer"] = {"email": email.upper() if r.random() < 0.2 else email}
            if r.random() < 0.5:
                payload["text"] = f"{text} Order #{number}."
        else:  # no order id: matched by customer id
            order_id = None
            payload["customer"] = {"id": f"C{cust}"}
        self.emit("ticket", "ticket.message", order_id, at, payload)
        if r.random() < 0.2:  # a teammate answers publicly
            self.emit(
                "ticket",
                "ticket.message",
                order_id,
                at + self.hours(1, 5),
                {
                    "ticket_id": ticket_id,
                    "channel": channel,
                    "author": "agent",
                    "public": True,
                    "text": "Hi! I checked your order and will keep you posted.",
                },
            )
        if r.random() < 0.3:  # the customer writes again
            again = dict(payload, text="Still waiting - any news on this?")
            self.emit("ticket", "ticket.message", order_id, at + self.hours(20, 72), again)

    # ---- the whole mix --------------------------------------------------------------------------

    def build(self) -> list[bytes]:
        r = self.rnd
        for i in range(self.orders):
            self.order(i)
        # at-least-once redelivery: the same event (same id) again, a little later
        dups = [
            (at + timedelta(seconds=r.randint(1, 900)), seq, raw) for at, seq, raw in self.events if r.random() < 0.02
        ]
        self.events += dups
        # the scheduled sweep
        end = max(at for at, _, _ in self.events)
        k = 0
        at = BASE + timedelta(hours=self.sweep_hours)
        while at < end:
            k += 1
            self.emit("clock", "clock.tick", None, at, {}, event_id=f"sweep-{k}")
            at += timedelta(hours=self.sweep_hours)
        self.events.sort(key=lambda e: (e[0], e[1]))
        lines = [raw for _, _, raw in self.events]
        # a few malformed lines from a misbehaving producer
        bad = [
            b'{"event_id": "wms-bad-1", "source": "wms", "type": "label.created", "order_id": "O000001"',
            b'{"event_id": "wms-bad-2", "source": "wms", "type": "label.created", "order_id": "O000002", '
            b'"occurred_at": "2026-10-05T10:00:00Z", "payload": {"carrier": "UPS"}}',
            b'{"event_id": "x-bad-3", "source": "oms", "type": "order.updated", "order_id": "O000003", '
            b'"occurred_at": "2026-10-05T10:00:00Z", "payload": {}}',
            b'{"event_id": "car-bad-4", "source": "carrier", "type": "tracking.updated", "order_id": "O000004", '
            b'"occurred_at": "2026-10-05 10:00:00", "payload": {"shipment_id": "S4-1", "status": "in_transit"}}',
            b"<html>502 Bad Gateway</html>",
        ]
        for n in range(max(5, len(lines) // 5000)):
            lines.insert(r.randrange(len(lines)), bad[n % len(bad)])
        return lines


# ---- measurement ------------------------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    events: int
    complete: bool
    pipeline: Pipeline | None = None

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


class BudgetExceeded(Exception):
    pass


def parse_only(path: Path) -> Run:
    n = bad = 0
    t0 = time.perf_counter()
    with open(path, "rb") as fh:
        for raw in fh:
            raw = raw.strip()
            if raw:
                n += 1
                try:
                    orjson.loads(raw)
                except orjson.JSONDecodeError:
                    bad += 1
    return Run(time.perf_counter() - t0, n, True)


def full_replay(path: Path, policy: Policy, budget_s: float, workers: int = 1) -> Run:
    """``replay_files`` into a temporary directory (what ``wismo replay --workers N`` runs); stopped once
    ``budget_s`` is spent."""
    pipeline = Pipeline(policy)
    t0 = time.perf_counter()
    done = 0

    def guard(lines: int, nbytes: int) -> None:
        nonlocal done
        done = lines
        if time.perf_counter() - t0 > budget_s:
            raise BudgetExceeded

    complete = True
    with tempfile.TemporaryDirectory(prefix="wismo-bench-out-") as out:
        try:
            result = replay_files([path], out, policy, progress=guard, pipeline=pipeline, workers=workers)
        except BudgetExceeded:
            complete = False
            result = pipeline
        elapsed = time.perf_counter() - t0
    events = result.stats.events_in if complete and workers == 1 else done
    if complete and workers > 1:
        with open(path, "rb") as fh:
            events = sum(1 for raw in fh if raw.strip())
    return Run(elapsed, events, complete, result)


def best(runs: list[Run]) -> Run:
    return max(runs, key=lambda r: r.rate)


def profile(path: Path, policy: Policy, budget_s: float, top: int = 15) -> str:
    prof = cProfile.Profile()
    prof.enable()
    run = full_replay(path, policy, budget_s)
    prof.disable()
    buf = io.StringIO()
    if not run.complete:
        buf.write(f"(profiled the first {run.events:,} events: the budget of {budget_s:.0f} s ran out)\n")
    st = pstats.Stats(prof, stream=buf)
    st.sort_stats("tottime").print_stats(top)
    st.sort_stats("cumulative").print_stats(top)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="wismo replay throughput benchmark")
    ap.add_argument("--orders", type=int, default=20_000, help="orders to simulate (default 20000)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each measurement; the best counts")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--budget",
        type=float,
        default=75.0,
        metavar="SECONDS",
        help="stop a replay run after this long and measure the events done so far (default 75)",
    )
    ap.add_argument("--profile", action="store_true", help="also print the top 15 functions (cProfile)")
    ap.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes for the partitioned run (default: one per core); the sequential run is always measured",
    )
    args = ap.parse_args(argv)
    if args.orders < 1 or args.repeat < 1 or args.budget <= 0:
        ap.error("--orders and --repeat must be at least 1, --budget positive")

    t0 = time.perf_counter()
    lines = Generator(args.orders, seed=args.seed).build()
    gen_s = time.perf_counter() - t0
    policy = load_policy()
    with tempfile.TemporaryDirectory(prefix="wismo-bench-") as tmp:
        path = Path(tmp) / "events.ndjson"
        path.write_bytes(b"\n".join(lines) + b"\n")
        size = path.stat().st_size
        n = len(lines)
        del lines
        print(f"generated {n:,} events for {args.orders:,} orders ({size / 1e6:.1f} MB) in {gen_s:.1f} s")

        base = best([parse_only(path) for _ in range(args.repeat)])
        full = best([full_replay(path, policy, args.budget) for _ in range(args.repeat)])
        par = None
        if args.workers > 1:
            par = best([full_replay(path, policy, args.budget, args.workers) for _ in range(args.repeat)])
        print(f"parse only (orjson.loads): {base.seconds:7.3f} s  {base.events:9,} events  {base.rate:10,.0f} events/s")
        print(f"full replay_files:         {full.seconds:7.3f} s  {full.events:9,} events  {full.rate:10,.0f} events/s")
        if not full.complete:
            print(
                f"  (stopped after the {args.budget:.0f} s budget: {full.events:,} of {n:,} events replayed; "
                f"the full input would take about {n / full.rate:,.0f} s)"
            )
        print(
            f"full / baseline: {base.rate / full.rate:,.1f}x the time per event "
            f"(throughput ratio {full.rate / base.rate:.4f})"
        )
        assert full.pipeline is not None
        stats = full.pipeline.stats
        print(
            f"  evaluations {stats.evaluations:,}, follow-ups fired {stats.follow_ups_fired:,}, "
            f"duplicates {stats.duplicates:,}, duplicate statuses {stats.duplicate_status:,}, "
            f"dead letters {stats.dead_letters:,}"
        )
        if stats.outputs:
            print("  outputs: " + ", ".join(f"{t} {c:,}" for t, c in sorted(stats.outputs.items())))
        print("  conditions: " + ", ".join(f"{c} {k:,}" for c, k in stats.conditions.most_common()))
        if par is not None:
            print(
                f"partitioned replay_files --workers {args.workers}: {par.seconds:7.3f} s  {par.events:9,} events  "
                f"{par.rate:10,.0f} events/s  ({par.rate / full.rate:.2f}x the sequential run, "
                f"throughput ratio to baseline {par.rate / base.rate:.4f})"
            )
        top = max(full.rate, par.rate if par is not None else 0.0)
        print(f"replay throughput: {top:,.0f} events/s (target >= {TARGET_EVENTS_PER_S:,})")
        if args.profile:
            print()
            print(profile(path, policy, args.budget))
    return 0


if __name__ == "__main__":
    sys.exit(main())
