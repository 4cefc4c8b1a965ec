"""Shared building blocks of customer-safe text: shipment names, item lists, carrier status sentences,
and the guardrail facts that go with them.

Every date goes through :func:`wismo.timefmt.customer_date`; every date that may appear in a text is also
added to the guardrail's allowed set by :func:`guardrail_facts`, so the check and the writer agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from wismo.handlers.guardrails import GuardrailFacts, ShipmentFacts, names_policy_term

from wismo.context import OrderContext, Shipment
from wismo.timefmt import customer_date, local_date

DELIVERY_FAILURE_REASON = {
    "address_issue": "the carrier could not complete delivery because of a problem with the delivery address",
    "access_issue": "the driver could not get access to the delivery location",
    "business_closed": "the business at the delivery address was closed",
    "recipient_unavailable": "nobody was available to receive the package",
}
"""Customer wording for each failed-attempt reason; never the raw carrier code."""


def join_text(parts: Iterable[str], sep: str = " ") -> str:
    """``parts`` stripped and joined by ``sep``; empty parts are left out, so a text never holds an empty
    part (a doubled separator, a sentence starting with a space)."""
    return sep.join(p for p in (x.strip() for x in parts) if p)


def first_name(ctx: OrderContext | None) -> str | None:
    if ctx is None or not ctx.customer_name:
        return None
    return ctx.customer_name.strip().split()[0] or None


def sentence_case(text: str) -> str:
    """Upper-case the first letter only (``str.capitalize`` would lower-case "#EVR-1045")."""
    return text[:1].upper() + text[1:]


def order_ref(ctx: OrderContext) -> str:
    return f"order #{ctx.order_number}" if ctx.order_number else "your order"


def ordered_shipments(ctx: OrderContext) -> list[Shipment]:
    """Shipments in a stable order: by creation (label or first event), then id."""
    if len(ctx.shipments) < 2:
        return list(ctx.shipments.values())

    def key(s: Shipment) -> tuple[datetime | str, str]:
        t = s.created_at or s.label_at or s.first_physical_scan_at or s.status_at
        return (t.isoformat() if t else "~", s.shipment_id)

    return sorted(ctx.shipments.values(), key=key)


def shipment_labels(ctx: OrderContext) -> dict[str, str]:
    """shipment_id -> "Package N" when the order has several shipments, "your package" otherwise."""
    return _labels(ordered_shipments(ctx))


def _labels(ships: list[Shipment]) -> dict[str, str]:
    """:func:`shipment_labels` of the shipments ``ships`` (in :func:`ordered_shipments` order)."""
    if len(ships) == 1:
        return {ships[0].shipment_id: "your package"}
    return {s.shipment_id: f"Package {i}" for i, s in enumerate(ships, 1)}


def carrier_name(s: Shipment) -> str:
    return s.carrier or "the carrier"


def carrier_subject(s: Shipment) -> str:
    """:func:`carrier_name` to start a sentence with ("The carrier ...", never "the carrier ...")."""
    return sentence_case(carrier_name(s))


def tracking_text(s: Shipment) -> str:
    if not s.tracking_number:
        return ""
    text = f" (tracking number {s.tracking_number}"
    if s.tracking_url:
        text += f", {s.tracking_url}"
    return text + ")"


def shown_place(place: str | None, hidden: tuple[str, ...] = ()) -> str | None:
    """A carrier location as customer text shows it: the comma-separated parts that name one of the
    policy's restricted terms (a partner's facility) are left out; None when nothing is left."""
    if not place or not hidden:
        return place or None
    kept = [part.strip() for part in place.split(",") if part.strip() and not names_policy_term(part, hidden)]
    return ", ".join(kept) or None


def scan_status_sentence(s: Shipment, tz: str, hidden: tuple[str, ...] = ()) -> str:
    """What the carrier last reported for a physically scanned shipment, with its date and source.
    ``hidden``: the policy's restricted terms, left out of the locations (:func:`shown_place`)."""
    carrier = carrier_name(s)
    when = customer_date(s.status_at, tz) if s.status_at else None
    place = shown_place(s.scans[-1].location, hidden) if s.scans and s.status != "delivered" else None
    loc = f" in {place}" if place else ""
    on = f" on {when}" if when else ""
    status = s.status
    if status == "delivered":
        delivered_place = shown_place(s.delivered_location, hidden)
        where = f" ({delivered_place})" if delivered_place else ""
        return f"{carrier} reports it was delivered{on}{where}"
    if status == "out_for_delivery":
        return f"{carrier} reported it out for delivery{on}{loc}"
    if status == "available_for_pickup":
        return f"{carrier} reports it is ready for collection at a pickup point{loc}, as of {when}"
    if status == "delivery_failed":
        return f"{carrier} attempted delivery{on} but could not complete it"
    if status == "return_to_sender":
        return f"{carrier} reports it is being returned to us{', as of ' + when if when else ''}"
    if status == "exception":
        why = "a weather delay" if s.detail == "weather" else "a delay"
        return f"{carrier} reported {why} in its network{on}{loc}"
    last = customer_date(s.last_physical_scan_at, tz) if s.last_physical_scan_at else when
    return f"it is in transit with {carrier}; the latest carrier scan was on {last}{loc}"


def estimate_sentence(s: Shipment, now: datetime, tz: str) -> str:
    """The carrier's own delivery estimate, if it has one that is not in the past; never an invented one."""
    if s.est_delivery is None or s.status == "delivered":
        return ""
    if s.est_delivery < local_date(now, tz):
        return f" {carrier_subject(s)}'s last delivery estimate has passed, so we are watching for the next scan."
    return f" {carrier_subject(s)} currently estimates delivery on {customer_date(s.est_delivery, tz)}."


def collect_dates(ctx: OrderContext | None, tz: str, extra: list[datetime | date | None]) -> frozenset[date]:
    """Every date the data holds (and the promised checkpoint), in the customer time zone."""
    out: set[date] = set()
    vals: list[datetime | date | None] = list(extra)
    if ctx is not None:
        vals += [ctx.placed_at, ctx.ship_by, ctx.cancelled_at]
        for s in ctx.shipments.values():
            vals += [
                s.created_at,
                s.label_at,
                s.status_at,
                s.delivered_at,
                s.est_delivery,
                s.first_physical_scan_at,
                s.last_physical_scan_at,
            ]
            # Not the scans' estimates: those are the carrier's dates; s.est_delivery is the customer's.
            vals += [sc.at for sc in s.scans]
        for e in ctx.supplier_etas.values():
            vals += [e.eta, e.previous_eta]
    utc = tz == "UTC"
    for v in vals:
        if v is None:
            continue
        if type(v) is date:
            out.add(v)  # a bare date is kept (local_date)
        elif utc and type(v) is datetime and v.tzinfo is UTC:
            out.add(v.date())  # local_date's own shortcut, without the call (a text has dozens of dates)
        else:
            out.add(local_date(v, tz))
    return frozenset(out)


def guardrail_facts(
    ctx: OrderContext | None,
    tz: str,
    *,
    extra_dates: list[datetime | date | None],
    split: bool = False,
    approved_actions: frozenset[str] = frozenset(),
    restricted_terms: tuple[str, ...] = (),
    restricted_hold: bool = False,
) -> GuardrailFacts:
    shipments: tuple[ShipmentFacts, ...] = ()
    pending: tuple[str, ...] = ()
    any_scan = False
    if ctx is not None:
        ships = ordered_shipments(ctx)
        labels = _labels(ships) if ships else {}
        shipments = tuple(
            ShipmentFacts(
                label=labels[s.shipment_id],
                item_titles=tuple(ctx.item_title(sku) for sku in s.items),
                physically_scanned=s.physically_scanned,
            )
            for s in ships
        )
        any_scan = any(s.physically_scanned for s in ships)
        pending = tuple(ctx.item_title(sku) for sku in ctx.unshipped_units())
    return GuardrailFacts(
        allowed_dates=collect_dates(ctx, tz, extra_dates),
        any_physical_scan=any_scan,
        shipments=shipments,
        pending_item_titles=pending,
        split=split,
        approved_actions=approved_actions,
        restricted_terms=restricted_terms,
        restricted_hold=restricted_hold,
    )
