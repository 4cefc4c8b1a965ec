"""Prometheus metrics of ``wismo deliver`` (:data:`wismo.streams.metrics.DELIVERY_COUNTERS`), read at scrape time
from the process's :class:`~wismo.sinks.audit.DeliveryStats`: the counters that move with every audit record on
``wismo.deliveries``, so the figures on ``/metrics`` and the audit topic cannot disagree.

Every configured target is shown with every outcome from the start (zero until something happens), so a rate or
an increase has a series to work on before the first failure. Labels are bounded: targets (zendesk, slack,
webhook) and audit outcomes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import get_args

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from wismo.sinks.audit import AuditOutcome, DeliveryStats
from wismo.streams.metrics import DELIVERY_COUNTERS, counter_family

AUDIT_OUTCOMES: tuple[AuditOutcome, ...] = get_args(AuditOutcome)


class DeliveryMetrics:
    """The registry of one delivery process; ``render()`` is the body of ``/metrics``."""

    def __init__(self, stats: DeliveryStats, targets: Iterable[str]) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_DeliveryCollector(stats, tuple(targets)))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _DeliveryCollector(Collector):
    def __init__(self, stats: DeliveryStats, targets: tuple[str, ...]) -> None:
        self.stats = stats
        self.targets = targets

    def collect(self) -> Iterator[Metric]:
        s = self.stats
        targets = sorted({*self.targets, *(t for t, _ in s.outcomes), *s.dead_lettered})
        yield counter_family(
            DELIVERY_COUNTERS,
            "delivery_attempts_total",
            (((t, o), s.outcomes.get((t, o), 0)) for t in targets for o in AUDIT_OUTCOMES),
        )
        yield counter_family(
            DELIVERY_COUNTERS, "delivery_dead_letters_total", (((t,), s.dead_lettered.get(t, 0)) for t in targets)
        )
