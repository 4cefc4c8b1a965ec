"""Configuration of the webhook ingest (``wismo ingest``), from the environment (``WISMO_*``) or CLI flags.

The broker, Redis and prefix variables are the worker's (``WISMO_KAFKA_BOOTSTRAP``, ``WISMO_REDIS_URL``,
``WISMO_TOPIC_PREFIX``, ``WISMO_KEY_PREFIX``), so one environment configures both. Signing secrets come only
from the environment; a provider whose secret is unset or empty is disabled (its endpoint answers 404), never
accepted unsigned.
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from wismo.processors.adapters.base import PROVIDERS, AdapterOptions, Provider
from wismo.settings import DeploymentSettings
from wismo.state_keys import INGEST_CLAIM_SECONDS

MIB = 1024 * 1024


class IngestSettings(DeploymentSettings):
    """The ingest's own settings; Kafka, Redis and the prefixes are the deployment's (it reads the worker's
    tracking index)."""

    ingest_host: str = "0.0.0.0"
    ingest_port: int = Field(8090, ge=0, le=65535)
    """0 = pick a free port."""
    ingest_max_body_bytes: int = Field(MIB, ge=1)
    """Largest request body accepted; a larger one is refused with 413 while it is read, before any parse.
    Provider webhooks are a few KB (a Shopify order with many lines stays well under 1 MiB)."""
    ingest_publish_timeout_seconds: float = Field(10.0, gt=0, lt=INGEST_CLAIM_SECONDS)
    """How long a request waits for the broker to acknowledge what it publishes before it answers 503 (the
    provider retries). Below ``INGEST_CLAIM_SECONDS`` so a claim never expires while its request publishes."""
    ingest_redis_timeout_seconds: float = Field(2.0, gt=0)
    """Socket timeout of Redis calls; Redis unreachable -> 503 and nothing published."""

    zendesk_order_number_fields: list[str] = Field(default_factory=list)
    """Ids of Zendesk ticket custom fields holding the order number (JSON list, e.g. ``["360001234"]``); passed
    to the Zendesk adapter (``AdapterOptions``)."""

    shopify_shop_domain: str | None = None
    """The shop's ``*.myshopify.com`` domain (e.g. ``acme.myshopify.com``). With ``shopify_admin_token`` it enables
    the Admin API look-up of a fulfillment order's order (hold webhooks name only the fulfillment order:
    :mod:`wismo.streams.shopify_admin`); without both, such webhooks are dead-lettered."""
    shopify_admin_token: SecretStr | None = None
    """Admin API access token of the shop's app (``shpat_...``); needs a fulfillment-orders read scope
    (``read_merchant_managed_fulfillment_orders``, and ``read_third_party_fulfillment_orders`` for orders fulfilled
    by a fulfillment service)."""
    shopify_api_version: str = Field("2025-01", pattern=r"^(\d{4}-\d{2}|unstable)$")
    """Admin API version of the look-up (``YYYY-MM``)."""
    shopify_api_url: str | None = None
    """Base URL replacing ``https://<shopify_shop_domain>`` (a proxy, or a stand-in in tests); the path
    ``/admin/api/<version>/graphql.json`` is appended."""
    shopify_admin_timeout_seconds: float = Field(3.0, gt=0, le=4.5)
    """Time budget of one fulfillment-order look-up, its single retry included. Shopify waits 5 s for the webhook
    answer, so the budget stays under it; when it runs out the webhook answers 503 and Shopify retries later."""

    shopify_webhook_secret: SecretStr | None = None
    easypost_webhook_secret: SecretStr | None = None
    aftership_webhook_secret: SecretStr | None = None
    zendesk_webhook_secret: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None

    def secret_for(self, provider: str) -> str | None:
        """The signing secret of ``provider``; None when it is not configured (the provider is disabled)."""
        secret: SecretStr | None = {
            "shopify": self.shopify_webhook_secret,
            "easypost": self.easypost_webhook_secret,
            "aftership": self.aftership_webhook_secret,
            "zendesk": self.zendesk_webhook_secret,
            "slack": self.slack_signing_secret,
        }.get(provider)
        value = secret.get_secret_value() if secret is not None else ""
        return value or None

    @property
    def shopify_admin_token_value(self) -> str | None:
        """The Admin API token; None when unset or empty."""
        value = self.shopify_admin_token.get_secret_value() if self.shopify_admin_token is not None else ""
        return value or None

    @property
    def shopify_admin_configured(self) -> bool:
        """True when the fulfillment-order look-up can run: a shop (domain or API URL) and a token."""
        return bool(self.shopify_shop_domain or self.shopify_api_url) and self.shopify_admin_token_value is not None

    @property
    def adapter_options(self) -> AdapterOptions:
        return AdapterOptions(zendesk_order_number_fields=tuple(self.zendesk_order_number_fields))

    @property
    def enabled_providers(self) -> tuple[Provider, ...]:
        return tuple(p for p in PROVIDERS if self.secret_for(p) is not None)
