"""Matching a ticket with no order id to one of the customer's orders (SPEC §2)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from wismo.processors.matching import MatchResult, OrderSummary, match_named, match_ticket

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NO_INTENTS: frozenset[str] = frozenset({"status_request"})
NOT_RECEIVED: frozenset[str] = frozenset({"status_request", "not_received"})


def order(
    order_id: str,
    *,
    number: str | None = None,
    customer_id: str | None = "C1",
    email: str | None = "ann@example.com",
    days_ago: float = 3,
    delivered: bool = False,
    cancelled: bool = False,
) -> OrderSummary:
    return OrderSummary(
        order_id=order_id,
        order_number=number or order_id.removeprefix("O"),
        customer_id=customer_id,
        customer_email=email,
        placed_at=NOW - timedelta(days=days_ago),
        delivered=delivered,
        cancelled=cancelled,
    )


def match(
    *,
    order_number: str | None = None,
    customer_id: str | None = None,
    customer_email: str | None = None,
    intents: frozenset[str] = NO_INTENTS,
    by_number: OrderSummary | None = None,
    customer_orders: Sequence[OrderSummary] = (),
    now: datetime = NOW,
    lookback_days: int = 60,
) -> MatchResult:
    return match_ticket(
        order_number=order_number,
        customer_id=customer_id,
        customer_email=customer_email,
        intents=intents,
        by_number=by_number,
        customer_orders=customer_orders,
        now=now,
        lookback_days=lookback_days,
    )


# --- by order number --------------------------------------------------------------------------------


def test_number_of_this_customer_matches_by_id() -> None:
    result = match(order_number="1045", customer_id="C1", by_number=order("O1045"))
    assert result == MatchResult("matched", "O1045", ("O1045",), result.reason)
    assert "1045" in result.reason


def test_number_matches_by_email_case_insensitively_and_trimmed() -> None:
    result = match(order_number="#1045", customer_email="  ANN@Example.COM ", by_number=order("O1045"))
    assert (result.outcome, result.order_id) == ("matched", "O1045")


def test_number_of_another_customer_is_not_disclosed() -> None:
    other = order("O1045", customer_id="C9", email="bob@example.com")
    result = match(order_number="1045", customer_id="C1", customer_email="ann@example.com", by_number=other)
    assert result.outcome == "none"
    assert result.order_id is None
    assert result.candidates == ()
    assert "does not belong to this customer" in result.reason
    assert "C9" not in result.reason
    assert "bob" not in result.reason
    assert "O1045" not in result.reason


def test_number_of_another_customer_is_refused_even_when_customer_has_orders() -> None:
    other = order("O1045", customer_id="C9", email="bob@example.com")
    result = match(order_number="1045", customer_id="C1", by_number=other, customer_orders=[order("O1")])
    assert result.outcome == "none"
    assert result.order_id is None


def test_email_match_suffices_when_ids_differ() -> None:
    result = match(
        order_number="1045",
        customer_id="guest-77",
        customer_email="ann@example.com",
        by_number=order("O1045", customer_id="C1"),
    )
    assert (result.outcome, result.order_id) == ("matched", "O1045")


def test_number_without_identity_matches() -> None:
    result = match(order_number="1045", by_number=order("O1045"))
    assert (result.outcome, result.order_id) == ("matched", "O1045")
    assert "no customer identity" in result.reason


def test_known_number_wins_even_if_old_delivered_or_cancelled() -> None:
    old = order("O1045", days_ago=400, delivered=True, cancelled=True)
    result = match(order_number="1045", customer_id="C1", by_number=old, customer_orders=[order("O2")])
    assert (result.outcome, result.order_id) == ("matched", "O1045")


def test_unknown_number_without_identity() -> None:
    result = match(order_number="9999")
    assert result == MatchResult("none", None, (), "order number 9999 not found")


def test_unknown_number_with_identity_falls_through() -> None:
    result = match(order_number="#9999", customer_id="C1", customer_orders=[order("O1")])
    assert (result.outcome, result.order_id) == ("matched", "O1")
    assert "9999 not found" in result.reason
    assert result.unfound_number == "9999"  # the reply says the number given was not found


def test_unknown_number_with_several_open_orders_is_ambiguous_and_remembers_it() -> None:
    result = match(order_number="9999", customer_id="C1", customer_orders=[order("O1"), order("O2")])
    assert (result.outcome, result.unfound_number) == ("ambiguous", "9999")


def test_found_number_or_no_number_leaves_unfound_empty() -> None:
    found = match(order_number="1045", customer_id="C1", by_number=order("O1045"))
    by_identity = match(customer_id="C1", customer_orders=[order("O1")])
    assert found.unfound_number == by_identity.unfound_number == ""


def test_unprintable_or_huge_number_is_sanitised_in_reason() -> None:
    result = match(order_number="12\n34" + "9" * 500)
    assert result.outcome == "none"
    assert "\n" not in result.reason
    assert len(result.reason) < 80


# --- by identity ------------------------------------------------------------------------------------


def test_no_identity() -> None:
    result = match(customer_orders=[order("O1")])
    assert result == MatchResult("none", None, (), "no customer identity on the ticket")


def test_blank_identity_counts_as_none() -> None:
    result = match(customer_id="  ", customer_email="", customer_orders=[order("O1")])
    assert result.reason == "no customer identity on the ticket"


def test_single_open_order_matches() -> None:
    result = match(customer_id="C1", customer_orders=[order("O1")])
    assert result == MatchResult("matched", "O1", ("O1",), result.reason)


def test_several_open_orders_are_ambiguous() -> None:
    orders = [order("O3"), order("O1", days_ago=10), order("O2", days_ago=1)]
    result = match(customer_id="C1", customer_orders=orders)
    assert result.outcome == "ambiguous"
    assert result.order_id is None
    assert result.candidates == ("O1", "O2", "O3")
    assert "ask the customer for the order number" in result.reason


def test_one_open_and_one_delivered_picks_the_open_one() -> None:
    orders = [order("O1", delivered=True), order("O2")]
    result = match(customer_id="C1", customer_orders=orders)
    assert (result.outcome, result.order_id) == ("matched", "O2")


def test_not_received_picks_the_delivered_one() -> None:
    orders = [order("O1", delivered=True), order("O2")]
    result = match(customer_id="C1", intents=NOT_RECEIVED, customer_orders=orders)
    assert (result.outcome, result.order_id) == ("matched", "O1")


def test_not_received_with_several_delivered_is_ambiguous() -> None:
    orders = [order("O1", delivered=True), order("O2", delivered=True), order("O3")]
    result = match(customer_id="C1", intents=NOT_RECEIVED, customer_orders=orders)
    assert (result.outcome, result.candidates) == ("ambiguous", ("O1", "O2"))


def test_not_received_falls_back_to_open_orders() -> None:
    result = match(customer_id="C1", intents=NOT_RECEIVED, customer_orders=[order("O2")])
    assert (result.outcome, result.order_id) == ("matched", "O2")


def test_all_delivered_falls_back_to_all_candidates() -> None:
    single = match(customer_id="C1", customer_orders=[order("O1", delivered=True)])
    assert (single.outcome, single.order_id) == ("matched", "O1")
    several = match(customer_id="C1", customer_orders=[order("O1", delivered=True), order("O2", delivered=True)])
    assert (several.outcome, several.candidates) == ("ambiguous", ("O1", "O2"))


def test_orders_outside_lookback_are_ignored() -> None:
    orders = [order("O-old", days_ago=61), order("O-new", days_ago=59)]
    result = match(customer_id="C1", customer_orders=orders, lookback_days=60)
    assert (result.outcome, result.order_id) == ("matched", "O-new")
    only_old = match(customer_id="C1", customer_orders=[order("O-old", days_ago=61)], lookback_days=60)
    assert only_old.outcome == "none"
    assert "no recent orders for this customer" in only_old.reason


def test_orders_in_the_future_beyond_a_day_are_ignored() -> None:
    orders = [order("O-future", days_ago=-2), order("O-soon", days_ago=-0.5)]
    result = match(customer_id="C1", customer_orders=orders)
    assert (result.outcome, result.order_id) == ("matched", "O-soon")


def test_cancelled_orders_are_ignored() -> None:
    orders = [order("O1", cancelled=True), order("O2")]
    result = match(customer_id="C1", customer_orders=orders)
    assert (result.outcome, result.order_id) == ("matched", "O2")
    only_cancelled = match(customer_id="C1", customer_orders=[order("O1", cancelled=True)])
    assert only_cancelled.outcome == "none"


def test_other_customers_orders_in_the_list_are_filtered_out() -> None:
    orders = [order("O1"), order("O9", customer_id="C9", email="bob@example.com")]
    result = match(customer_id="C1", customer_orders=orders)
    assert (result.outcome, result.order_id) == ("matched", "O1")
    by_email = match(customer_email="Ann@Example.com", customer_orders=orders)
    assert (by_email.outcome, by_email.order_id) == ("matched", "O1")


def test_customer_without_orders() -> None:
    result = match(customer_email="new@example.com", customer_orders=[])
    assert result.outcome == "none"
    assert result.order_id is None
    assert "no recent orders for this customer" in result.reason


def test_duplicate_summaries_count_once() -> None:
    result = match(customer_id="C1", customer_orders=[order("O1"), order("O1")])
    assert (result.outcome, result.order_id) == ("matched", "O1")


def test_deterministic_regardless_of_input_order() -> None:
    orders = [order(f"O{i}", days_ago=i) for i in range(1, 6)]
    first = match(customer_id="C1", customer_orders=orders)
    second = match(customer_id="C1", customer_orders=list(reversed(orders)))
    assert first == second
    assert first.candidates == ("O1", "O2", "O3", "O4", "O5")


def test_naive_datetimes_and_extreme_lookback_never_raise() -> None:
    naive = OrderSummary("O1", "1", "C1", None, datetime(2026, 11, 19), False, False)
    result = match(customer_id="C1", customer_orders=[naive], lookback_days=10**12)
    assert (result.outcome, result.order_id) == ("matched", "O1")
    negative = match(customer_id="C1", customer_orders=[naive], now=NOW.replace(tzinfo=None), lookback_days=-5)
    assert negative.outcome == "none"
    edge = match(customer_id="C1", customer_orders=[naive], now=datetime.max.replace(tzinfo=UTC))
    assert edge.outcome == "none"


# --- a message naming several orders -------------------------------------------------------------------


def test_several_named_orders_match_the_only_open_one() -> None:
    came, waiting = order("O8840", delivered=True), order("O8871")
    result = match_named([came, waiting], customer_id="C1", customer_email=None)
    assert result is not None and (result.outcome, result.order_id) == ("matched", "O8871")


@pytest.mark.parametrize(
    ("named", "why"),
    [
        ([order("O1"), order("O2")], "two still open"),
        ([order("O1", delivered=True), order("O2", delivered=True)], "none open"),
        ([order("O1", delivered=True), order("O2", customer_id="C9", email="bo@example.com")], "one is another's"),
        ([order("O1"), order("O1")], "the same order twice"),
    ],
)
def test_several_named_orders_decide_nothing_unless_exactly_one_is_open(named: list[OrderSummary], why: str) -> None:
    assert match_named(named, customer_id="C1", customer_email="ann@example.com") is None, why
