"""Prometheus metrics of the webhook ingest (:data:`wismo.streams.metrics.INGEST_COUNTERS`): every delivery counted
once, by provider and outcome, in a registry of its own per application (two apps in one process never mix).

Outcomes, each the answer one delivery got:

===============  ============================================================================================
outcome          when
===============  ============================================================================================
accepted         published (202; Slack 200)
dead_lettered    published, and the adapter rejected at least part of it (on ``wismo.dlq``)
ignored          valid, signed, but nothing wismo uses (202, nothing published)
duplicate        already published by an earlier delivery (202; Slack 200)
bad_signature    401
too_large        413
bad_json         400
unavailable      503: Redis or the broker unreachable, or the delivery claimed by another request
not_found        404: unknown provider, or one without a signing secret
error            an unexpected exception (500): a bug; the provider retries
===============  ============================================================================================

Labels stay bounded: a provider name that is not one of ``PROVIDERS`` is counted as ``unknown``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Literal, get_args

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from wismo.processors.adapters.base import PROVIDERS
from wismo.streams.metrics import INGEST_COUNTERS, counter_family

WebhookOutcome = Literal[
    "accepted",
    "dead_lettered",
    "ignored",
    "duplicate",
    "bad_signature",
    "too_large",
    "bad_json",
    "unavailable",
    "not_found",
    "error",
]
OUTCOMES: tuple[WebhookOutcome, ...] = get_args(WebhookOutcome)
UNKNOWN_PROVIDER = "unknown"
"""The ``provider`` label of a request to ``/webhooks/<name>`` where ``name`` is no provider."""


class IngestMetrics:
    """The webhook counters of one ingest app; ``count`` once per delivery, ``render()`` for ``/metrics``.
    ``providers`` (the enabled ones) are shown with every outcome from the start, at zero."""

    def __init__(self, providers: Iterable[str]) -> None:
        self.webhooks: Counter[tuple[str, WebhookOutcome]] = Counter()
        self.providers = tuple(providers)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_WebhookCollector(self))

    def count(self, provider: str, outcome: WebhookOutcome) -> None:
        self.webhooks[(provider if provider in PROVIDERS else UNKNOWN_PROVIDER, outcome)] += 1

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _WebhookCollector(Collector):
    def __init__(self, metrics: IngestMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        counted = self.metrics.webhooks
        shown = {(p, o) for p in self.metrics.providers for o in OUTCOMES} | set(counted)
        yield counter_family(INGEST_COUNTERS, "webhooks_total", ((k, counted.get(k, 0)) for k in sorted(shown)))
