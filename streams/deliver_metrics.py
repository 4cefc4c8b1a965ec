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
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from wismo.sinks.audit import AuditOutcome, DeliveryStats
from wismo.streams.metrics import DELIVERY_COUNTERS, PREFIX

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
        attempts = _family("delivery_attempts_total")
        for target in targets:
            for outcome in AUDIT_OUTCOMES:
                attempts.add_metric([target, outcome], s.outcomes.get((target, outcome), 0))
        yield attempts
        dead = _family("delivery_dead_letters_total")
        for target in targets:
            dead.add_metric([target], s.dead_lettered.get(target, 0))
        yield dead


def _family(name: str) -> CounterMetricFamily:
    doc, labels = DELIVERY_COUNTERS[name]
    return CounterMetricFamily(PREFIX + name.removesuffix("_total"), doc, labels=list(labels))
