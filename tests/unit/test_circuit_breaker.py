"""The live look-ups' circuit breaker (wismo.circuit_breaker)."""

from __future__ import annotations

from wismo.circuit_breaker import CircuitBreaker


def test_opens_after_consecutive_failures_and_fails_fast() -> None:
    b = CircuitBreaker(failures=3, open_seconds=30)
    for t in range(3):
        assert b.allow(t)
        b.record(False, t)
    assert b.state(3) == "open" and not b.allow(3) and not b.allow(31)


def test_a_success_resets_the_count() -> None:
    b = CircuitBreaker(failures=2, open_seconds=30)
    b.record(False, 0)
    b.record(True, 1)
    b.record(False, 2)
    assert b.state(2) == "closed"


def test_half_open_lets_one_trial_through_and_its_outcome_decides() -> None:
    b = CircuitBreaker(failures=1, open_seconds=10)
    b.record(False, 0)
    assert b.state(10) == "half_open"
    assert b.allow(10) and not b.allow(10)  # one trial at a time
    b.record(False, 10)
    assert b.state(15) == "open" and b.state(20) == "half_open"
    assert b.allow(20)
    b.record(True, 20)
    assert b.state(20) == "closed" and b.allow(21) and b.allow(21)
