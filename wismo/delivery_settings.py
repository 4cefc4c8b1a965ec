"""Configuration of the delivery sinks (``wismo deliver``), from the environment (``WISMO_*``) or CLI flags.

Kafka, Redis, topic prefix, group and key prefix are the same variables the worker reads, so one environment
configures both. A target is enabled by setting its URL (Zendesk, webhook) or bot token and channel (Slack);
a half-configured target (a URL without its credentials) fails at start-up with pydantic's field-level
message, never at the first delivery. Secrets are :class:`~pydantic.SecretStr` and never logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from wismo.records import TOPIC_ACTIONS, TOPIC_ESCALATIONS, TOPIC_NOTES, TOPIC_REPLIES
from wismo.settings import DeploymentSettings
from wismo.state_keys import DELIVERY_LEASE_SECONDS

ACTION_TOPICS = (TOPIC_REPLIES, TOPIC_NOTES, TOPIC_ESCALATIONS, TOPIC_ACTIONS)
"""The four topics carrying action records (EVENTS.md); what the delivery sinks consume."""


class DeliverySettings(DeploymentSettings):
    # ---- shared with the worker (Kafka, Redis and the prefixes come from DeploymentSettings) -------------
    group_id: str = "wismo"
    """The deployment's consumer group; the sinks use ``<group_id>-deliver`` unless ``delivery_group_id``."""
    policy_file: Path | None = None
    """The policy the workers run (its ``rollout.demotion`` limits: a condition whose deliveries fail too often
    is demoted to testing mode); the packaged default when unset."""
    session_timeout_ms: int = Field(10_000, ge=1000)
    heartbeat_interval_ms: int = Field(3_000, ge=100)

    # ---- the delivery loop -----------------------------------------------------------------------------
    delivery_group_id: str | None = None
    """Consumer group of the delivery sinks (default ``<group_id>-deliver``). Its own group: the sinks
    commit independently of the workers."""
    delivery_batch_max_records: int = Field(200, ge=1)
    """Most records taken per poll. A batch finishes (delivered, skipped or dead-lettered) before the next."""
    delivery_concurrency: int = Field(16, ge=1)
    """Orders delivered at the same time within a batch (one order's records always go one after another)."""
    delivery_poll_timeout_ms: int = Field(200, ge=1)
    delivery_timeout_seconds: float = Field(10.0, gt=0)
    """Per-attempt HTTP timeout (connect, read, write)."""
    delivery_max_attempts: int = Field(5, ge=1)
    """Attempts per record and target before it is dead-lettered (4xx other than 408/409/429: one)."""
    delivery_backoff_initial_seconds: float = Field(1.0, ge=0)
    """Upper bound of the first retry's delay; doubles per attempt (full jitter: the delay is uniform in
    ``[0, bound]``)."""
    delivery_backoff_max_seconds: float = Field(30.0, ge=0)
    """Cap of every retry delay, including a server's Retry-After or rate-limit reset."""
    delivery_lease_seconds: float = Field(DELIVERY_LEASE_SECONDS, gt=0)
    """How long a claimed delivery stays owned (renewed before every call and every wait) before another
    sink may reconcile it. Must exceed the HTTP timeout."""
    delivery_web_host: str = "0.0.0.0"
    delivery_web_port: int = Field(8091, ge=0, le=65535)
    """Port of the process's ``/metrics`` (Prometheus) and ``/health``. 0 = no web server."""

    # ---- targets ---------------------------------------------------------------------------------------
    zendesk_url: str | None = None
    """``https://<subdomain>.zendesk.com`` (no trailing ``/api/v2``). Unset: no Zendesk delivery."""
    zendesk_email: str | None = None
    """Agent e-mail of the API token (basic auth ``<email>/token:<api token>``)."""
    zendesk_api_token: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    """Bot token (``xoxb-...``) with ``chat:write`` and ``channels:history`` (reconciliation). Unset: no
    Slack delivery."""
    slack_channel: str | None = None
    """Channel ID (``C0123456789``) the escalations go to. An ID, not a name: reconciliation reads the
    channel's history, which takes IDs only."""
    slack_api_url: str = "https://slack.com/api"
    webhook_url: str | None = None
    """Receiver of the signed generic webhook. Unset: no webhook delivery."""
    webhook_secret: SecretStr | None = None
    """HMAC-SHA256 key of ``X-Wismo-Signature``."""
    webhook_topics: Annotated[tuple[str, ...], NoDecode] = ACTION_TOPICS
    """Comma-separated canonical topic names the webhook receives (default: all four action topics)."""

    @field_validator("webhook_topics", mode="before")
    @classmethod
    def _split_topics(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(t.strip() for t in value.split(",") if t.strip())
        return value

    @field_validator("webhook_topics")
    @classmethod
    def _known_topics(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [t for t in value if t not in ACTION_TOPICS]
        if unknown:
            raise ValueError(f"unknown topic(s) {', '.join(unknown)}; choose from {', '.join(ACTION_TOPICS)}")
        return value

    @model_validator(mode="after")
    def _complete_targets(self) -> DeliverySettings:
        problems = []
        if self.zendesk_url and not (self.zendesk_email and self.zendesk_api_token):
            problems.append("WISMO_ZENDESK_URL is set but WISMO_ZENDESK_EMAIL or WISMO_ZENDESK_API_TOKEN is not")
        if bool(self.slack_bot_token) != bool(self.slack_channel):
            problems.append("set both WISMO_SLACK_BOT_TOKEN and WISMO_SLACK_CHANNEL, or neither")
        if self.webhook_url and not self.webhook_secret:
            problems.append("WISMO_WEBHOOK_URL is set but WISMO_WEBHOOK_SECRET is not")
        if self.delivery_lease_seconds <= self.delivery_timeout_seconds:
            problems.append(
                f"delivery_lease_seconds ({self.delivery_lease_seconds}) must exceed delivery_timeout_seconds "
                f"({self.delivery_timeout_seconds}): a lease shorter than one call lets another sink reconcile "
                "a delivery still in flight"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def consumer_group(self) -> str:
        return self.delivery_group_id or f"{self.group_id}-deliver"
