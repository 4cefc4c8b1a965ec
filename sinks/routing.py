"""Which output record goes to which delivery target. Pure.

* ``wismo.replies`` (replies, proactive updates) and ``wismo.notes`` (internal notes, testing-mode drafts)
  -> Zendesk;
* ``wismo.escalations`` -> Slack;
* ``wismo.actions`` (approval-gated drafts) -> no helpdesk or chat target: their approval is asked by the
  escalation that references them, and executing them is not a delivery sink's job;
* the signed webhook -> every topic in its configured set (default: all four).

A target that is not configured receives nothing; a topic no enabled target receives is not consumed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from wismo.sinks.base import TARGETS, Target

from wismo.delivery_settings import ACTION_TOPICS, DeliverySettings
from wismo.records import TOPIC_ESCALATIONS, TOPIC_NOTES, TOPIC_REPLIES

TOPIC_TARGETS: dict[str, tuple[Target, ...]] = {
    TOPIC_REPLIES: ("zendesk",),
    TOPIC_NOTES: ("zendesk",),
    TOPIC_ESCALATIONS: ("slack",),
}


@dataclass(frozen=True, slots=True)
class Routing:
    enabled: frozenset[Target]
    webhook_topics: frozenset[str] = frozenset(ACTION_TOPICS)

    @classmethod
    def from_settings(cls, settings: DeliverySettings) -> Routing:
        enabled: set[Target] = set()
        if settings.zendesk_url:
            enabled.add("zendesk")
        if settings.slack_bot_token:
            enabled.add("slack")
        if settings.webhook_url:
            enabled.add("webhook")
        return cls(frozenset(enabled), frozenset(settings.webhook_topics))

    def targets_for(self, topic: str) -> list[Target]:
        """Enabled targets of a canonical topic, in a fixed order."""
        wanted: set[Target] = {t for t in TOPIC_TARGETS.get(topic, ()) if t in self.enabled}
        if "webhook" in self.enabled and topic in self.webhook_topics:
            wanted.add("webhook")
        return [t for t in TARGETS if t in wanted]

    def topics(self, candidates: Iterable[str] = ACTION_TOPICS) -> list[str]:
        """The canonical topics with at least one enabled target (what the delivery loop subscribes to)."""
        return [t for t in candidates if self.targets_for(t)]
