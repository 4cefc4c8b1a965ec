"""The itemised map of a split order (SPEC §5: "A partial shipment reply itemises every shipment and the
items still pending"), shared by every handler that answers about a split order.

Guarantees: every shipment is named with its own status (a labelled parcel is "waiting for the carrier",
never "shipped"); every unit in no shipment is listed; a quantity is shown whenever an item is split
(``Red Kettle (1 of 2)``). A shipment whose contents are unknown (carrier events with no fulfilment) is
named without any claim about what it holds, and while one of those is with the carrier no unit is said to
be "not yet sent" (it may be in that package).
"""

from __future__ import annotations

from datetime import datetime

from wismo.handlers.phrasing import (
    estimate_sentence,
    join_text,
    ordered_shipments,
    scan_status_sentence,
    sentence_case,
    shipment_labels,
    tracking_text,
)

from wismo.context import OrderContext, Shipment
from wismo.timefmt import customer_date


def unpacked_units(ctx: OrderContext) -> dict[str, int]:
    """sku -> ordered units in no shipment at all (not yet packed), in order-line order."""
    return ctx.units_beyond(ctx.units_in_shipments())


def unknown_contents_scanned(ctx: OrderContext) -> bool:
    """A physically scanned shipment has no known contents (no fulfilment lists its items)."""
    return any(s.physically_scanned and not s.items for s in ctx.shipments.values())


def split_order(ctx: OrderContext) -> bool:
    """The order is split: more than one shipment, or one with the carrier while units are still
    pending. A scanned shipment of unknown contents never makes an order split on its own."""
    if len(ctx.shipments) > 1:
        return True
    if unknown_contents_scanned(ctx) or not any(s.physically_scanned for s in ctx.shipments.values()):
        return False
    return bool(ctx.unshipped_units())


def units_label(ctx: OrderContext, sku: str, qty: int, ordered: int) -> str:
    """``Red Kettle (1 of 2)`` for part of an item's units, ``Tea Towel (x3)`` for all of several,
    the bare title for a single unit."""
    title = ctx.item_title(sku)
    if qty < ordered:
        return f"{title} ({qty} of {ordered})"
    return f"{title} (x{qty})" if qty > 1 else title


def contents_text(ctx: OrderContext, s: Shipment, ordered: dict[str, int] | None = None) -> str:
    """What ``s`` holds, with quantities (``Blue Mug, Red Kettle (1 of 2)``); empty when its contents are
    unknown (no fulfilment lists them)."""
    units = ordered if ordered is not None else ctx.ordered_units()
    return ", ".join(units_label(ctx, sku, q, units.get(sku, q)) for sku, q in s.items.items())


def with_contents(ctx: OrderContext, s: Shipment) -> str:
    """`` with <contents>`` to follow a package's name on an order of several packages (so the customer can
    tell them apart); empty for a single package or unknown contents."""
    if len(ctx.shipments) < 2:
        return ""
    what = contents_text(ctx, s)
    return f" with {what}" if what else ""


def _status(s: Shipment, now: datetime, tz: str, hidden: tuple[str, ...]) -> str:
    if s.physically_scanned:
        return scan_status_sentence(s, tz, hidden) + "." + estimate_sentence(s, now, tz)
    if s.label_at is not None:
        return (
            f"a shipping label was created on {customer_date(s.label_at, tz)}; it is waiting for the carrier "
            "to collect it."
        )
    return "being prepared at our fulfilment centre."


def _pending_line(ctx: OrderContext, sku: str, label: str, tz: str) -> str:
    eta = ctx.supplier_etas.get(sku)
    if eta is not None and eta.eta is not None:
        return (
            f"- Not yet sent: {label}. Our current estimate for it to be ready is {customer_date(eta.eta, tz)}; "
            "this is an estimate and can change."
        )
    if eta is not None:
        return (
            f"- Not yet sent: {label}. It is temporarily out of stock and we do not have a confirmed date for it yet."
        )
    return f"- Not yet sent: {label}. It is still being prepared."


def map_lines(ctx: OrderContext, now: datetime, tz: str, hidden: tuple[str, ...] = ()) -> list[str]:
    """One line per shipment (label, tracking, contents with quantities, status), then one per item with
    units in no shipment. ``hidden``: restricted terms left out of carrier locations."""
    ordered = ctx.ordered_units()
    labels = shipment_labels(ctx)
    lines = []
    for s in ordered_shipments(ctx):
        what = contents_text(ctx, s, ordered)
        with_what = f" with {what}" if what else ""
        status = _status(s, now, tz, hidden)
        lines.append(f"- {sentence_case(labels[s.shipment_id])}{tracking_text(s)}{with_what}: {status}")
    unknown = unknown_contents_scanned(ctx)
    for sku, qty in unpacked_units(ctx).items():
        label = units_label(ctx, sku, qty, ordered[sku])
        if unknown:
            lines.append(f"- {label}: our records do not show yet which package it is in.")
        else:
            lines.append(_pending_line(ctx, sku, label, tz))
    return lines


def map_text(ctx: OrderContext, now: datetime, tz: str, hidden: tuple[str, ...] = ()) -> str:
    """The map under its heading, for a handler whose own text is about one part of a split order."""
    return "\n".join(["Here is where each part of your order is:", *map_lines(ctx, now, tz, hidden)])


def with_map(text: str, ctx: OrderContext, now: datetime, tz: str, *, split: bool, hidden: tuple[str, ...] = ()) -> str:
    """``text``, then on a split order (``split``) the map under its heading: every shipment and every pending
    item (SPEC §5)."""
    if not split:
        return text
    return join_text([text, map_text(ctx, now, tz, hidden)], "\n\n")
