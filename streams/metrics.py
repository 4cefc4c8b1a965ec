"""Prometheus metrics of one worker process, served at ``/metrics`` (SPEC §9 and the rollout plan's monitored
figures). Every metric is named here, with its labels; every label has a bounded set of values (conditions,
kinds, modes, channels, sources, systems, topics, error types), never an order, case or ticket id.

Counters are read at scrape time from the counters the pipeline and the worker keep anyway (no work on the
hot path); histograms are observed once per batch. Rates (escalation rate by condition, deflection by channel,
repeated-contact rate, proactive no-ticket rate, tool failure rate, on-time share of promised follow-ups) are
ratios of these counters, computed in PromQL: see ``deploy/prometheus/`` and ``deploy/grafana/``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from wismo.conditions import PRECEDENCE
from wismo.events import EVENT_TYPES

if TYPE_CHECKING:
    from wismo.streams.worker import Worker

PREFIX = "wismo_"

COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "events_in_total": ("Input events accepted by the pipeline (duplicates included).", ("source", "type")),
    "duplicates_total": ("Input events dropped by dedupe.", ("kind",)),
    "dead_letters_total": ("Records written to the dead-letter topic.", ("error_type",)),
    "evaluations_total": ("Case evaluations, by the condition they found.", ("condition",)),
    "suppressed_total": ("Evaluations whose customer message was held back, by reason.", ("reason",)),
    "actions_total": ("Replies, notes, escalations and action drafts written.", ("kind", "mode", "channel")),
    "escalations_total": ("Escalations raised, by condition.", ("condition",)),
    "guardrail_failures_total": ("Customer texts withheld by the guardrail check, by condition.", ("condition",)),
    "contacts_total": ("Customer contacts (WISMO tickets and chats), first or repeat on the case.", ("channel", "nth")),
    "contact_outcomes_total": (
        "Customer contacts by outcome: answered (deflected), escalated, unanswered.",
        ("channel", "outcome"),
    ),
    "proactive_updates_total": (
        "Proactive updates sent or drafted; ticket=none means before the customer wrote.",
        ("ticket",),
    ),
    "follow_ups_scheduled_total": ("Follow-up commitments scheduled.", ()),
    "follow_ups_fired_total": ("Follow-ups that came due and re-evaluated their case.", ()),
    "promised_follow_ups_total": (
        "Customer-facing checkpoints by outcome: on_time (sent by the promised time), late, missed.",
        ("outcome",),
    ),
    "tool_calls_total": ("Live look-ups made, by system.", ("system",)),
    "tool_failures_total": ("Live look-ups that failed (timeout, error, bad answer, circuit open).", ("system",)),
    "shadow_comparisons_total": (
        "Shadow mode: evaluations compared with the candidate policy, by outcome (same, different, live_only, "
        "candidate_only; candidate_failed counts batches the candidate could not run).",
        ("outcome",),
    ),
    "shadow_differences_total": ("Shadow mode: differing evaluations by the field that differs.", ("field",)),
    "batches_total": ("Batches processed.", ()),
    "messages_total": ("Kafka messages consumed.", ()),
    "outputs_total": ("Records published to the output topics.", ()),
    "redis_failures_total": ("Redis calls that failed and were retried.", ()),
    "batch_fallbacks_total": ("Batches retried message by message after an unexpected error.", ()),
}
GAUGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "consumer_lag_messages": (
        "Messages not yet committed, per input topic (sum over assigned partitions).",
        ("topic",),
    ),
    "assigned_partitions": ("Input partitions this worker owns.", ()),
    "kill_switch": ("1 while the kill switch holds every customer message back.", ()),
    "condition_demoted": ("1 while a condition is demoted to testing mode (automatically or by hand).", ("condition",)),
}
DELIVERY_COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "delivery_attempts_total": (
        "Delivery audit records (wismo.deliveries, one per attempt) by target and outcome: success, timeout, "
        "error, reconciled, dead_lettered (given up), duplicate and no_ticket (nothing to send, no call made).",
        ("target", "outcome"),
    ),
    "delivery_dead_letters_total": ("Deliveries given up after the last attempt (dead-lettered).", ("target",)),
}
"""Exported by ``wismo deliver`` (the delivery sinks' process) at its own ``/metrics``."""
INGEST_COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "webhooks_total": (
        "Webhook deliveries received by provider and outcome (accepted, duplicate, bad_signature, too_large, "
        "bad_json, dead_lettered, ignored, unavailable, not_found, error); provider=unknown for names that are "
        "no provider.",
        ("provider", "outcome"),
    ),
}
"""Exported by ``wismo ingest`` (the webhook ingest) at its own ``/metrics``."""
HISTOGRAMS = {
    "batch_seconds": "Wall time to process one batch (read, pipeline, write, publish, commit).",
    "event_age_seconds": "Age of an event when its batch was done: processing latency from the record timestamp.",
    "exception_to_update_seconds": "Event time from a case entering a backend exception to its first customer update.",
}
EXPORTED = {PREFIX + n for n in (*COUNTERS, *GAUGES, *HISTOGRAMS, *DELIVERY_COUNTERS, *INGEST_COUNTERS)}
"""Every metric family name this module exports (deploy/ checks its dashboards and alerts against it)."""


def counter_family(
    catalogue: dict[str, tuple[str, tuple[str, ...]]], name: str, samples: Iterable[tuple[tuple[str, ...], float]]
) -> CounterMetricFamily:
    """The counter ``name`` of a catalogue above (``COUNTERS``, ``DELIVERY_COUNTERS``, ``INGEST_COUNTERS``) with
    its help text and labels, holding ``samples`` (label values, count)."""
    doc, labels = catalogue[name]
    fam = CounterMetricFamily(PREFIX + name.removesuffix("_total"), doc, labels=list(labels))
    for values, n in samples:
        fam.add_metric(list(values), n)
    return fam


class WorkerMetrics:
    """The registry of one worker. ``observe_batch`` after each batch; ``render()`` for ``/metrics``."""

    def __init__(self, worker: Worker) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_StatsCollector(worker))
        self.batch_seconds = Histogram(
            PREFIX + "batch_seconds",
            HISTOGRAMS["batch_seconds"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.event_age = Histogram(
            PREFIX + "event_age_seconds",
            HISTOGRAMS["event_age_seconds"],
            registry=self.registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        self.exception_to_update = Histogram(
            PREFIX + "exception_to_update_seconds",
            HISTOGRAMS["exception_to_update_seconds"],
            registry=self.registry,
            buckets=(0, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400),
        )

    def observe_batch(self, seconds: float, ages: Iterable[float], exception_seconds: list[float]) -> None:
        """Called by the worker after each batch; drains ``exception_seconds``."""
        self.batch_seconds.observe(seconds)
        for age in ages:
            self.event_age.observe(max(0.0, age))
        for s in exception_seconds:
            self.exception_to_update.observe(s)
        exception_seconds.clear()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _StatsCollector(Collector):
    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    def collect(self) -> Iterator[Metric]:
        w = self.worker
        s = w.pipeline.stats
        c = self._counter
        yield c("events_in_total", (((EVENT_TYPES.get(t, "other"), t), n) for t, n in s.events_by_type.items()))
        yield c("duplicates_total", [(("event",), s.duplicates), (("backend_status",), s.duplicate_status)])
        yield c("dead_letters_total", (((t,), n) for t, n in s.dead_letter_types.items()))
        yield c("evaluations_total", (((cond,), s.conditions.get(cond, 0)) for cond in PRECEDENCE))
        yield c("suppressed_total", (((r,), n) for r, n in s.suppressed.items()))
        yield c("actions_total", ((k, n) for k, n in s.actions.items()))
        yield c("escalations_total", (((cond,), s.escalations.get(cond, 0)) for cond in PRECEDENCE))
        yield c("guardrail_failures_total", (((cond,), n) for cond, n in s.guardrail_failures.items()))
        yield c("contacts_total", ((k, n) for k, n in s.contacts.items()))
        yield c("contact_outcomes_total", ((k, n) for k, n in s.contact_outcomes.items()))
        yield c(
            "proactive_updates_total",
            [
                (("none",), s.proactive_updates.get("no_ticket", 0)),
                (("open",), s.proactive_updates.get("open_ticket", 0)),
            ],
        )
        yield c("follow_ups_scheduled_total", [((), s.follow_ups_scheduled)])
        yield c("follow_ups_fired_total", [((), s.follow_ups_fired)])
        yield c(
            "promised_follow_ups_total",
            (((o,), s.promised_follow_ups.get(o, 0)) for o in ("on_time", "late", "missed")),
        )
        lookups = w.lookups
        systems = ("oms", "carrier")
        yield c("tool_calls_total", (((x,), lookups.calls.get(x, 0) if lookups else 0) for x in systems))
        yield c("tool_failures_total", (((x,), lookups.tool_failures.get(x, 0) if lookups else 0) for x in systems))
        sh = w.shadow_stats
        yield c("shadow_comparisons_total", (((o,), n) for o, n in sh.compared.items()))
        yield c("shadow_differences_total", (((f,), n) for f, n in sh.differences.items()))
        ws = w.stats
        yield c("batches_total", [((), ws.batches)])
        yield c("messages_total", [((), ws.messages)])
        yield c("outputs_total", [((), ws.outputs)])
        yield c("redis_failures_total", [((), ws.redis_failures)])
        yield c("batch_fallbacks_total", [((), ws.batch_fallbacks)])
        yield self._gauge("consumer_lag_messages", ((k, v) for k, v in w.lag_by_topic().items()))
        yield self._gauge("assigned_partitions", [((), len(w.assigned_partitions()))])
        modes = w.pipeline.policy.modes
        yield self._gauge("kill_switch", [((), 1 if modes.kill_switch else 0)])
        yield self._gauge("condition_demoted", (((c,), 1 if c in modes.demoted else 0) for c in PRECEDENCE))

    @staticmethod
    def _counter(name: str, samples: Iterable[tuple[tuple[str, ...], float]]) -> CounterMetricFamily:
        return counter_family(COUNTERS, name, samples)

    @staticmethod
    def _gauge(name: str, samples: Iterable[tuple[tuple[str, ...], float]]) -> GaugeMetricFamily:
        doc, labels = GAUGES[name]
        fam = GaugeMetricFamily(PREFIX + name, doc, labels=list(labels))
        for values, n in samples:
            fam.add_metric(list(values), n)
        return fam
