"""The Redis state codec (:mod:`wismo.state_codec`): exact round trips of every order context and case the
pipeline produces (the example day, every scenario, generated histories, generated field values), a
pipeline whose state goes through the codec after every event behaving exactly like an in-memory one,
and clear :class:`StateDecodeError` failures for other versions, truncated, garbage and invalid data."""

from __future__ import annotations

import contextlib
import json
import sys
import types
import typing
from dataclasses import fields, is_dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints
from zoneinfo import ZoneInfo

import orjson
import pytest
from builders import T0, at, ev, make_policy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wismo.case import CaseState, DraftState
from wismo.context import OrderContext, Scan, Shipment, SupplierEta
from wismo.pipeline import Pipeline
from wismo.policy import Policy, load_policy
from wismo.replay import read_lines
from wismo.state_codec import (
    FORMAT_VERSION,
    LAYOUTS,
    StateDecodeError,
    StateEncodeError,
    decode_case,
    decode_context,
    encode_case,
    encode_context,
)

sys.path.insert(0, str(Path(__file__).parent / "property"))
from test_customer_text_properties import histories  # the order histories of the property tests

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_DAY = ROOT / "examples" / "day.ndjson"
SCENARIOS = sorted((ROOT / "scenarios").glob("*.ndjson"))


# ---- exactness --------------------------------------------------------------------------------------------


def strict(v: object) -> object:
    """A fingerprint that also tells apart what ``==`` does not: value types, Decimal exponents, time
    zones (``UTC`` vs an equal ``ZoneInfo("UTC")`` vs a fixed offset) and offsets, dict order."""
    if is_dataclass(v) and not isinstance(v, type):
        return (type(v).__name__, tuple((f.name, strict(getattr(v, f.name))) for f in fields(v)))
    if isinstance(v, dict):
        return ("dict", tuple((strict(k), strict(x)) for k, x in v.items()))
    if isinstance(v, list):
        return ("list", tuple(strict(x) for x in v))
    if isinstance(v, datetime):
        return ("datetime", v.replace(tzinfo=None).isoformat(), type(v.tzinfo).__name__, repr(v.tzinfo), v.utcoffset())
    return (type(v).__name__, repr(v))


def assert_round_trip(ctx: OrderContext | None = None, case: CaseState | None = None) -> None:
    if ctx is not None:
        back = decode_context(encode_context(ctx))
        assert back == ctx
        assert strict(back) == strict(ctx)
    if case is not None:
        back_case = decode_case(encode_case(case))
        assert back_case == case
        assert strict(back_case) == strict(case)


def assert_state_round_trips(pipeline: Pipeline) -> None:
    for ctx in pipeline.state.contexts.values():
        assert_round_trip(ctx=ctx)
    for case in pipeline.state.cases.values():
        assert_round_trip(case=case)


def replay(path: Path, policy: Policy | None = None) -> Pipeline:
    pipeline = Pipeline(policy or load_policy())
    for item in read_lines([path]):
        pipeline.process_line(item.raw, source_name=item.source_name, line=item.line)
    return pipeline


@pytest.fixture(scope="module")
def day() -> Pipeline:
    return replay(EXAMPLE_DAY)


def test_every_context_and_case_of_the_example_day_round_trips(day: Pipeline) -> None:
    st_ = day.state
    assert len(st_.contexts) > 30 and len(st_.cases) > 30
    # the day reaches all 15 conditions; the state it leaves holds the awkward values too
    assert any(c.order_id is None for c in st_.cases.values()), "an unidentified ticket's case"
    assert any(c.drafts and c.reviewer_decisions for c in st_.cases.values()), "a reviewed draft"
    assert any(s.est_delivery for c in st_.contexts.values() for s in c.shipments.values())
    assert any(c.supplier_etas for c in st_.contexts.values())
    assert_state_round_trips(day)


def test_state_round_trips_after_every_single_event_of_the_day() -> None:
    pipeline = Pipeline(load_policy())
    for item in read_lines([EXAMPLE_DAY]):
        pipeline.process_line(item.raw)
        assert_state_round_trips(pipeline)


@pytest.mark.parametrize("mode", ["testing", "live"])
def test_a_pipeline_whose_state_goes_through_the_codec_after_every_event_writes_the_same_records(mode: str) -> None:
    """What the streaming runtime does with Redis: load, process, store, for every event."""
    policy = make_policy(mode)
    memory, stored = Pipeline(policy), Pipeline(policy)
    for item in read_lines([EXAMPLE_DAY]):
        want = [(t, r.model_dump(mode="json")) for t, r in memory.process_line(item.raw)]
        got = [(t, r.model_dump(mode="json")) for t, r in stored.process_line(item.raw)]
        assert got == want, f"line {item.line}"
        st_ = stored.state
        st_.contexts = {k: decode_context(encode_context(v)) for k, v in st_.contexts.items()}
        st_.cases = {k: decode_case(encode_case(v)) for k, v in st_.cases.items()}
    assert strict(list(stored.state.contexts.values())) == strict(list(memory.state.contexts.values()))
    assert strict(list(stored.state.cases.values())) == strict(list(memory.state.cases.values()))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_scenario_state_round_trips(path: Path) -> None:
    assert_state_round_trips(replay(path))


def test_the_example_day_in_another_time_zone_round_trips() -> None:
    """With a New York policy zone, follow-ups land at local midnight: -05:00, kept as America/New_York."""
    pipeline = replay(EXAMPLE_DAY, make_policy(None, communications={"timezone": "America/New_York"}))
    zoned = [
        c.next_follow_up_due_at
        for c in pipeline.state.cases.values()
        if c.next_follow_up_due_at is not None and isinstance(c.next_follow_up_due_at.tzinfo, ZoneInfo)
    ]
    assert zoned and all(d.utcoffset() == timedelta(hours=-5) for d in zoned)
    assert_state_round_trips(pipeline)
    back = decode_case(encode_case(next(c for c in pipeline.state.cases.values() if c.next_follow_up_due_at in zoned)))
    assert back.next_follow_up_due_at is not None
    assert back.next_follow_up_due_at.tzinfo is ZoneInfo("America/New_York")


# ---- generated histories ------------------------------------------------------------------------------------

ZONES = ["UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]


@st.composite
def extra_events(draw: Any) -> list[dict[str, Any]]:
    """What ``histories()`` leaves out: cancellations, teammates' replies, tickets without an order id
    (matched by e-mail, or not at all) and a second order of the same customer."""
    out: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 4))):
        h = draw(st.sampled_from([1, 7, 30, 60, 150]))
        kind = draw(st.sampled_from(["cancel", "agent", "by_email", "unknown_writer", "second_order"]))
        if kind == "cancel":
            out.append(ev("oms", "order.cancelled", "A1", h, {"reason": "customer request"}))
        elif kind == "agent":
            p = {"ticket_id": "T0", "channel": "email", "author": "agent", "public": True, "text": "On it."}
            out.append(ev("ticket", "ticket.message", "A1", h, p))
        elif kind in ("by_email", "unknown_writer"):
            email = "ann@example.com" if kind == "by_email" else "who@example.com"
            p = {
                "ticket_id": f"T-{kind}",
                "channel": "chat",
                "author": "customer",
                "public": True,
                "text": "Where is my order? I want a refund",
                "customer": {"email": email},
            }
            out.append(ev("ticket", "ticket.message", None, h, p))
        else:
            p = {
                "order_number": "1002",
                "customer": {"id": "c1", "email": "ann@example.com", "name": "Ann Lee"},
                "items": [{"sku": "MUG", "title": "Blue Mug", "qty": 2, "unit_price": "12.50"}],
                "order_value": "25.00",
                "currency": "USD",
                "ship_by": at(h + 30),
            }
            out.append(ev("oms", "order.placed", "A2", h, p))
    return out


def by_time(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(events, key=lambda e: datetime.fromisoformat(e["occurred_at"]))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    histories(),
    extra_events(),
    st.sampled_from(ZONES),
    st.sampled_from(["testing", "live"]),
    st.lists(st.sampled_from(["approved", "denied", "changes_requested", "manual_takeover"]), max_size=3),
)
def test_generated_histories_round_trip_after_every_event(
    events: list[dict[str, Any]], extra: list[dict[str, Any]], tz: str, mode: str, decisions: list[str]
) -> None:
    pipeline = Pipeline(make_policy(mode, communications={"timezone": tz}))
    for e in by_time(events + extra):
        pipeline.process_line(json.dumps(e))
        assert_state_round_trips(pipeline)
    # reviewers answer what is open: escalations and drafts move on, reviewer decisions are recorded
    open_ids = [(k, i) for k, c in pipeline.state.cases.items() for i in [*c.escalations, *c.drafts]]
    h = 400.0
    for (key, ref), decision in zip(open_ids, decisions, strict=False):
        h += 1
        p = {"escalation_id": ref, "decision": decision, "reviewer": "U1", "rationale": "checked"}
        pipeline.process_line(json.dumps(ev("review", "review.decision", key, h, p)))
        assert_state_round_trips(pipeline)


# ---- generated field values (every value the annotations allow, not only what the pipeline makes) ----------

TIME_ZONES = [
    UTC,
    timezone(timedelta(hours=-5)),
    timezone(timedelta(hours=5, minutes=30)),
    timezone(timedelta(hours=1, minutes=2, seconds=3, microseconds=4)),  # orjson would drop the seconds
    ZoneInfo("UTC"),
    ZoneInfo("America/New_York"),
    ZoneInfo("Europe/London"),
    ZoneInfo("Australia/Lord_Howe"),
]


def strategy_for(tp: Any) -> st.SearchStrategy[Any]:
    """A strategy for a (resolved) field annotation of the state classes."""
    origin, args = get_origin(tp), get_args(tp)
    if origin in (types.UnionType, typing.Union):
        return st.one_of(*(strategy_for(a) for a in args))
    if origin is Literal:
        return st.sampled_from(args)
    if origin is list:
        return st.lists(strategy_for(args[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(strategy_for(args[0]), strategy_for(args[1]), max_size=3)
    if tp is type(None):
        return st.none()
    if tp is str:
        return st.text(max_size=12)
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers(-(2**63), 2**63 - 1)
    if tp is Decimal:
        return st.decimals(allow_nan=False) | st.sampled_from([Decimal("120.00"), Decimal("-0"), Decimal("1E+3")])
    if tp is datetime:
        return st.datetimes(timezones=st.none() | st.sampled_from(TIME_ZONES))
    if tp is date:
        return st.dates()
    if isinstance(tp, type) and is_dataclass(tp):
        hints = get_type_hints(tp)
        return st.builds(tp, **{f.name: strategy_for(hints[f.name]) for f in fields(tp)})
    raise AssertionError(f"no strategy for {tp!r}: teach strategy_for (and the codec) this type")


@settings(max_examples=300, deadline=None)
@given(strategy_for(OrderContext))
def test_any_order_context_round_trips(ctx: OrderContext) -> None:
    assert_round_trip(ctx=ctx)


@settings(max_examples=300, deadline=None)
@given(strategy_for(CaseState))
def test_any_case_round_trips(case: CaseState) -> None:
    assert_round_trip(case=case)


def test_layouts_cover_every_state_dataclass_field_in_order() -> None:
    reachable: set[type] = set()

    def walk(tp: Any) -> None:
        if is_dataclass(tp) and isinstance(tp, type) and tp not in reachable:
            reachable.add(tp)
            for hint in get_type_hints(tp).values():
                walk(hint)
        for a in get_args(tp):
            walk(a)

    walk(OrderContext)
    walk(CaseState)
    assert set(LAYOUTS) == reachable
    for cls, layout in LAYOUTS.items():
        assert [name for name, _ in layout] == [f.name for f in fields(cls)], cls.__name__


# ---- failures ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def blobs(day: Pipeline) -> tuple[bytes, bytes]:
    """The encoded context of the order with the most state, and the largest case that holds action drafts."""
    ctx = max(day.state.contexts.values(), key=lambda c: len(encode_context(c)))
    case = max((c for c in day.state.cases.values() if c.drafts), key=lambda c: len(encode_case(c)))
    return encode_context(ctx), encode_case(case)


def test_header_is_kind_and_version(blobs: tuple[bytes, bytes]) -> None:
    ctx, case = blobs
    assert ctx[:2] == b"O" + bytes([FORMAT_VERSION]) and case[:2] == b"C" + bytes([FORMAT_VERSION])


def test_unknown_version_is_refused(blobs: tuple[bytes, bytes]) -> None:
    ctx, case = blobs
    with pytest.raises(StateDecodeError, match=rf"format version 1; this build reads only {FORMAT_VERSION}"):
        decode_context(ctx[:1] + b"\x01" + ctx[2:])
    with pytest.raises(StateDecodeError, match=r"case state has format version 0"):
        decode_case(case[:1] + b"\x00" + case[2:])


def test_the_other_kind_of_state_is_refused(blobs: tuple[bytes, bytes]) -> None:
    ctx, case = blobs
    with pytest.raises(StateDecodeError, match="expected order context state, got case state"):
        decode_context(case)
    with pytest.raises(StateDecodeError, match="expected case state, got order context state"):
        decode_case(ctx)


def test_every_truncation_is_refused(blobs: tuple[bytes, bytes]) -> None:
    ctx, case = blobs
    for n in range(len(ctx)):
        with pytest.raises(StateDecodeError):
            decode_context(ctx[:n])
    for n in range(len(case)):
        with pytest.raises(StateDecodeError):
            decode_case(case[:n])


_OV = b"O" + bytes([FORMAT_VERSION])
"""The header of order context state of this build's format."""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "truncated: 0 bytes"),
        (_OV, "truncated: 2 bytes"),
        (_OV + b"[1,2", "not valid JSON"),
        (_OV + b"\xff\xfe", "not valid JSON"),
        (b'{"order_id": "A1"}', "not wismo order context state"),
        (b"\x80\x04\x95\x00\x00", "not wismo order context state"),  # a pickle is never loaded
        (_OV + b'{"order_id": "A1"}', "expected OrderContext as a list of 23 fields, got dict"),
        (_OV + b"[]", "expected OrderContext as a list of 23 fields, got 0"),
        (_OV + b"null", "expected OrderContext as a list of 23 fields, got NoneType"),
    ],
)
def test_garbage_is_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(StateDecodeError, match=message):
        decode_context(data)


def test_non_bytes_are_refused() -> None:
    with pytest.raises(StateDecodeError, match="must be bytes, got str"):
        decode_context("O\x01[]")  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_only_ever_raise_state_decode_error(data: bytes) -> None:
    for decode in (decode_context, decode_case):
        with contextlib.suppress(StateDecodeError):
            decode(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.integers(0, 40), json_values)
def test_corrupt_documents_only_ever_raise_state_decode_error(
    blobs: tuple[bytes, bytes], doc: Any, position: int, replacement: Any
) -> None:
    """Random documents, and real ones with one field replaced by a random value."""
    for blob, decode in zip(blobs, (decode_context, decode_case), strict=True):
        for body in (doc, orjson.loads(blob[2:])):
            if isinstance(body, list) and body:
                body[position % len(body)] = replacement
            with contextlib.suppress(StateDecodeError):
                decode(blob[:2] + orjson.dumps(body))


BAD: dict[str, Any] = {"not": [[]]}
"""A value no field accepts."""


def test_a_bad_field_is_named_by_its_path(blobs: tuple[bytes, bytes]) -> None:
    ctx_blob, case_blob = blobs
    for blob, decode, cls in ((ctx_blob, decode_context, OrderContext), (case_blob, decode_case, CaseState)):
        for i, f in enumerate(fields(cls)):
            body = orjson.loads(blob[2:])
            body[i] = BAD
            with pytest.raises(StateDecodeError) as exc:
                decode(blob[:2] + orjson.dumps(body))
            path = exc.value.path  # a dict or list field may name the bad element inside it
            assert path == f".{f.name}" or path.startswith(f".{f.name}["), exc.value
            assert str(exc.value).startswith(f"invalid {'order context' if cls is OrderContext else 'case'} state: ")


def test_nested_paths_and_reasons(blobs: tuple[bytes, bytes]) -> None:
    ctx_blob, case_blob = blobs
    body = orjson.loads(ctx_blob[2:])
    shipments = body[[f.name for f in fields(OrderContext)].index("shipments")]
    sid, shipment = next((k, s) for k, s in shipments.items() if s[9])
    shipment[9][-1][1] = "2026-13-45T00:00:00+00:00"  # scans[-1].at
    with pytest.raises(StateDecodeError) as exc:
        decode_context(ctx_blob[:2] + orjson.dumps(body))
    n = len(shipment[9]) - 1
    assert exc.value.path == f".shipments[{sid!r}].scans[{n}].at"
    assert str(exc.value) == (
        f"invalid order context state: shipments[{sid!r}].scans[{n}].at: "
        "not an ISO 8601 datetime: '2026-13-45T00:00:00+00:00'"
    )

    body = orjson.loads(ctx_blob[2:])
    body[1] = 1  # known: an int is not a bool
    with pytest.raises(StateDecodeError, match=r"known: expected true or false, got int 1"):
        decode_context(ctx_blob[:2] + orjson.dumps(body))

    body = orjson.loads(ctx_blob[2:])
    body[7] = 129.95  # order_value: a float would not be exact
    with pytest.raises(StateDecodeError, match=r"order_value: expected a decimal string, got float"):
        decode_context(ctx_blob[:2] + orjson.dumps(body))

    case = orjson.loads(case_blob[2:])
    drafts = case[[f.name for f in fields(CaseState)].index("drafts")]
    did = next(iter(drafts))
    drafts[did][1] = "teleport"
    with pytest.raises(StateDecodeError, match=r"drafts\[.*\]\.action_type: expected an ActionType \(address_change"):
        decode_case(case_blob[:2] + orjson.dumps(case))

    case = orjson.loads(case_blob[2:])
    case[7] = "lost_in_space"
    with pytest.raises(StateDecodeError, match=r"condition_type: expected a ConditionType"):
        decode_case(case_blob[:2] + orjson.dumps(case))

    case = orjson.loads(case_blob[2:])
    case[12] = ["2026-11-17T00:00:00+00:00", "Mars/Olympus_Mons"]  # next_follow_up_due_at
    with pytest.raises(StateDecodeError, match=r"next_follow_up_due_at: unknown time zone 'Mars/Olympus_Mons'"):
        decode_case(case_blob[:2] + orjson.dumps(case))
    case[12] = ["2026-11-17T00:00:00+03:00", "America/New_York"]
    with pytest.raises(StateDecodeError, match=r"does not occur in zone 'America/New_York'"):
        decode_case(case_blob[:2] + orjson.dumps(case))


def test_values_that_break_their_annotation_are_not_encoded() -> None:
    ctx = OrderContext(order_id="A1")
    ctx.shipments["S1"] = s = Shipment(shipment_id="S1")
    s.scans.append(Scan(event_id="e", at=T0, status="in_transit", est_delivery=T0))  # a datetime, not a date
    with pytest.raises(StateEncodeError, match=r"order context 'A1'.*expected a date, got datetime"):
        encode_context(ctx)
    with pytest.raises(StateEncodeError, match="order context 'A\\\\ud800'"):
        encode_context(OrderContext(order_id="A\ud800"))  # not valid UTF-8: could not be written to Redis
    with pytest.raises(StateEncodeError, match="case 'WC-1'"):
        encode_case(CaseState(wismo_case_id="WC-1", order_id=None, opened_at=T0, seq=2**70))
    with pytest.raises(StateEncodeError, match="expected a datetime, got date"):
        encode_case(CaseState(wismo_case_id="WC-1", order_id=None, opened_at=date(2026, 1, 1)))  # type: ignore[arg-type]


def test_exact_values_survive() -> None:
    eta = SupplierEta(sku="MUG", eta=date(2026, 11, 20), changed_at=T0.astimezone(timezone(timedelta(hours=-5))))
    ctx = OrderContext(order_id="A1", order_value=Decimal("120.00"), supplier_etas={"MUG": eta})
    back = decode_context(encode_context(ctx))
    assert str(back.order_value) == "120.00"
    changed = back.supplier_etas["MUG"].changed_at
    assert changed.utcoffset() == timedelta(hours=-5) and changed == T0
    case = CaseState(wismo_case_id="WC-A1-1", order_id="A1", opened_at=T0)
    case.drafts["d1"] = DraftState(action_id="d1", action_type="refund", approval_state="approved")
    assert decode_case(encode_case(case)).opened_at.tzinfo is UTC


def test_a_format_2_case_is_read_after_the_upgrade() -> None:
    # Format 3 added CaseState.last_withheld (the last field); state written by the previous release stays readable.
    case = CaseState(wismo_case_id="WC-A1-1", order_id="A1", opened_at=datetime(2026, 11, 2, tzinfo=UTC))
    case.last_status_sent = "in_transit:S1"
    fields3 = orjson.loads(encode_case(case)[2:])
    v2 = b"C\x02" + orjson.dumps(fields3[:-1])
    back = decode_case(v2)
    assert back == case and back.last_withheld is None
    with pytest.raises(StateDecodeError, match="format version 1"):
        decode_case(b"C\x01" + orjson.dumps(fields3[:-1]))


@pytest.mark.parametrize("version", [2, 3])
def test_a_format_2_or_3_order_context_is_read_after_the_upgrade(version: int) -> None:
    # Format 4 added OrderContext.hold_released_at (the last field); older state stays readable, with no release.
    ctx = OrderContext(order_id="A1", known=True, order_number="1001")
    ctx.holds["fraud_review"] = datetime(2026, 11, 2, tzinfo=UTC)
    fields4 = orjson.loads(encode_context(ctx)[2:])
    back = decode_context(b"O" + bytes((version,)) + orjson.dumps(fields4[:-1]))
    assert back == ctx and back.hold_released_at == {}
    case = CaseState(wismo_case_id="WC-A1-1", order_id="A1", opened_at=datetime(2026, 11, 2, tzinfo=UTC))
    assert decode_case(b"C\x03" + encode_case(case)[2:]) == case
