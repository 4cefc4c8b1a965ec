"""Binary codec for the pipeline state kept in Redis: :class:`~wismo.context.OrderContext` and
:class:`~wismo.case.CaseState`.

Wire format: a two-byte header (kind ``O`` order context / ``C`` case, then :data:`FORMAT_VERSION`) and an
orjson document in which every dataclass is a JSON array of its fields in declaration order (see
:data:`LAYOUTS`), dicts are JSON objects (insertion order kept), and

* ``datetime``: ISO 8601 text with its exact offset (UTC, any fixed offset to the microsecond, or none for
  a naive value); a ``zoneinfo`` datetime is ``[iso text, zone key]`` and comes back with the same
  ``ZoneInfo`` (fold recovered from the offset). Any other ``tzinfo`` comes back as the fixed
  ``datetime.timezone`` offset it had (a custom zone name is not kept);
* ``date``: ``YYYY-MM-DD``; ``Decimal``: its ``str``, so ``Decimal("120.00")`` keeps its exponent.

Guarantees: ``decode(encode(x)) == x`` for every value the field annotations allow (a NaN ``Decimal``
equals nothing, but comes back as NaN), with the same value types: ``datetime.UTC`` stays that singleton,
a ``ZoneInfo`` stays that zone, dict order is kept.
Decoding never executes code (JSON only, no pickle) and validates every field: another kind or version,
truncated or garbage bytes, a wrong type or a ``Literal`` outside its values all raise
:class:`StateDecodeError` naming the field path and the problem. Encoding a value that breaks its
annotation (a ``datetime`` in a ``date`` field, a string that is not valid UTF-8, an int beyond 64 bits)
raises :class:`StateEncodeError` rather than writing something that cannot be read back.

Decoders build the slotted dataclasses without calling ``__init__`` (keyword calls are ~3x slower than
slot stores); every slot is set. Import fails if a state dataclass gains, loses or reorders a field, or
gets a ``__post_init__``, until this module is updated: a new field is never silently dropped. Any layout
change must bump :data:`FORMAT_VERSION`: data of another version is refused, never guessed at, except the
previous versions ``_UPGRADES`` converts explicitly (format 2 -> 3: cases gained ``last_withheld``; 3 -> 4:
order contexts gained ``hold_released_at``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final, get_args
from zoneinfo import ZoneInfo

import orjson

from wismo.case import CaseState, Contact, DraftState, OpenEscalation, ReviewerDecision, SentUpdate
from wismo.conditions import ConditionType
from wismo.context import InventoryIssue, Item, OrderContext, PickIssue, Scan, Shipment, SupplierEta
from wismo.records import ActionType, ApprovalState
from wismo.timefmt import zone

__all__ = [
    "FORMAT_VERSION",
    "LAYOUTS",
    "StateDecodeError",
    "StateEncodeError",
    "decode_case",
    "decode_context",
    "encode_case",
    "encode_context",
]

FORMAT_VERSION: Final = 4
"""Layout version, the second header byte of every encoded value (1..255)."""

_KIND_CONTEXT: Final = ord("O")
_KIND_CASE: Final = ord("C")
_KIND_NAMES: Final = {_KIND_CONTEXT: "order context", _KIND_CASE: "case"}
_CONTEXT_HEADER: Final = bytes((_KIND_CONTEXT, FORMAT_VERSION))
_CASE_HEADER: Final = bytes((_KIND_CASE, FORMAT_VERSION))

_fromiso = datetime.fromisoformat
_date_fromiso = date.fromisoformat
_new = object.__new__
_CONDITIONS: Final = frozenset(get_args(ConditionType))
_ACTION_TYPES: Final = frozenset(get_args(ActionType))
_APPROVAL_STATES: Final = frozenset(get_args(ApprovalState))


class StateDecodeError(ValueError):
    """Stored state that cannot be read: another kind or version, corrupt or invalid data.

    ``path`` locates the bad value (``.shipments['S1'].scans[2].at``; empty for a header or JSON problem),
    ``reason`` says what is wrong with it."""

    def __init__(self, reason: str, path: str = "", *, subject: str = "") -> None:
        self.reason = reason
        self.path = path
        where = path.lstrip(".")
        message = f"{where}: {reason}" if where else reason
        super().__init__(f"{subject}: {message}" if subject else message)

    def within(self, prefix: str) -> StateDecodeError:
        """The same error seen one level further out (``prefix``: ``.field``, ``[3]`` or ``['key']``)."""
        return StateDecodeError(self.reason, prefix + self.path)


class StateEncodeError(ValueError):
    """A state value that breaks its field annotation, so it could not be read back exactly."""


def _show(v: object) -> str:
    text = repr(v)
    return f"{type(v).__name__} {text[:60] + '...' if len(text) > 60 else text}"


# ---- scalar encoders --------------------------------------------------------------------------------------


def _enc_dt(v: datetime) -> object:
    """UTC (the pipeline's normal case) is left to orjson, which writes it exactly (``+00:00``); anything
    else goes through ``isoformat``, which keeps offsets of any precision (orjson drops seconds)."""
    if type(v) is not datetime:
        raise StateEncodeError(f"expected a datetime, got {_show(v)}")
    tz = v.tzinfo
    if tz is UTC:
        return v
    if type(tz) is ZoneInfo and tz.key is not None:
        return [v.isoformat(), tz.key]
    return v.isoformat()


def _enc_odt(v: datetime | None) -> object:
    if v is None or (v.tzinfo is UTC and type(v) is datetime):
        return v
    return _enc_dt(v)


def _enc_date(v: date | None) -> object:
    if v is not None and type(v) is not date:  # a datetime is a date too, but would not read back as one
        raise StateEncodeError(f"expected a date, got {_show(v)}")
    return v


# ---- scalar decoders --------------------------------------------------------------------------------------
# The fast decoders below test plain fields inline and call these for conversions; on any failure the
# layout's checkers (the same functions, plus _str & co.) re-check the value to name the field and problem.


def _dt(v: Any) -> datetime:
    if type(v) is str:
        try:
            return _fromiso(v)
        except ValueError:
            raise StateDecodeError(f"not an ISO 8601 datetime: {v[:60]!r}") from None
    return _zoned(v)


def _odt(v: Any) -> datetime | None:
    if v is None:
        return None
    if type(v) is str:
        try:
            return _fromiso(v)
        except ValueError:
            raise StateDecodeError(f"not an ISO 8601 datetime: {v[:60]!r}") from None
    return _zoned(v)


def _zoned(v: Any) -> datetime:
    if not (type(v) is list and len(v) == 2 and type(v[0]) is str and type(v[1]) is str):
        raise StateDecodeError(f"expected an ISO 8601 datetime or [datetime, zone key], got {_show(v)}")
    fixed = _dt(v[0])
    offset = fixed.utcoffset()
    if offset is None:
        raise StateDecodeError(f"zoned datetime {v[0]!r} has no offset")
    try:
        tz = zone(v[1])
    except (ValueError, KeyError, OSError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise StateDecodeError(f"unknown time zone {v[1][:60]!r} ({type(exc).__name__})") from None
    local = fixed.replace(tzinfo=tz)
    if local.utcoffset() != offset:
        local = local.replace(fold=1)  # the later of two equal wall times, or after a DST gap
        if local.utcoffset() != offset:
            raise StateDecodeError(f"offset of {v[0]!r} does not occur in zone {v[1]!r} at that time")
    return local


def _date(v: Any) -> date:
    if type(v) is not str:
        raise StateDecodeError(f"expected an ISO 8601 date, got {_show(v)}")
    try:
        return _date_fromiso(v)
    except ValueError:
        raise StateDecodeError(f"not an ISO 8601 date: {v[:60]!r}") from None


def _odate(v: Any) -> date | None:
    return None if v is None else _date(v)


def _dec(v: Any) -> Decimal:
    if type(v) is not str:
        raise StateDecodeError(f"expected a decimal string, got {_show(v)}")
    try:
        return Decimal(v)
    except ArithmeticError:  # decimal.InvalidOperation
        raise StateDecodeError(f"not a decimal number: {v[:60]!r}") from None


def _strs(v: Any) -> list[str]:
    """A list of strings (the freshly parsed list itself: nothing else holds it)."""
    if type(v) is not list:
        raise StateDecodeError(f"expected a list of strings, got {_show(v)}")
    for i, s in enumerate(v):
        if type(s) is not str:
            raise StateDecodeError(f"expected a string, got {_show(s)}", f"[{i}]")
    return v


def _str_dict(v: Any) -> dict[str, str]:
    if type(v) is not dict:
        raise StateDecodeError(f"expected an object of strings, got {_show(v)}")
    for k, s in v.items():
        if type(s) is not str:
            raise StateDecodeError(f"expected a string, got {_show(s)}", f"[{k!r}]")
    return v


def _int_dict(v: Any) -> dict[str, int]:
    if type(v) is not dict:
        raise StateDecodeError(f"expected an object of integers, got {_show(v)}")
    for k, n in v.items():
        if type(n) is not int:
            raise StateDecodeError(f"expected an integer, got {_show(n)}", f"[{k!r}]")
    return v


# ---- checkers (slow path: explain a failure) --------------------------------------------------------------

Checker = Callable[[Any], object]
Layout = tuple[tuple[str, Checker], ...]
"""(field name, checker) for each field of a dataclass, in declaration (= wire) order."""


def _is(kind: type, name: str) -> Checker:
    def check(v: Any) -> object:
        if type(v) is not kind:
            raise StateDecodeError(f"expected {name}, got {_show(v)}")
        return v

    return check


def _opt(check: Checker) -> Checker:
    return lambda v: None if v is None else check(v)


def _one_of(name: str, values: frozenset[str]) -> Checker:
    def check(v: Any) -> object:
        if type(v) is not str or v not in values:
            raise StateDecodeError(f"expected {name} ({', '.join(sorted(values))}), got {_show(v)}")
        return v

    return check


def _list_of(dec: Callable[[Any], object]) -> Checker:
    def check(v: Any) -> object:
        if type(v) is not list:
            raise StateDecodeError(f"expected a list, got {_show(v)}")
        for i, x in enumerate(v):
            try:
                dec(x)
            except Exception as exc:
                raise _wrap(exc).within(f"[{i}]") from None
        return v

    return check


def _dict_of(dec: Callable[[Any], object]) -> Checker:
    def check(v: Any) -> object:
        if type(v) is not dict:
            raise StateDecodeError(f"expected an object, got {_show(v)}")
        for k, x in v.items():
            try:
                dec(x)
            except Exception as exc:
                raise _wrap(exc).within(f"[{k!r}]") from None
        return v

    return check


_str = _is(str, "a string")
_ostr = _opt(_str)
_int = _is(int, "an integer")
_bool = _is(bool, "true or false")


def _wrap(exc: Exception) -> StateDecodeError:
    if isinstance(exc, StateDecodeError):
        return exc
    return StateDecodeError(f"{type(exc).__name__}: {exc}")


def _explain(name: str, layout: Layout, a: Any, exc: Exception) -> StateDecodeError:
    """After a fast decoder failed: the first bad field of ``a`` and what is wrong with it."""
    if type(a) is not list:
        return StateDecodeError(f"expected {name} as a list of {len(layout)} fields, got {_show(a)}")
    if len(a) != len(layout):
        return StateDecodeError(f"expected {name} as a list of {len(layout)} fields, got {len(a)}")
    for (field_name, check), v in zip(layout, a, strict=True):
        try:
            check(v)
        except Exception as inner:
            return _wrap(inner).within(f".{field_name}")
    return _wrap(exc)  # not reached while the layouts match the decoders


# ---- order context ----------------------------------------------------------------------------------------
# Per class: an encoder (fields in declaration order), a fast decoder (one combined test of the plain
# fields, helpers for the rest, slot stores) and its layout.


def _e_item(x: Item) -> list[object]:
    return [x.sku, x.title, x.qty, str(x.unit_price)]


def _d_item(a: Any) -> Item:
    try:
        if type(a) is not list:
            raise TypeError
        sku, title, qty, price = a
        if type(sku) is not str or type(title) is not str or type(qty) is not int:
            raise TypeError
        o = _new(Item)
        o.sku = sku
        o.title = title
        o.qty = qty
        o.unit_price = _dec(price)
        return o
    except Exception as exc:
        raise _explain("Item", _ITEM, a, exc) from None


_ITEM: Layout = (("sku", _str), ("title", _str), ("qty", _int), ("unit_price", _dec))


def _e_scan(x: Scan) -> list[object]:
    return [x.event_id, _enc_dt(x.at), x.status, x.detail, x.location, _enc_date(x.est_delivery)]


def _d_scan(a: Any) -> Scan:
    try:
        if type(a) is not list:
            raise TypeError
        event_id, at, status, detail, location, est = a
        if (
            type(event_id) is not str
            or type(status) is not str
            or (detail is not None and type(detail) is not str)
            or (location is not None and type(location) is not str)
        ):
            raise TypeError
        o = _new(Scan)
        o.event_id = event_id
        o.at = _dt(at)
        o.status = status
        o.detail = detail
        o.location = location
        o.est_delivery = None if est is None else _date(est)
        return o
    except Exception as exc:
        raise _explain("Scan", _SCAN, a, exc) from None


_SCAN: Layout = (
    ("event_id", _str),
    ("at", _dt),
    ("status", _str),
    ("detail", _ostr),
    ("location", _ostr),
    ("est_delivery", _odate),
)


def _e_pick_issue(x: PickIssue | None) -> object:
    return None if x is None else [x.reason, x.skus, _enc_dt(x.at)]


def _d_pick_issue(a: Any) -> PickIssue:
    try:
        if type(a) is not list:
            raise TypeError
        reason, skus, at = a
        if type(reason) is not str:
            raise TypeError
        o = _new(PickIssue)
        o.reason = reason
        o.skus = _strs(skus)
        o.at = _dt(at)
        return o
    except Exception as exc:
        raise _explain("PickIssue", _PICK_ISSUE, a, exc) from None


_PICK_ISSUE: Layout = (("reason", _str), ("skus", _strs), ("at", _dt))


def _e_shipment(x: Shipment) -> list[object]:
    return [
        x.shipment_id,
        x.items,
        _enc_odt(x.created_at),
        _enc_odt(x.picked_at),
        _e_pick_issue(x.pick_issue),
        x.carrier,
        x.tracking_number,
        x.tracking_url,
        _enc_odt(x.label_at),
        [_e_scan(s) for s in x.scans],
        _enc_odt(x.first_physical_scan_at),
        _enc_odt(x.last_physical_scan_at),
        x.status,
        x.detail,
        _enc_odt(x.status_at),
        _enc_date(x.est_delivery),
        _enc_odt(x.delivered_at),
        x.delivered_location,
        x.failed_attempts,
    ]


def _d_shipment(a: Any) -> Shipment:
    try:
        if type(a) is not list:
            raise TypeError
        (
            shipment_id,
            items,
            created_at,
            picked_at,
            pick_issue,
            carrier,
            tracking_number,
            tracking_url,
            label_at,
            scans,
            first_physical_scan_at,
            last_physical_scan_at,
            status,
            detail,
            status_at,
            est_delivery,
            delivered_at,
            delivered_location,
            failed_attempts,
        ) = a
        if (
            type(shipment_id) is not str
            or (carrier is not None and type(carrier) is not str)
            or (tracking_number is not None and type(tracking_number) is not str)
            or (tracking_url is not None and type(tracking_url) is not str)
            or (status is not None and type(status) is not str)
            or (detail is not None and type(detail) is not str)
            or (delivered_location is not None and type(delivered_location) is not str)
            or type(failed_attempts) is not int
            or type(scans) is not list
        ):
            raise TypeError
        o = _new(Shipment)
        o.shipment_id = shipment_id
        o.items = _int_dict(items)
        o.created_at = _odt(created_at)
        o.picked_at = _odt(picked_at)
        o.pick_issue = None if pick_issue is None else _d_pick_issue(pick_issue)
        o.carrier = carrier
        o.tracking_number = tracking_number
        o.tracking_url = tracking_url
        o.label_at = _odt(label_at)
        o.scans = [_d_scan(s) for s in scans]
        o.first_physical_scan_at = _odt(first_physical_scan_at)
        o.last_physical_scan_at = _odt(last_physical_scan_at)
        o.status = status
        o.detail = detail
        o.status_at = _odt(status_at)
        o.est_delivery = None if est_delivery is None else _date(est_delivery)
        o.delivered_at = _odt(delivered_at)
        o.delivered_location = delivered_location
        o.failed_attempts = failed_attempts
        return o
    except Exception as exc:
        raise _explain("Shipment", _SHIPMENT, a, exc) from None


_SHIPMENT: Layout = (
    ("shipment_id", _str),
    ("items", _int_dict),
    ("created_at", _odt),
    ("picked_at", _odt),
    ("pick_issue", _opt(_d_pick_issue)),
    ("carrier", _ostr),
    ("tracking_number", _ostr),
    ("tracking_url", _ostr),
    ("label_at", _odt),
    ("scans", _list_of(_d_scan)),
    ("first_physical_scan_at", _odt),
    ("last_physical_scan_at", _odt),
    ("status", _ostr),
    ("detail", _ostr),
    ("status_at", _odt),
    ("est_delivery", _odate),
    ("delivered_at", _odt),
    ("delivered_location", _ostr),
    ("failed_attempts", _int),
)


def _e_supplier_eta(x: SupplierEta) -> list[object]:
    return [
        x.sku,
        _enc_date(x.eta),
        _enc_date(x.previous_eta),
        x.was_unknown,
        _enc_dt(x.changed_at),
        x.po_id,
        x.updates,
    ]


def _d_supplier_eta(a: Any) -> SupplierEta:
    try:
        if type(a) is not list:
            raise TypeError
        sku, eta, previous_eta, was_unknown, changed_at, po_id, updates = a
        if (
            type(sku) is not str
            or type(was_unknown) is not bool
            or (po_id is not None and type(po_id) is not str)
            or type(updates) is not int
        ):
            raise TypeError
        o = _new(SupplierEta)
        o.sku = sku
        o.eta = None if eta is None else _date(eta)
        o.previous_eta = None if previous_eta is None else _date(previous_eta)
        o.was_unknown = was_unknown
        o.changed_at = _dt(changed_at)
        o.po_id = po_id
        o.updates = updates
        return o
    except Exception as exc:
        raise _explain("SupplierEta", _SUPPLIER_ETA, a, exc) from None


_SUPPLIER_ETA: Layout = (
    ("sku", _str),
    ("eta", _odate),
    ("previous_eta", _odate),
    ("was_unknown", _bool),
    ("changed_at", _dt),
    ("po_id", _ostr),
    ("updates", _int),
)


def _e_inventory_issue(x: InventoryIssue) -> list[object]:
    return [x.sku, x.reason, _enc_dt(x.at)]


def _d_inventory_issue(a: Any) -> InventoryIssue:
    try:
        if type(a) is not list:
            raise TypeError
        sku, reason, at = a
        if type(sku) is not str or type(reason) is not str:
            raise TypeError
        o = _new(InventoryIssue)
        o.sku = sku
        o.reason = reason
        o.at = _dt(at)
        return o
    except Exception as exc:
        raise _explain("InventoryIssue", _INVENTORY_ISSUE, a, exc) from None


_INVENTORY_ISSUE: Layout = (("sku", _str), ("reason", _str), ("at", _dt))


def _e_context(x: OrderContext) -> list[object]:
    return [
        x.order_id,
        x.known,
        x.order_number,
        x.customer_id,
        x.customer_email,
        x.customer_name,
        [_e_item(i) for i in x.items],
        str(x.order_value),
        x.currency,
        _enc_odt(x.placed_at),
        _enc_odt(x.ship_by),
        _enc_odt(x.cancelled_at),
        x.cancel_reason,
        {k: _enc_dt(v) for k, v in x.holds.items()},
        {k: _e_shipment(v) for k, v in x.shipments.items()},
        {k: _e_supplier_eta(v) for k, v in x.supplier_etas.items()},
        {k: _e_inventory_issue(v) for k, v in x.inventory_issues.items()},
        x.tickets,
        _enc_odt(x.last_human_public_update_at),
        _enc_odt(x.last_backend_change_at),
        _enc_odt(x.last_event_at),
        x.sources_seen,
        {k: _enc_dt(v) for k, v in x.hold_released_at.items()},
    ]


def _d_context(a: Any) -> OrderContext:
    try:
        if type(a) is not list:
            raise TypeError
        (
            order_id,
            known,
            order_number,
            customer_id,
            customer_email,
            customer_name,
            items,
            order_value,
            currency,
            placed_at,
            ship_by,
            cancelled_at,
            cancel_reason,
            holds,
            shipments,
            supplier_etas,
            inventory_issues,
            tickets,
            last_human_public_update_at,
            last_backend_change_at,
            last_event_at,
            sources_seen,
            hold_released_at,
        ) = a
        if (
            type(order_id) is not str
            or type(known) is not bool
            or (order_number is not None and type(order_number) is not str)
            or (customer_id is not None and type(customer_id) is not str)
            or (customer_email is not None and type(customer_email) is not str)
            or (customer_name is not None and type(customer_name) is not str)
            or type(currency) is not str
            or (cancel_reason is not None and type(cancel_reason) is not str)
            or type(items) is not list
            or type(holds) is not dict
            or type(shipments) is not dict
            or type(supplier_etas) is not dict
            or type(inventory_issues) is not dict
            or type(hold_released_at) is not dict
        ):
            raise TypeError
        o = _new(OrderContext)
        o.order_id = order_id
        o.known = known
        o.order_number = order_number
        o.customer_id = customer_id
        o.customer_email = customer_email
        o.customer_name = customer_name
        o.items = [_d_item(i) for i in items]
        o.order_value = _dec(order_value)
        o.currency = currency
        o.placed_at = _odt(placed_at)
        o.ship_by = _odt(ship_by)
        o.cancelled_at = _odt(cancelled_at)
        o.cancel_reason = cancel_reason
        o.holds = {k: _dt(v) for k, v in holds.items()}
        o.shipments = {k: _d_shipment(v) for k, v in shipments.items()}
        o.supplier_etas = {k: _d_supplier_eta(v) for k, v in supplier_etas.items()}
        o.inventory_issues = {k: _d_inventory_issue(v) for k, v in inventory_issues.items()}
        o.tickets = _str_dict(tickets)
        o.last_human_public_update_at = _odt(last_human_public_update_at)
        o.last_backend_change_at = _odt(last_backend_change_at)
        o.last_event_at = _odt(last_event_at)
        o.sources_seen = _strs(sources_seen)
        o.hold_released_at = {k: _dt(v) for k, v in hold_released_at.items()}
        return o
    except Exception as exc:
        raise _explain("OrderContext", _CONTEXT, a, exc) from None


_CONTEXT: Layout = (
    ("order_id", _str),
    ("known", _bool),
    ("order_number", _ostr),
    ("customer_id", _ostr),
    ("customer_email", _ostr),
    ("customer_name", _ostr),
    ("items", _list_of(_d_item)),
    ("order_value", _dec),
    ("currency", _str),
    ("placed_at", _odt),
    ("ship_by", _odt),
    ("cancelled_at", _odt),
    ("cancel_reason", _ostr),
    ("holds", _dict_of(_dt)),
    ("shipments", _dict_of(_d_shipment)),
    ("supplier_etas", _dict_of(_d_supplier_eta)),
    ("inventory_issues", _dict_of(_d_inventory_issue)),
    ("tickets", _str_dict),
    ("last_human_public_update_at", _odt),
    ("last_backend_change_at", _odt),
    ("last_event_at", _odt),
    ("sources_seen", _strs),
    ("hold_released_at", _dict_of(_dt)),
)


# ---- case -------------------------------------------------------------------------------------------------


def _e_contact(x: Contact) -> list[object]:
    return [x.event_id, x.ticket_id, x.channel, _enc_dt(x.at), x.intents]


def _d_contact(a: Any) -> Contact:
    try:
        if type(a) is not list:
            raise TypeError
        event_id, ticket_id, channel, at, intents = a
        if type(event_id) is not str or type(ticket_id) is not str or type(channel) is not str:
            raise TypeError
        o = _new(Contact)
        o.event_id = event_id
        o.ticket_id = ticket_id
        o.channel = channel
        o.at = _dt(at)
        o.intents = _strs(intents)
        return o
    except Exception as exc:
        raise _explain("Contact", _CONTACT, a, exc) from None


_CONTACT: Layout = (("event_id", _str), ("ticket_id", _str), ("channel", _str), ("at", _dt), ("intents", _strs))


def _e_sent(x: SentUpdate) -> list[object]:
    return [x.action_id, x.kind, _enc_dt(x.at), x.condition_type, x.status_key]


def _d_sent(a: Any) -> SentUpdate:
    try:
        if type(a) is not list:
            raise TypeError
        action_id, kind, at, condition_type, status_key = a
        if (
            type(action_id) is not str
            or type(kind) is not str
            or type(condition_type) is not str
            or type(status_key) is not str
        ):
            raise TypeError
        o = _new(SentUpdate)
        o.action_id = action_id
        o.kind = kind
        o.at = _dt(at)
        o.condition_type = condition_type
        o.status_key = status_key
        return o
    except Exception as exc:
        raise _explain("SentUpdate", _SENT, a, exc) from None


_SENT: Layout = (("action_id", _str), ("kind", _str), ("at", _dt), ("condition_type", _str), ("status_key", _str))


def _e_escalation(x: OpenEscalation) -> list[object]:
    return [x.escalation_id, x.condition_type, x.reasons, x.team, _enc_dt(x.at), x.action_draft_ids, x.state]


def _d_escalation(a: Any) -> OpenEscalation:
    try:
        if type(a) is not list:
            raise TypeError
        escalation_id, condition_type, reasons, team, at, action_draft_ids, state = a
        if (
            type(escalation_id) is not str
            or type(condition_type) is not str
            or type(team) is not str
            or type(state) is not str
        ):
            raise TypeError
        o = _new(OpenEscalation)
        o.escalation_id = escalation_id
        o.condition_type = condition_type
        o.reasons = _strs(reasons)
        o.team = team
        o.at = _dt(at)
        o.action_draft_ids = _strs(action_draft_ids)
        o.state = state
        return o
    except Exception as exc:
        raise _explain("OpenEscalation", _ESCALATION, a, exc) from None


_ESCALATION: Layout = (
    ("escalation_id", _str),
    ("condition_type", _str),
    ("reasons", _strs),
    ("team", _str),
    ("at", _dt),
    ("action_draft_ids", _strs),
    ("state", _str),
)


def _e_draft(x: DraftState) -> list[object]:
    return [x.action_id, x.action_type, x.approval_state, x.escalation_id]


def _d_draft(a: Any) -> DraftState:
    try:
        if type(a) is not list:
            raise TypeError
        action_id, action_type, approval_state, escalation_id = a
        if (
            type(action_id) is not str
            or action_type not in _ACTION_TYPES  # (an unhashable value raises TypeError: also a failure)
            or approval_state not in _APPROVAL_STATES
            or (escalation_id is not None and type(escalation_id) is not str)
        ):
            raise TypeError
        o = _new(DraftState)
        o.action_id = action_id
        o.action_type = action_type
        o.approval_state = approval_state
        o.escalation_id = escalation_id
        return o
    except Exception as exc:
        raise _explain("DraftState", _DRAFT, a, exc) from None


_DRAFT: Layout = (
    ("action_id", _str),
    ("action_type", _one_of("an ActionType", _ACTION_TYPES)),
    ("approval_state", _one_of("an ApprovalState", _APPROVAL_STATES)),
    ("escalation_id", _ostr),
)


def _e_review(x: ReviewerDecision) -> list[object]:
    return [x.event_id, x.escalation_id, x.decision, x.reviewer, _enc_dt(x.at)]


def _d_review(a: Any) -> ReviewerDecision:
    try:
        if type(a) is not list:
            raise TypeError
        event_id, escalation_id, decision, reviewer, at = a
        if (
            type(event_id) is not str
            or type(escalation_id) is not str
            or type(decision) is not str
            or type(reviewer) is not str
        ):
            raise TypeError
        o = _new(ReviewerDecision)
        o.event_id = event_id
        o.escalation_id = escalation_id
        o.decision = decision
        o.reviewer = reviewer
        o.at = _dt(at)
        return o
    except Exception as exc:
        raise _explain("ReviewerDecision", _REVIEW, a, exc) from None


_REVIEW: Layout = (("event_id", _str), ("escalation_id", _str), ("decision", _str), ("reviewer", _str), ("at", _dt))


def _e_case(x: CaseState) -> list[object]:
    return [
        x.wismo_case_id,
        x.order_id,
        x.seq,
        x.status,
        _enc_dt(x.opened_at),
        _enc_odt(x.closed_at),
        x.shipment_ids,
        x.condition_type,
        x.last_backend_status_seen,
        _enc_odt(x.last_customer_update_at),
        _enc_odt(x.last_proactive_at),
        x.last_status_sent,
        _enc_odt(x.next_follow_up_due_at),
        x.follow_up_reason,
        x.checkpoint_promised,
        x.checkpoints_without_change,
        x.prior_contact_count,
        x.restricted_state,
        [_e_contact(c) for c in x.contacts],
        x.open_ticket_id,
        x.open_ticket_channel,
        _enc_odt(x.dnr_claimed_at),
        x.escalation_keys,
        {k: _e_escalation(v) for k, v in x.escalations.items()},
        {k: _e_draft(v) for k, v in x.drafts.items()},
        x.approved_actions,
        x.manual_takeover,
        [_e_review(r) for r in x.reviewer_decisions],
        [_e_sent(s) for s in x.sent],
        _enc_odt(x.last_evaluated_at),
        x.pending_status_key,
        _enc_odt(x.exception_at),
        x.exception_answered,
        x.last_withheld,
    ]


def _d_case(a: Any) -> CaseState:
    try:
        if type(a) is not list:
            raise TypeError
        (
            wismo_case_id,
            order_id,
            seq,
            status,
            opened_at,
            closed_at,
            shipment_ids,
            condition_type,
            last_backend_status_seen,
            last_customer_update_at,
            last_proactive_at,
            last_status_sent,
            next_follow_up_due_at,
            follow_up_reason,
            checkpoint_promised,
            checkpoints_without_change,
            prior_contact_count,
            restricted_state,
            contacts,
            open_ticket_id,
            open_ticket_channel,
            dnr_claimed_at,
            escalation_keys,
            escalations,
            drafts,
            approved_actions,
            manual_takeover,
            reviewer_decisions,
            sent,
            last_evaluated_at,
            pending_status_key,
            exception_at,
            exception_answered,
            last_withheld,
        ) = a
        if (
            type(wismo_case_id) is not str
            or (order_id is not None and type(order_id) is not str)
            or type(seq) is not int
            or type(status) is not str
            or (condition_type is not None and condition_type not in _CONDITIONS)
            or (last_backend_status_seen is not None and type(last_backend_status_seen) is not str)
            or (last_status_sent is not None and type(last_status_sent) is not str)
            or (follow_up_reason is not None and type(follow_up_reason) is not str)
            or type(checkpoint_promised) is not bool
            or type(checkpoints_without_change) is not int
            or type(prior_contact_count) is not int
            or (restricted_state is not None and type(restricted_state) is not str)
            or (open_ticket_id is not None and type(open_ticket_id) is not str)
            or (open_ticket_channel is not None and type(open_ticket_channel) is not str)
            or type(manual_takeover) is not bool
            or (pending_status_key is not None and type(pending_status_key) is not str)
            or type(exception_answered) is not bool
            or (last_withheld is not None and type(last_withheld) is not str)
            or type(contacts) is not list
            or type(escalations) is not dict
            or type(drafts) is not dict
            or type(reviewer_decisions) is not list
            or type(sent) is not list
        ):
            raise TypeError
        o = _new(CaseState)
        o.wismo_case_id = wismo_case_id
        o.order_id = order_id
        o.seq = seq
        o.status = status
        o.opened_at = _dt(opened_at)
        o.closed_at = _odt(closed_at)
        o.shipment_ids = _strs(shipment_ids)
        o.condition_type = condition_type
        o.last_backend_status_seen = last_backend_status_seen
        o.last_customer_update_at = _odt(last_customer_update_at)
        o.last_proactive_at = _odt(last_proactive_at)
        o.last_status_sent = last_status_sent
        o.next_follow_up_due_at = _odt(next_follow_up_due_at)
        o.follow_up_reason = follow_up_reason
        o.checkpoint_promised = checkpoint_promised
        o.checkpoints_without_change = checkpoints_without_change
        o.prior_contact_count = prior_contact_count
        o.restricted_state = restricted_state
        o.contacts = [_d_contact(c) for c in contacts]
        o.open_ticket_id = open_ticket_id
        o.open_ticket_channel = open_ticket_channel
        o.dnr_claimed_at = _odt(dnr_claimed_at)
        o.escalation_keys = _strs(escalation_keys)
        o.escalations = {k: _d_escalation(v) for k, v in escalations.items()}
        o.drafts = {k: _d_draft(v) for k, v in drafts.items()}
        o.approved_actions = _strs(approved_actions)
        o.manual_takeover = manual_takeover
        o.reviewer_decisions = [_d_review(r) for r in reviewer_decisions]
        o.sent = [_d_sent(s) for s in sent]
        o.last_evaluated_at = _odt(last_evaluated_at)
        o.pending_status_key = pending_status_key
        o.exception_at = _odt(exception_at)
        o.exception_answered = exception_answered
        o.last_withheld = last_withheld
        return o
    except Exception as exc:
        raise _explain("CaseState", _CASE, a, exc) from None


_CASE: Layout = (
    ("wismo_case_id", _str),
    ("order_id", _ostr),
    ("seq", _int),
    ("status", _str),
    ("opened_at", _dt),
    ("closed_at", _odt),
    ("shipment_ids", _strs),
    ("condition_type", _opt(_one_of("a ConditionType", _CONDITIONS))),
    ("last_backend_status_seen", _ostr),
    ("last_customer_update_at", _odt),
    ("last_proactive_at", _odt),
    ("last_status_sent", _ostr),
    ("next_follow_up_due_at", _odt),
    ("follow_up_reason", _ostr),
    ("checkpoint_promised", _bool),
    ("checkpoints_without_change", _int),
    ("prior_contact_count", _int),
    ("restricted_state", _ostr),
    ("contacts", _list_of(_d_contact)),
    ("open_ticket_id", _ostr),
    ("open_ticket_channel", _ostr),
    ("dnr_claimed_at", _odt),
    ("escalation_keys", _strs),
    ("escalations", _dict_of(_d_escalation)),
    ("drafts", _dict_of(_d_draft)),
    ("approved_actions", _strs),
    ("manual_takeover", _bool),
    ("reviewer_decisions", _list_of(_d_review)),
    ("sent", _list_of(_d_sent)),
    ("last_evaluated_at", _odt),
    ("pending_status_key", _ostr),
    ("exception_at", _odt),
    ("exception_answered", _bool),
    ("last_withheld", _ostr),
)

LAYOUTS: Final[Mapping[type, Layout]] = {
    OrderContext: _CONTEXT,
    Item: _ITEM,
    Scan: _SCAN,
    PickIssue: _PICK_ISSUE,
    Shipment: _SHIPMENT,
    SupplierEta: _SUPPLIER_ETA,
    InventoryIssue: _INVENTORY_ISSUE,
    CaseState: _CASE,
    Contact: _CONTACT,
    SentUpdate: _SENT,
    OpenEscalation: _ESCALATION,
    DraftState: _DRAFT,
    ReviewerDecision: _REVIEW,
}
"""Every state dataclass and its wire layout: (field name, checker) per field, in array order."""


def _check_layouts() -> None:
    """Refuse to run with a layout that no longer matches its dataclass (a field would be lost)."""
    for cls, layout in LAYOUTS.items():
        declared = [f.name for f in fields(cls)]
        wire = [name for name, _ in layout]
        if declared != wire or set(getattr(cls, "__slots__", ())) != set(declared):
            raise RuntimeError(
                f"wismo.state_codec: the wire layout of {cls.__name__} is {wire}, but the dataclass has "
                f"{declared}; update the encoder, decoder and layout and bump FORMAT_VERSION"
            )
        if hasattr(cls, "__post_init__"):
            raise RuntimeError(f"wismo.state_codec: {cls.__name__}.__post_init__ would be skipped by the decoder")


_check_layouts()


# ---- public API -------------------------------------------------------------------------------------------


def encode_context(ctx: OrderContext) -> bytes:
    """Serialise an order context, exactly (see the module docstring). Raises :class:`StateEncodeError`
    for a value that breaks its field annotation; never anything else."""
    try:
        return _CONTEXT_HEADER + orjson.dumps(_e_context(ctx))
    except (StateEncodeError, AttributeError, TypeError) as exc:  # orjson.JSONEncodeError is a TypeError
        raise StateEncodeError(f"cannot encode order context {getattr(ctx, 'order_id', None)!r}: {exc}") from None


def encode_case(case: CaseState) -> bytes:
    """Serialise a case, exactly (see the module docstring). Raises :class:`StateEncodeError` for a value
    that breaks its field annotation; never anything else."""
    try:
        return _CASE_HEADER + orjson.dumps(_e_case(case))
    except (StateEncodeError, AttributeError, TypeError) as exc:  # orjson.JSONEncodeError is a TypeError
        raise StateEncodeError(f"cannot encode case {getattr(case, 'wismo_case_id', None)!r}: {exc}") from None


def _load(data: bytes, kind: int) -> Any:
    what = _KIND_NAMES[kind]
    if not isinstance(data, bytes | bytearray | memoryview):
        raise StateDecodeError(f"{what} state must be bytes, got {type(data).__name__}")
    if len(data) < 3:
        raise StateDecodeError(f"{what} state is truncated: {len(data)} bytes")
    got_kind, version = data[0], data[1]
    if got_kind != kind:
        other = _KIND_NAMES.get(got_kind)
        if other is not None:
            raise StateDecodeError(f"expected {what} state, got {other} state")
        raise StateDecodeError(f"not wismo {what} state: unknown header {bytes(data[:2])!r}")
    upgrade = _UPGRADES.get((kind, version)) if version != FORMAT_VERSION else None
    if version != FORMAT_VERSION and upgrade is None:
        raise StateDecodeError(f"{what} state has format version {version}; this build reads only {FORMAT_VERSION}")
    try:
        obj = orjson.loads(memoryview(data)[2:])
    except orjson.JSONDecodeError as exc:
        raise StateDecodeError(f"corrupt {what} state (version {version}): not valid JSON ({exc})") from None
    return upgrade(obj) if upgrade is not None else obj


def _case_from_v2(a: Any) -> Any:
    """Format 2 cases lack ``last_withheld`` (the last field): it was never set, so it is None."""
    return [*a, None] if type(a) is list else a


def _context_from_v3(a: Any) -> Any:
    """Format 2 and 3 order contexts lack ``hold_released_at`` (the last field): no release was remembered."""
    return [*a, {}] if type(a) is list else a


_UPGRADES: Final[Mapping[tuple[int, int], Callable[[Any], Any]]] = {
    (_KIND_CONTEXT, 2): _context_from_v3,  # the order context layout did not change from format 2 to 3
    (_KIND_CASE, 2): _case_from_v2,
    (_KIND_CONTEXT, 3): _context_from_v3,
    (_KIND_CASE, 3): lambda a: a,  # the case layout is unchanged since format 3
}
"""(kind, older format version) -> how its decoded JSON becomes this version's layout, so state written by
the previous release is read after an upgrade (and rewritten in this format on the next write)."""


def decode_context(data: bytes) -> OrderContext:
    """Read back what :func:`encode_context` wrote. Never executes code. Raises :class:`StateDecodeError`
    (naming the field and the problem) for another kind or version of state and for corrupt or invalid data;
    never anything else."""
    obj = _load(data, _KIND_CONTEXT)
    try:
        return _d_context(obj)
    except StateDecodeError as exc:
        raise StateDecodeError(exc.reason, exc.path, subject="invalid order context state") from None


def decode_case(data: bytes) -> CaseState:
    """Read back what :func:`encode_case` wrote. Never executes code. Raises :class:`StateDecodeError`
    (naming the field and the problem) for another kind or version of state and for corrupt or invalid data;
    never anything else."""
    obj = _load(data, _KIND_CASE)
    try:
        return _d_case(obj)
    except StateDecodeError as exc:
        raise StateDecodeError(exc.reason, exc.path, subject="invalid case state") from None
