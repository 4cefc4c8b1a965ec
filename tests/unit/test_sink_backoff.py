"""The delivery retry schedule: full jitter within exponential bounds, server hints honoured, everything capped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from wismo.sinks.backoff import BackoffPolicy, server_wait

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC).timestamp()
POLICY = BackoffPolicy(initial=1.0, cap=30.0)


@pytest.mark.parametrize(("attempt", "bound"), [(1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0), (6, 30.0), (200, 30.0)])
def test_jitter_bound_doubles_then_caps(attempt, bound):
    assert POLICY.jitter_bound(attempt) == bound


def test_full_jitter_spans_zero_to_the_bound():
    assert POLICY.delay(3, server_wait=None, rand=0.0) == 0.0
    assert POLICY.delay(3, server_wait=None, rand=0.5) == 2.0
    assert POLICY.delay(3, server_wait=None, rand=0.999999) == pytest.approx(4.0, abs=1e-5)
    delays = [POLICY.delay(10, server_wait=None, rand=r / 100) for r in range(100)]
    assert all(0.0 <= d < 30.0 for d in delays)
    assert len(set(delays)) == 100  # spread out, not one value


def test_retry_after_in_seconds():
    assert server_wait({"Retry-After": "7"}, NOW) == 7.0
    assert server_wait({"retry-after": " 2.5 "}, NOW) == 2.5
    assert POLICY.delay(1, server_wait=7.0, rand=0.0) == 7.0  # the server's wait wins over the jitter


def test_retry_after_as_http_date():
    when = datetime.fromtimestamp(NOW, UTC) + timedelta(seconds=12)
    assert server_wait({"Retry-After": format_datetime(when, usegmt=True)}, NOW) == pytest.approx(12.0)
    past = datetime.fromtimestamp(NOW, UTC) - timedelta(minutes=5)
    assert server_wait({"Retry-After": format_datetime(past, usegmt=True)}, NOW) == 0.0


def test_rate_limit_reset_as_delay_or_epoch():
    assert server_wait({"ratelimit-reset": "9"}, NOW) == 9.0
    assert server_wait({"X-Rate-Limit-Reset": str(int(NOW) + 20)}, NOW) == pytest.approx(20.0)
    assert server_wait({"X-RateLimit-Reset": str(int(NOW) - 20)}, NOW) == 0.0


def test_retry_after_wins_over_reset_and_garbage_is_ignored():
    assert server_wait({"Retry-After": "3", "ratelimit-reset": "50"}, NOW) == 3.0
    assert server_wait({"Retry-After": "soon", "ratelimit-reset": "50"}, NOW) == 50.0
    assert server_wait({"Retry-After": "nan"}, NOW) is None
    assert server_wait({"Content-Type": "application/json"}, NOW) is None


def test_server_wait_is_capped():
    assert POLICY.delay(1, server_wait=3600.0, rand=0.3) == 30.0
    assert POLICY.delay(1, server_wait=-5.0, rand=0.3) == 0.0
