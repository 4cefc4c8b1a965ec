"""Carrier locations in customer text leave out the parts that name a policy restricted term."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wismo.handlers.guardrails import GuardrailFacts, check_customer_text, names_policy_term
from wismo.handlers.phrasing import shown_place

TERMS = ("Hexin", "Acme Logistics")


@pytest.mark.parametrize(
    ("place", "shown"),
    [
        ("Hexin Distribution, Ontario, CA", "Ontario, CA"),
        ("ACME  logistics hub, Reno, NV", "Reno, NV"),  # case and spacing do not hide a term
        ("Hexin, Acme Logistics", None),  # nothing left: no location at all
        ("Hexingtonville, OH", "Hexingtonville, OH"),  # a longer word is not the term
        ("Memphis, TN", "Memphis, TN"),
        ("", None),
        (None, None),
    ],
)
def test_parts_naming_a_restricted_term_are_left_out(place: str | None, shown: str | None) -> None:
    assert shown_place(place, TERMS) == shown


def test_without_terms_the_place_is_shown_as_given() -> None:
    assert shown_place("Hexin Distribution, Ontario, CA") == "Hexin Distribution, Ontario, CA"


@given(st.lists(st.sampled_from(["Hexin", "Depot", "Ontario", "acme logistics", "CA", "Reno", "HEXIN 2"]), max_size=5))
def test_what_is_shown_never_fails_the_guardrail_on_a_policy_term(parts: list[str]) -> None:
    shown = shown_place(", ".join(parts), TERMS)
    if shown is None:
        return
    assert not names_policy_term(shown, TERMS)
    facts = GuardrailFacts(
        allowed_dates=frozenset(),
        any_physical_scan=True,
        shipments=(),
        pending_item_titles=(),
        split=False,
        approved_actions=frozenset(),
        restricted_terms=TERMS,
    )
    assert check_customer_text(f"The latest carrier scan was in {shown}.", facts) == []
