"""Reviewer authorisation rules (wismo.processors.reviewer_auth) and their policy section."""

from __future__ import annotations

from decimal import Decimal

import pytest
from wismo.processors.reviewer_auth import refusal

from wismo.policy import PolicyError, Reviewers, policy_from_mapping

R = Reviewers(
    groups={"cx_leads": ["U1", "U2"], "senior": ["U9"]},
    approve={"default": ["cx_leads"], "refund": ["senior", "U2"]},
    high_value=["senior"],
)


def test_no_reviewers_section_accepts_everyone() -> None:
    assert refusal(None, "anyone", "approved", ["refund"], Decimal(10_000), 500) is None


def test_unknown_reviewer_is_refused_whatever_the_decision() -> None:
    for decision in ("approved", "denied", "changes_requested", "manual_takeover"):
        why = refusal(R, "U7", decision, [], Decimal(10), 500)
        assert why is not None and "U7 is not a configured reviewer" in why


def test_known_reviewer_may_deny_or_take_over_without_approval_rights() -> None:
    assert refusal(R, "U1", "denied", ["refund"], Decimal(10), 500) is None
    assert refusal(R, "U9", "manual_takeover", [], Decimal(10_000), 500) is None


def test_approval_needs_the_type_specific_list_when_there_is_one() -> None:
    assert refusal(R, "U1", "approved", ["refund"], Decimal(10), 500) == "U1 may not approve refund"
    assert refusal(R, "U2", "approved", ["refund"], Decimal(10), 500) is None  # listed by id
    assert refusal(R, "U1", "approved", ["address_change"], Decimal(10), 500) is None  # default list
    assert refusal(R, "U9", "approved", ["address_change"], Decimal(10), 500) == "U9 may not approve address change"


def test_every_draft_type_of_the_escalation_must_be_allowed() -> None:
    assert refusal(R, "U1", "approved", ["cancellation", "refund"], Decimal(10), 500) == "U1 may not approve refund"


def test_an_escalation_without_drafts_is_the_escalation_type() -> None:
    only_escalations = Reviewers(groups={"g": ["U3"]}, approve={"escalation": ["g"]})
    assert refusal(only_escalations, "U3", "approved", [], Decimal(1), 500) is None
    assert refusal(only_escalations, "U3", "approved", ["refund"], Decimal(1), 500) == "U3 may not approve refund"


def test_high_value_orders_need_a_high_value_reviewer_too() -> None:
    why = refusal(R, "U2", "approved", ["refund"], Decimal(500), 500)
    assert why is not None and "high-value" in why and "500" in why
    assert refusal(R, "U2", "approved", ["refund"], Decimal("499.99"), 500) is None
    senior_everywhere = R.model_copy(update={"approve": {"default": ["senior"]}})
    assert refusal(senior_everywhere, "U9", "approved", ["refund"], Decimal(800), 500) is None


def test_policy_rejects_an_unknown_decision_type() -> None:
    with pytest.raises(PolicyError, match="refunds"):
        policy_from_mapping({"reviewers": {"approve": {"refunds": ["U1"]}}})
    pol = policy_from_mapping({"reviewers": {"groups": {"g": ["U1"]}, "approve": {"refund": ["g"]}}})
    assert pol.reviewers is not None and pol.reviewers.everyone() == {"U1"}
