"""Generate ``examples/day.ndjson`` and ``examples/day.labels.json``: one realistic day of WISMO traffic.

The day is Tuesday 10 November 2026 at a mid-sized US web shop (order management in New York, a
fulfilment centre in Memphis). The file holds every event of that day plus the history of the orders
the day touches (back to 3 November), so a replay starts from an empty state. It covers a few dozen
orders in every condition of SPEC §3, customer contacts on chat, e-mail and ticket channels (some
naming no order at all, matched by e-mail), proactive triggers, duplicates, two malformed lines, clock
sweeps and a reviewer decision answering an escalation. Events are sorted by ``occurred_at``.

The labels file maps each customer ``ticket.message`` with a clear expected condition to that
condition (``wismo backtest ... --labels examples/day.labels.json``).

Deterministic: the same ``--seed`` always writes byte-identical files.

    python examples/generate_day.py [--seed N] [--out-dir examples]
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

DEFAULT_SEED = 20261110
DAY = date(2026, 11, 10)

ET = timezone(timedelta(hours=-5), "EST")
CT = timezone(timedelta(hours=-6), "CST")
MT = timezone(timedelta(hours=-7), "MST")
PT = timezone(timedelta(hours=-8), "PST")

Event = dict[str, Any]

# ---- reference data ---------------------------------------------------------------------------------

FIRST = [
    "Alex", "Maria", "James", "Priya", "Daniel", "Aisha", "Ethan", "Sofia", "Marcus", "Chloe", "Kenji",
    "Hannah", "Omar", "Grace", "Lucas", "Fatima", "Noah", "Isabel", "Ryan", "Mei", "Diego", "Olivia",
    "Samuel", "Leila", "Ben", "Nina", "Carlos", "Emma", "Tariq", "Julia", "Victor", "Zoe", "Andre",
    "Ingrid", "Hiroshi", "Amara", "Liam", "Rosa", "Dev", "Claire", "Mateo", "Yara", "Owen", "Elena",
]  # fmt: skip
LAST = [
    "Rivera", "Gonzalez", "Okafor", "Shah", "Kim", "Bello", "Walker", "Rossi", "Chen", "Martin", "Tanaka",
    "Schmidt", "Haddad", "Liu", "Moreau", "Ali", "Patel", "Costa", "O'Connor", "Wong", "Hernandez",
    "Brown", "Adeyemi", "Nasser", "Carter", "Petrova", "Mendes", "Wilson", "Rahman", "Novak", "Hale",
    "Turner", "Dubois", "Larsen", "Sato", "Nwosu", "Murphy", "Alvarez", "Iyer", "Fontaine", "Silva",
]  # fmt: skip
MAIL_DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me", "fastmail.com"]

# (sku, title, unit price)
CATALOG: list[tuple[str, str, float]] = [
    ("TR2-GRY-10", "Trail Runner 2 Shoes (Grey, US 10)", 129.95),
    ("JKT-SHL-M", "Alpine Shell Jacket (M)", 180.00),
    ("BKPK-28L", "Daypack 28L (Forest)", 74.50),
    ("CST-IRN-12", "Cast Iron Skillet 12in", 54.00),
    ("KTL-GSN", "Gooseneck Kettle", 79.00),
    ("GRD-BRR", "Burr Coffee Grinder", 149.00),
    ("MUG-STN-2", "Stoneware Mug Pair", 28.00),
    ("TEA-SMP-12", "Loose Leaf Tea Sampler (12)", 32.00),
    ("LMP-BRS-22", "Brass Arc Desk Lamp", 89.00),
    ("CHR-OAK-1", "Oak Dining Chair", 145.00),
    ("RUG-WL-58", "Wool Area Rug 5x8", 289.00),
    ("HDP-NC7", "Noise-Cancelling Headphones NC7", 249.00),
    ("SPK-BT-2", "Bluetooth Speaker", 79.00),
    ("KB-MECH-TKL", "Mechanical Keyboard TKL", 139.00),
    ("MSE-ERG", "Ergonomic Wireless Mouse", 59.00),
    ("YOGA-MAT-6", "Yoga Mat 6mm (Sage)", 68.00),
    ("BLND-PRO-9", "Pro Countertop Blender", 199.00),
    ("CNDL-SET-3", "Soy Candle Trio", 64.00),
    ("PLNT-FIG-L", "Fiddle Leaf Fig Planter (Large)", 58.00),
    ("DUV-LIN-Q", "Linen Duvet Cover (Queen)", 149.00),
    ("TWL-TRK-6", "Turkish Cotton Towel Set (6)", 84.00),
    ("SOCK-MER-3", "Merino Hiking Socks (3-pack)", 32.00),
    ("BIT-40PC", "Drill Bit Set (40 pc)", 35.00),
    ("DRL-18V", "Cordless Drill 18V", 129.00),
    ("TNT-2P", "Backpacking Tent 2P", 229.00),
    ("PET-BED-L", "Orthopedic Pet Bed (Large)", 95.00),
    ("VAC-CRD-X", "Cordless Stick Vacuum", 259.00),
    ("ESP-MINI", "Mini Espresso Machine", 179.00),
]
HIGH_VALUE: list[tuple[str, str, float]] = [
    ("LTP-14-PRO", "14-inch Laptop Pro 16GB", 1249.00),
    ("CAM-MRL-1", "Mirrorless Camera Body", 899.00),
    ("TV-55-OLED", "55-inch OLED TV", 1399.00),
]

# Destination cities with the zone their carrier scans are reported in.
CITIES: list[tuple[str, timezone]] = [
    ("Brooklyn, NY", ET), ("Philadelphia, PA", ET), ("Atlanta, GA", ET), ("Charlotte, NC", ET),
    ("Columbus, OH", ET), ("Boston, MA", ET), ("Chicago, IL", CT), ("Austin, TX", CT),
    ("Minneapolis, MN", CT), ("Nashville, TN", CT), ("Denver, CO", MT), ("Phoenix, AZ", MT),
    ("Seattle, WA", PT), ("Portland, OR", PT), ("San Jose, CA", PT), ("Los Angeles, CA", PT),
]  # fmt: skip
ORIGIN = ("Memphis, TN", CT)
HUBS: dict[str, list[tuple[str, timezone]]] = {
    "UPS": [("Louisville, KY", ET), ("Hodgkins, IL", CT), ("Dallas, TX", CT)],
    "FedEx": [("Memphis, TN", CT), ("Indianapolis, IN", ET), ("Fort Worth, TX", CT)],
    "USPS": [("Memphis, TN", CT), ("Kansas City, MO", CT), ("Atlanta, GA", ET)],
    "DHL": [("Cincinnati, OH", ET), ("Memphis, TN", CT), ("Chicago, IL", CT)],
}
CARRIERS = ["UPS", "FedEx", "USPS", "DHL"]


@dataclass
class Customer:
    cid: str
    name: str
    email: str
    tz: timezone


@dataclass
class Order:
    oid: str
    number: str
    customer: Customer
    items: list[tuple[str, str, float, int]]
    city: tuple[str, timezone]
    carrier: str

    @property
    def value(self) -> float:
        return round(sum(price * qty for _, _, price, qty in self.items), 2)


@dataclass
class Day:
    """The events being generated, with every id and label bookkeeping in one place."""

    rng: random.Random
    events: list[tuple[datetime, int, str]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    used_names: set[str] = field(default_factory=set)
    used_skus: set[str] = field(default_factory=set)
    seq: int = 0
    order_seq: int = 48100
    ticket_seq: int = 771200
    comment_seq: int = 9_912_300
    raw_lines: list[tuple[datetime, str]] = field(default_factory=list)

    # -- primitives --
    def emit(self, obj: Event, at: datetime) -> str:
        self.seq += 1
        line = json.dumps(obj, ensure_ascii=False)
        self.events.append((at, self.seq, line))
        return str(obj["event_id"])

    def event(
        self, event_id: str, source: str, type_: str, order_id: str | None, at: datetime, payload: dict[str, Any]
    ) -> str:
        obj: Event = {"event_id": event_id, "source": source, "type": type_}
        if order_id is not None:
            obj["order_id"] = order_id
        obj["occurred_at"] = rfc3339(at)
        obj["payload"] = payload
        return self.emit(obj, at)

    def jitter(self, at: datetime, minutes: int = 25) -> datetime:
        return at + timedelta(minutes=self.rng.randint(0, minutes))

    # -- reference data --
    def customer(self, tz: timezone | None = None) -> Customer:
        firsts = [f for f in FIRST if f not in self.used_names] or FIRST  # a first name is not reused early
        while True:
            first_name = self.rng.choice(firsts)
            name = f"{first_name} {self.rng.choice(LAST)}"
            if name not in self.used_names:
                break
        self.used_names.update((name, first_name))
        first, last = name.lower().replace("'", "").split(" ", 1)
        style = self.rng.randrange(3)
        local = f"{first}.{last}" if style == 0 else f"{first[0]}{last}" if style == 1 else f"{first}{last[:3]}"
        email = f"{local}{self.rng.randint(1, 99) if self.rng.random() < 0.3 else ''}@{self.rng.choice(MAIL_DOMAINS)}"
        city = self.rng.choice(CITIES)
        return Customer(f"cus_{self.rng.randrange(16**8):08x}", name, email, tz or city[1])

    def order(
        self,
        *,
        n_items: int = 1,
        high_value: bool = False,
        customer: Customer | None = None,
        carrier: str | None = None,
    ) -> Order:
        self.order_seq += self.rng.randint(3, 41)
        cust = customer or self.customer()
        pool = HIGH_VALUE if high_value else CATALOG
        fresh = [p for p in pool if p[0] not in self.used_skus]  # vary the products across orders
        picks = self.rng.sample(fresh if len(fresh) >= n_items else pool, n_items)
        self.used_skus.update(p[0] for p in picks)
        items = [
            (sku, title, price, 2 if (not high_value and self.rng.random() < 0.15) else 1)
            for sku, title, price in picks
        ]
        city = next((c for c in CITIES if c[1] == cust.tz), self.rng.choice(CITIES))
        return Order(
            f"SH-{self.order_seq}", str(self.order_seq), cust, items, city, carrier or self.rng.choice(CARRIERS)
        )

    def tracking_number(self, carrier: str) -> str:
        r = self.rng
        if carrier == "UPS":
            alnum = "".join(r.choice("0123456789ABCDEFGHJKLMNPRSTUVWXY") for _ in range(6))
            return f"1Z{alnum}{r.randrange(10**10):010d}"
        if carrier == "USPS":
            return f"9400111{r.randrange(10**15):015d}"
        if carrier == "FedEx":
            return f"7{r.randrange(10**11):011d}"
        return f"JD0146000{r.randrange(10**11):011d}"

    # -- canonical events --
    def placed(self, o: Order, at: datetime, ship_by: datetime | None = None) -> str:
        payload: dict[str, Any] = {
            "order_number": o.number,
            "customer": {"id": o.customer.cid, "email": o.customer.email, "name": o.customer.name},
            "items": [{"sku": s, "title": t, "qty": q, "unit_price": p} for s, t, p, q in o.items],
            "order_value": o.value,
            "currency": "USD",
        }
        if ship_by is not None:
            payload["ship_by"] = rfc3339(ship_by)
        return self.event(f"shopify-order-{o.number}", "oms", "order.placed", o.oid, at.astimezone(ET), payload)

    def oms(self, o: Order, type_: str, at: datetime, payload: dict[str, Any]) -> str:
        return self.event(
            f"shopify-{type_.split('.')[1]}-{o.number}-{self.rng.randrange(10**6)}",
            "oms",
            type_,
            o.oid,
            at.astimezone(ET),
            payload,
        )

    def wms(self, o: Order, type_: str, at: datetime, payload: dict[str, Any]) -> str:
        return self.event(f"wms-{100_000 + self.seq}", "wms", type_, o.oid, at.astimezone(CT), payload)

    def fulfil(self, o: Order, at: datetime, shipment: str, skus: Sequence[str] | None = None) -> str:
        chosen = [(s, q) for s, _, _, q in o.items if skus is None or s in skus]
        return self.wms(
            o, "fulfillment.created", at, {"shipment_id": shipment, "items": [{"sku": s, "qty": q} for s, q in chosen]}
        )

    def label(self, o: Order, at: datetime, shipment: str, tracking: str) -> str:
        urls = {
            "UPS": "https://www.ups.com/track?tracknum={}",
            "FedEx": "https://www.fedex.com/fedextrack/?trknbr={}",
            "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
            "DHL": "https://www.dhl.com/us-en/home/tracking.html?tracking-id={}",
        }
        return self.wms(
            o,
            "label.created",
            at,
            {
                "shipment_id": shipment,
                "carrier": o.carrier,
                "tracking_number": tracking,
                "tracking_url": urls[o.carrier].format(tracking),
            },
        )

    def scan(
        self,
        o: Order,
        at: datetime,
        shipment: str,
        tracking: str,
        status: str,
        where: tuple[str, timezone] | None = None,
        *,
        detail: str | None = None,
        est: date | None = None,
        event_id: str | None = None,
    ) -> str:
        loc, tz = where or (None, ET)
        payload: dict[str, Any] = {"shipment_id": shipment, "status": status}
        if detail:
            payload["detail"] = detail
        if est is not None:
            payload["est_delivery_at"] = est.isoformat()
        if loc:
            payload["location"] = loc
        eid = event_id or f"{o.carrier.lower()}-{tracking[-8:]}-{int(at.timestamp())}"
        return self.event(eid, "carrier", "tracking.updated", o.oid, at.astimezone(tz), payload)

    def supplier(self, o: Order, type_: str, at: datetime, payload: dict[str, Any]) -> str:
        return self.event(
            f"supplier-{self.rng.randrange(10**7):07d}", "supplier", type_, o.oid, at.astimezone(ET), payload
        )

    def ticket(
        self,
        at: datetime,
        text: str,
        *,
        channel: str,
        ticket_id: str | None = None,
        order: Order | None = None,
        email: str | None = None,
        order_number: str | None = None,
        order_id: str | None = None,
        author: str = "customer",
        public: bool = True,
        label: str | None = None,
        tz: timezone | None = None,
    ) -> tuple[str, str]:
        """A ticket message; ``label`` records the expected condition for the backtest."""
        if ticket_id is None:
            self.ticket_seq += self.rng.randint(1, 9)
            ticket_id = {"chat": "CHAT-", "email": "ZD-", "ticket": "ZD-"}[channel] + str(self.ticket_seq)
        self.comment_seq += self.rng.randint(1, 40)
        payload: dict[str, Any] = {
            "ticket_id": ticket_id,
            "channel": channel,
            "author": author,
            "public": public,
            "text": text,
        }
        if email is not None:
            payload["customer"] = {"email": email}
        if order_number is not None:
            payload["order_number"] = order_number
        zone = tz or (order.customer.tz if order is not None else ET)
        eid = self.event(
            f"zd-comment-{self.comment_seq}", "ticket", "ticket.message", order_id, at.astimezone(zone), payload
        )
        if label is not None:
            self.labels[eid] = label
        return eid, ticket_id


def rfc3339(at: datetime) -> str:
    text = at.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def on(day_offset: int, hour: int, minute: int = 0, tz: timezone = ET) -> datetime:
    """A local time ``day_offset`` days from the day (0 = Tuesday 10 November 2026)."""
    d = DAY + timedelta(days=day_offset)
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=tz)


def est_date(day_offset: int) -> date:
    return DAY + timedelta(days=day_offset)


# ---- customer phrasing ------------------------------------------------------------------------------

PHRASES: dict[str, list[str]] = {
    "status": [
        "Hi! When will my {item} get here?{tail}",
        "Hey, any update on {ref}? Just want to know when to expect it.",
        "Hello, can you tell me where my package is?{tail}",
        "Quick question: is {ref} still on track to arrive this week?",
    ],
    "processing": [
        "Hi there, I placed {ref} this morning. Has it shipped yet?",
        "Just ordered the {item} - when will it ship?{tail}",
        "Hello, I haven't had a shipping email for {ref} yet. Is everything ok?",
    ],
    "delivered": [
        "Hi, tracking shows my {item} was delivered. Can you confirm where it was left?{tail}",
        "Was {ref} delivered? I'm travelling this week and want to ask a neighbour to grab it.",
    ],
    "partial": [
        "I got a shipping email but only for some of my items. Where is the rest of {ref}?",
        "Hi, the box that arrived only had part of my order. Is the {item2} coming separately?{tail}",
    ],
    "backorder": [
        "Hello, {ref} still hasn't shipped. Is the {item} in stock?",
        "Any news on my {item}? It's been a few days.{tail}",
    ],
    "allocation": [
        "Hi, the order page still says processing for {ref} but nothing is moving. What's up?",
        "Is there a problem with {ref}? I haven't heard anything.",
    ],
    "pick": [
        "Why hasn't {ref} shipped yet? It's been days.",
        "Hi, just checking on the {item} I ordered. Still says processing.{tail}",
        "Can I get a status on {ref} please?",
    ],
    "label": [
        "Tracking has said 'Label Created' since the weekend. Has it actually shipped?{tail}",
        "The tracking number for {ref} doesn't show any movement at all, only that a label was printed.",
    ],
    "stalled": [
        "My tracking hasn't updated in days. What's going on with {ref}?",
        "Tracking for {ref} has been stuck at the same hub since last week. Can you check?",
    ],
    "lost": ["Tracking for {ref} says there's a carrier exception. What does that mean for my {item}?"],
    "failed": [
        "The carrier says they couldn't deliver my package??{tail}",
        "I got a missed delivery notice for {ref}. Can they try again tomorrow?",
    ],
    "rts": [
        "Why is my {item} being sent back?! I was home.{tail}",
        "Tracking says return to sender for {ref}. What happened?",
    ],
    "dnr": [
        "Tracking says my {item} was delivered yesterday but there's nothing at my door.{tail}",
        "It says delivered but I never got it. I checked with my neighbours and the mailroom.{tail}",
    ],
    "repeat": [
        "This is the second time I'm asking about {ref}. Can someone actually look into it?",
        "Following up again on {ref} - still no {item} and no real answer.",
    ],
    "hold": [
        "Why hasn't {ref} shipped yet? I already paid.",
        "Hi, when will {ref} be sent out?",
    ],
    "unknown": [
        "Hello?? Where is my package, I ordered two weeks ago!!",
        "where is my stuff",
    ],
    "ambiguous": ["Hi, where is my order? I haven't had any shipping email."],
}


def phrase(day: Day, kind: str, o: Order | None, ref: str) -> str:
    """A customer message; ``ref`` is how the customer names the order ("order 48213", "#48213", or
    "my order" when the number is in a form field or the ticket is matched by e-mail)."""
    text = day.rng.choice(PHRASES[kind])
    item = o.items[0][1] if o else "order"
    item2 = o.items[-1][1] if o else "rest"
    tail = "" if ref == "my order" else f" {ref[0].upper()}{ref[1:]}." if ref.startswith("order") else f" {ref}"
    return " ".join(text.format(ref=ref, tail=tail, item=item, item2=item2).split())


def ref_style(day: Day, o: Order) -> tuple[str, dict[str, Any]]:
    """How a ticket names its order: in the text, as a form field, or not at all (matched by e-mail)."""
    style = day.rng.choice(["text", "hash", "field", "email", "email"])
    if style == "text":
        return f"order {o.number}", {}
    if style == "hash":
        return f"#{o.number}", {}
    if style == "field":
        return "my order", {"order_number": f"#{o.number}"}
    return "my order", {"email": o.customer.email}


# ---- order archetypes: one per condition family -----------------------------------------------------


def shipped(
    day: Day,
    o: Order,
    placed_at: datetime,
    *,
    label_after: float = 6.0,
    scans: int = 2,
    est: int = 1,
    sid: str | None = None,
    skus: Sequence[str] | None = None,
) -> tuple[str, str]:
    """Placed, fulfilled, picked, labelled and scanned ``scans`` times; returns (shipment, tracking)."""
    day.placed(o, placed_at)
    sid = sid or f"{o.oid}-1"
    trk = day.tracking_number(o.carrier)
    day.fulfil(o, placed_at + timedelta(hours=1, minutes=day.rng.randint(0, 50)), sid, skus)
    day.wms(o, "pick.completed", placed_at + timedelta(hours=label_after - 1), {"shipment_id": sid})
    label_at = placed_at + timedelta(hours=label_after)
    day.label(o, label_at, sid, trk)
    day.scan(o, label_at + timedelta(minutes=2), sid, trk, "pre_transit")
    at = label_at + timedelta(hours=day.rng.randint(3, 6))
    hubs = [ORIGIN, *day.rng.sample(HUBS[o.carrier], 2)]
    for i in range(scans):
        day.scan(o, at, sid, trk, "in_transit", hubs[min(i, len(hubs) - 1)], est=est_date(est))
        at += timedelta(hours=day.rng.randint(9, 15))
    return sid, trk


def a_in_transit(day: Day, channel: str) -> None:
    o = day.order()
    shipped(day, o, day.jitter(on(-2, 9)), scans=3, est=day.rng.choice([0, 1]))
    ref, extra = ref_style(day, o)
    day.ticket(
        day.jitter(on(0, 10, tz=o.customer.tz), 200),
        phrase(day, "status", o, ref),
        channel=channel,
        order=o,
        label="standard_in_transit",
        **extra,
    )


def a_in_transit_then_delivered(day: Day) -> None:
    """Asked in the morning; delivered in the afternoon: the open case gets a delivery confirmation."""
    o = day.order()
    sid, trk = shipped(day, o, day.jitter(on(-3, 11)), scans=3, est=0)
    day.ticket(
        day.jitter(on(0, 8, 30, o.customer.tz)),
        phrase(day, "status", o, f"order {o.number}"),
        channel="chat",
        order=o,
        label="standard_in_transit",
    )
    day.scan(o, on(0, 9, 40, o.city[1]), sid, trk, "out_for_delivery", o.city, est=est_date(0))
    day.scan(o, day.jitter(on(0, 14, 10, o.city[1])), sid, trk, "delivered", ("Front door", o.city[1]))


def a_processing(day: Day, channel: str) -> None:
    o = day.order()
    placed = day.jitter(on(0, 7, 15), 60)
    day.placed(o, placed, ship_by=on(1, 17) if day.rng.random() < 0.5 else None)
    day.fulfil(o, placed + timedelta(minutes=45), f"{o.oid}-1")
    ref, extra = ref_style(day, o)
    day.ticket(
        day.jitter(on(0, 12, tz=o.customer.tz), 90),
        phrase(day, "processing", o, ref),
        channel=channel,
        order=o,
        label="processing_within_sla",
        **extra,
    )


def a_delivered(day: Day, *, ask: bool) -> None:
    o = day.order()
    sid, trk = shipped(day, o, day.jitter(on(-4, 10)), scans=2, est=-1)
    day.scan(o, on(-1, 8, 15, o.city[1]), sid, trk, "out_for_delivery", o.city, est=est_date(-1))
    day.scan(o, day.jitter(on(-1, 13, tz=o.city[1])), sid, trk, "delivered", ("Front door", o.city[1]))
    if ask:
        ref, extra = ref_style(day, o)
        day.ticket(
            day.jitter(on(0, 9, tz=o.customer.tz), 120),
            phrase(day, "delivered", o, ref),
            channel="email",
            order=o,
            label="delivered",
            **extra,
        )


def a_partial(day: Day, *, ask: bool) -> None:
    o = day.order(n_items=2)
    first = o.items[0][0]
    if ask:
        shipped(day, o, day.jitter(on(-2, 10)), scans=2, est=1, skus=[first])
        day.fulfil(o, on(-1, 15, tz=CT), f"{o.oid}-2", [o.items[1][0]])
        ref, extra = ref_style(day, o)
        day.ticket(
            day.jitter(on(0, 11, tz=o.customer.tz), 120),
            phrase(day, "partial", o, ref),
            channel="chat",
            order=o,
            label="partial_shipment",
            **extra,
        )
    else:  # the first physical scan of part of the order happens today: proactive "partial shipment created"
        placed = day.jitter(on(-1, 9))
        day.placed(o, placed)
        sid, trk = f"{o.oid}-1", day.tracking_number(o.carrier)
        day.fulfil(o, placed + timedelta(hours=2), sid, [first])
        day.label(o, on(-1, 17, tz=CT), sid, trk)
        day.scan(o, on(0, 1, 30, CT), sid, trk, "in_transit", ORIGIN, est=est_date(2))


def a_backorder(day: Day, *, known: bool, becomes_known: bool = False) -> None:
    o = day.order()
    sku = o.items[0][0]
    day.placed(o, day.jitter(on(-3, 14)))
    po = f"PO-{day.rng.randint(88000, 89999)}"
    day.supplier(
        o,
        "supplier.eta_changed",
        on(-2, 8, 5),
        {"sku": sku, "eta": est_date(6).isoformat() if known else None, "po_id": po},
    )
    if becomes_known:  # proactive "ETA known after unknown", no ticket
        day.supplier(
            o, "supplier.eta_changed", on(0, 10, 20), {"sku": sku, "eta": est_date(5).isoformat(), "po_id": po}
        )
        return
    ref, extra = ref_style(day, o)
    day.ticket(
        day.jitter(on(0, 13, tz=o.customer.tz), 120),
        phrase(day, "backorder", o, ref),
        channel="email",
        order=o,
        label="supplier_backorder",
        **extra,
    )


def a_eta_slip(day: Day) -> None:
    """Supplier ETA moved later by four days today: proactive update (no ticket)."""
    o = day.order()
    sku = o.items[0][0]
    day.placed(o, day.jitter(on(-4, 10)))
    day.supplier(
        o, "supplier.eta_changed", on(-3, 9), {"sku": sku, "eta": est_date(3).isoformat(), "po_id": "PO-88412"}
    )
    day.supplier(
        o, "supplier.eta_changed", on(0, 9, 30), {"sku": sku, "eta": est_date(7).isoformat(), "po_id": "PO-88412"}
    )


def a_allocation(day: Day, channel: str) -> None:
    o = day.order()
    placed = day.jitter(on(-1, 16))
    day.placed(o, placed)
    day.supplier(
        o,
        "inventory.allocation_failed",
        placed + timedelta(hours=3),
        {"sku": o.items[0][0], "reason": day.rng.choice(["reserved", "shortage"])},
    )
    ref, extra = ref_style(day, o)
    day.ticket(
        day.jitter(on(0, 10, tz=o.customer.tz), 240),
        phrase(day, "allocation", o, ref),
        channel=channel,
        order=o,
        label="allocation_conflict",
        **extra,
    )


def a_pick_delay(day: Day, how: str) -> None:
    o = day.order()
    if how == "exception":
        placed = day.jitter(on(0, 6, 30))
        day.placed(o, placed)
        day.fulfil(o, placed + timedelta(hours=1), f"{o.oid}-1")
        day.wms(
            o,
            "pick.exception",
            on(0, 9, 40, CT),
            {
                "shipment_id": f"{o.oid}-1",
                "reason": day.rng.choice(["short_pick", "cycle_count_mismatch"]),
                "skus": [o.items[0][0]],
            },
        )
        at = on(0, 15, tz=o.customer.tz)
    elif how == "sla":  # nothing after the order for three days
        day.placed(o, day.jitter(on(-3, 11)))
        at = on(0, 10, tz=o.customer.tz)
    else:  # fulfilment created yesterday morning, never picked
        placed = day.jitter(on(-1, 7))
        day.placed(o, placed)
        day.fulfil(o, placed + timedelta(minutes=40), f"{o.oid}-1")
        at = on(0, 16, tz=o.customer.tz)
    ref, extra = ref_style(day, o)
    day.ticket(
        day.jitter(at, 60),
        phrase(day, "pick", o, ref),
        channel="ticket",
        order=o,
        label="warehouse_pick_delay",
        **extra,
    )


def a_label_no_pickup(day: Day, channel: str) -> None:
    o = day.order()
    placed = day.jitter(on(-2, 9))
    day.placed(o, placed)
    sid, trk = f"{o.oid}-1", day.tracking_number(o.carrier)
    day.fulfil(o, placed + timedelta(hours=1), sid)
    day.wms(o, "pick.completed", placed + timedelta(hours=3), {"shipment_id": sid})
    label_at = placed + timedelta(hours=5)
    day.label(o, label_at, sid, trk)
    day.scan(o, label_at + timedelta(minutes=1), sid, trk, "pre_transit")
    ref, extra = ref_style(day, o)
    day.ticket(
        day.jitter(on(0, 11, tz=o.customer.tz), 180),
        phrase(day, "label", o, ref),
        channel=channel,
        order=o,
        label="label_created_no_pickup",
        **extra,
    )


def a_stalled(day: Day, *, lost: bool) -> None:
    o = day.order()
    sid, trk = shipped(day, o, day.jitter(on(-6, 10)), scans=2, est=-3)
    if lost:
        day.scan(o, on(-1, 18, tz=CT), sid, trk, "exception", HUBS[o.carrier][0], detail="lost")
    ref, extra = ref_style(day, o)
    day.ticket(
        day.jitter(on(0, 9, 30, o.customer.tz), 200),
        phrase(day, "lost" if lost else "stalled", o, ref),
        channel="email",
        order=o,
        label="no_tracking_movement",
        **extra,
    )


def a_movement_resumed(day: Day) -> None:
    """Stalled for four days, then a new scan today: proactive, material."""
    o = day.order()
    sid, trk = shipped(day, o, day.jitter(on(-6, 9)), scans=1, est=-2)
    day.scan(o, day.jitter(on(0, 7, tz=CT)), sid, trk, "in_transit", HUBS[o.carrier][1], est=est_date(2))


def a_failed(day: Day, channel: str, detail: str) -> None:
    o = day.order()
    sid, trk = shipped(day, o, day.jitter(on(-4, 10)), scans=2, est=-1)
    day.scan(o, day.jitter(on(-1, 14, tz=o.city[1])), sid, trk, "delivery_failed", o.city, detail=detail)
    ref, extra = ref_style(day, o)
    day.ticket(
        day.jitter(on(0, 8, 45, o.customer.tz), 150),
        phrase(day, "failed", o, ref),
        channel=channel,
        order=o,
        label="delivery_failed",
        **extra,
    )


def a_rts(day: Day, *, exhausted: bool) -> None:
    o = day.order()
    sid, trk = shipped(day, o, day.jitter(on(-7, 10)), scans=2, est=-4)
    if exhausted:
        # Three failed attempts, then the carrier's own return scan: "attempts exhausted" is its statement.
        for d in (-3, -2, -1):
            day.scan(
                o,
                day.jitter(on(d, 13, tz=o.city[1])),
                sid,
                trk,
                "delivery_failed",
                o.city,
                detail="recipient_unavailable",
            )
        day.scan(o, day.jitter(on(-1, 19, tz=o.city[1])), sid, trk, "return_to_sender", o.city)
    else:
        day.scan(o, day.jitter(on(-2, 12, tz=o.city[1])), sid, trk, "delivery_failed", o.city, detail="address_issue")
        day.scan(o, day.jitter(on(-1, 9, tz=o.city[1])), sid, trk, "return_to_sender", o.city)
    ref, extra = ref_style(day, o)
    day.ticket(
        day.jitter(on(0, 12, tz=o.customer.tz), 200),
        phrase(day, "rts", o, ref),
        channel="ticket",
        order=o,
        label="return_to_sender",
        **extra,
    )


def a_dnr(day: Day, *, high_value: bool) -> str:
    """Delivered yesterday, customer says it never arrived; returns the ticket event id."""
    o = day.order(high_value=high_value, carrier="UPS" if high_value else None)
    sid, trk = shipped(day, o, day.jitter(on(-4, 10)), scans=2, est=-1)
    day.scan(o, on(-1, 8, 30, o.city[1]), sid, trk, "out_for_delivery", o.city, est=est_date(-1))
    where = None if high_value else ("Front porch", o.city[1])  # no delivery location: weak proof
    day.scan(o, day.jitter(on(-1, 15, tz=o.city[1])), sid, trk, "delivered", where)
    eid, _ = day.ticket(
        day.jitter(on(0, 9, 15, o.customer.tz), 60),
        phrase(day, "dnr", o, f"order {o.number}"),
        channel="email" if high_value else "chat",
        order=o,
        label="delivered_not_received",
    )
    return eid


def a_repeated(day: Day) -> None:
    o = day.order()
    shipped(day, o, day.jitter(on(-3, 10)), scans=3, est=1)
    day.ticket(
        day.jitter(on(-1, 17, tz=o.customer.tz)),
        phrase(day, "status", o, f"order {o.number}"),
        channel="chat",
        order=o,
        label="standard_in_transit",
    )
    day.ticket(
        day.jitter(on(0, 10, 30, o.customer.tz), 90),
        phrase(day, "repeat", o, f"order {o.number}"),
        channel="email",
        order=o,
        email=o.customer.email,
        label="repeated_contact",
    )


def a_hold(day: Day, hold_type: str) -> None:
    o = day.order(n_items=2)
    placed = day.jitter(on(-1, 22), 50)
    day.placed(o, placed)
    day.oms(o, "order.hold_placed", placed + timedelta(minutes=2), {"hold_type": hold_type})
    ref, extra = ref_style(day, o)
    day.ticket(
        day.jitter(on(0, 11, tz=o.customer.tz), 120),
        phrase(day, "hold", o, ref),
        channel="chat",
        order=o,
        label="restricted_hold",
        **extra,
    )


def a_cancelled(day: Day) -> None:
    o = day.order()
    placed = day.jitter(on(0, 8))
    day.placed(o, placed)
    day.oms(o, "order.cancelled", placed + timedelta(hours=2, minutes=10), {"reason": "customer_request"})


def a_human_reply(day: Day) -> None:
    """A customer asks, a teammate answers publicly; the later failed attempt stays a draft note."""
    o = day.order()
    sid, trk = shipped(day, o, day.jitter(on(-3, 10)), scans=2, est=0)
    asked = on(0, 8, 5, o.customer.tz)
    _, tid = day.ticket(
        asked, phrase(day, "status", o, f"order {o.number}"), channel="ticket", order=o, label="standard_in_transit"
    )
    first = o.customer.name.split()[0]
    day.ticket(
        asked + timedelta(minutes=40),
        f"Hi {first}, I checked with {o.carrier}: it's on the truck for delivery "
        "today. I'll keep an eye on it for you. Jess, Customer Care",
        channel="ticket",
        ticket_id=tid,
        order_id=o.oid,
        author="agent",
        tz=ET,
    )
    day.scan(o, on(0, 16, 20, o.city[1]), sid, trk, "delivery_failed", o.city, detail="business_closed")


def a_unknown(day: Day) -> None:
    stranger = day.customer()
    day.ticket(
        day.jitter(on(0, 9, 5, stranger.tz), 300),
        phrase(day, "unknown", None, ""),
        channel="email",
        email=stranger.email,
        tz=stranger.tz,
        label="missing_order_data",
    )
    day.ticket(
        day.jitter(on(0, 13), 200),
        "hi, where is my package? it should have been here by now",
        channel="chat",
        label="missing_order_data",
    )


def a_ambiguous(day: Day) -> None:
    cust = day.customer()
    a = day.order(customer=cust)
    b = day.order(customer=cust)
    day.placed(a, day.jitter(on(-1, 19)))
    day.placed(b, day.jitter(on(0, 7, 30)))
    day.fulfil(b, on(0, 9, 10, CT), f"{b.oid}-1")
    _, tid = day.ticket(
        on(0, 12, 40, cust.tz),
        phrase(day, "ambiguous", None, ""),
        channel="email",
        email=cust.email.upper(),
        label="missing_order_data",
    )
    day.ticket(
        on(0, 13, 5, cust.tz),
        f"Sorry! It's order {b.number}.",
        channel="email",
        ticket_id=tid,
        email=cust.email,
        label="processing_within_sla",
    )


# ---- assembling the day -----------------------------------------------------------------------------


def build(seed: int) -> Day:
    day = Day(random.Random(seed))
    plan: list[Callable[[], object]] = [
        lambda: a_in_transit(day, "chat"),
        lambda: a_in_transit(day, "email"),
        lambda: a_in_transit(day, "ticket"),
        lambda: a_in_transit_then_delivered(day),
        lambda: a_processing(day, "chat"),
        lambda: a_processing(day, "email"),
        lambda: a_delivered(day, ask=True),
        lambda: a_delivered(day, ask=False),
        lambda: a_partial(day, ask=True),
        lambda: a_partial(day, ask=False),
        lambda: a_backorder(day, known=False),
        lambda: a_backorder(day, known=True),
        lambda: a_backorder(day, known=False, becomes_known=True),
        lambda: a_eta_slip(day),
        lambda: a_allocation(day, "chat"),
        lambda: a_allocation(day, "email"),
        lambda: a_pick_delay(day, "exception"),
        lambda: a_pick_delay(day, "sla"),
        lambda: a_pick_delay(day, "unpicked"),
        lambda: a_label_no_pickup(day, "email"),
        lambda: a_label_no_pickup(day, "chat"),
        lambda: a_stalled(day, lost=False),
        lambda: a_stalled(day, lost=True),
        lambda: a_movement_resumed(day),
        lambda: a_failed(day, "chat", "address_issue"),
        lambda: a_failed(day, "email", "recipient_unavailable"),
        lambda: a_rts(day, exhausted=False),
        lambda: a_rts(day, exhausted=True),
        lambda: a_dnr(day, high_value=False),
        lambda: a_repeated(day),
        lambda: a_hold(day, "fraud_review"),
        lambda: a_hold(day, "address_verification"),
        lambda: a_cancelled(day),
        lambda: a_human_reply(day),
        lambda: a_unknown(day),
        lambda: a_ambiguous(day),
    ]
    for step in plan:
        step()
    dnr_ticket = a_dnr(day, high_value=True)
    for hour in (0, 6, 12, 18):  # the scheduled sweep over every order in progress
        at = on(0, hour, 0, UTC) + timedelta(hours=5)
        day.event(f"sweep-20261110T{at.hour:02d}00Z", "clock", "clock.tick", None, at, {})
    add_duplicates(day)
    add_review(day, dnr_ticket)
    return day


def add_duplicates(day: Day) -> None:
    """At-least-once delivery: a webhook retried with the same event_id, and the same carrier status
    forwarded by a second tracking integration under its own event_id."""
    lines = [line for _, _, line in day.events]
    scans = [json.loads(x) for x in lines if '"tracking.updated"' in x and '"in_transit"' in x]
    retry = scans[len(scans) // 2]
    day.emit(retry, datetime.fromisoformat(retry["occurred_at"]))
    second = dict(scans[len(scans) // 3])
    second["event_id"] = "aftership-" + second["event_id"]
    day.emit(second, datetime.fromisoformat(second["occurred_at"]))
    ticket = next(json.loads(x) for x in lines if '"ticket.message"' in x and '"author": "customer"' in x)
    day.emit(ticket, datetime.fromisoformat(ticket["occurred_at"]))
    # two malformed lines, as they really arrive: a truncated webhook body and a naive timestamp
    day.raw_lines.append(
        (
            on(0, 9, 31),
            '{"event_id": "fedex-webhook-5531920", "source": "carrier", "type": "tracking.'
            'updated", "order_id": "SH-48377", "occurred_at": "2026-11-10T09:31:00-05:00", "payload": {"sh',
        )
    )
    day.raw_lines.append(
        (
            on(0, 14, 2),
            json.dumps(
                {
                    "event_id": "wms-legacy-20991",
                    "source": "wms",
                    "type": "pick.completed",
                    "order_id": "SH-48377",
                    "occurred_at": "2026-11-10T13:02:00",
                    "payload": {"shipment_id": "SH-48377-1"},
                }
            ),
        )
    )


def add_review(day: Day, dnr_ticket: str) -> None:
    """A senior reviewer approves the replacement drafted for the high-value delivered-not-received case.
    The escalation id is deterministic; it is read from the engine's output for the day so far."""
    from wismo.pipeline import Pipeline
    from wismo.policy import load_policy

    pipeline = Pipeline(load_policy())
    escalation: dict[str, Any] | None = None
    for line in ordered_lines(day):
        for topic, rec in pipeline.process_line(line):
            data = rec.model_dump(mode="json")
            if topic == "wismo.escalations" and data["caused_by"] == dnr_ticket:
                escalation = data
    if escalation is None:
        raise SystemExit(f"no escalation was raised for {dnr_ticket}; cannot answer it")
    created = datetime.fromisoformat(escalation["created_at"])
    day.event(
        f"slack-action-{day.rng.randrange(10**9):09d}",
        "review",
        "review.decision",
        escalation["order_id"],
        created.astimezone(ET) + timedelta(hours=1, minutes=35),
        {
            "escalation_id": escalation["escalation_id"],
            "decision": "approved",
            "reviewer": "mia.senior-cx",
            "rationale": "No delivery photo or location from UPS; approve the replacement and open a carrier claim.",
        },
    )


def ordered_lines(day: Day) -> list[str]:
    """Every line sorted by event time (stable); malformed lines sit where they arrived."""
    timed = [(at.astimezone(UTC), 0, seq, line) for at, seq, line in day.events]
    timed += [(at.astimezone(UTC), 1, i, line) for i, (at, line) in enumerate(day.raw_lines)]
    return [line for *_, line in sorted(timed)]


def write(day: Day, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    events = out_dir / "day.ndjson"
    labels = out_dir / "day.labels.json"
    events.write_text("".join(line + "\n" for line in ordered_lines(day)), encoding="utf-8")
    labels.write_text(json.dumps(dict(sorted(day.labels.items())), indent=2) + "\n", encoding="utf-8")
    return events, labels


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent, help="output directory")
    args = parser.parse_args(argv)
    day = build(args.seed)
    events, labels = write(day, args.out_dir)
    print(f"wrote {events} ({len(day.events) + len(day.raw_lines)} lines) and {labels} ({len(day.labels)} labels)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
