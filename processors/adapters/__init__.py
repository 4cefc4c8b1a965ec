"""Adapters from provider payloads (Shopify, EasyPost, AfterShip, Zendesk, Slack) to canonical events.

:func:`adapt` is the one entry point the webhook ingest calls; the mapping tables are in docs/adapters.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from wismo.processors.adapters._fields import MissingField
from wismo.processors.adapters.aftership import adapt_aftership
from wismo.processors.adapters.base import Adapted, AdapterOptions, Lookups, Provider, Rejected
from wismo.processors.adapters.easypost import adapt_easypost
from wismo.processors.adapters.shopify import adapt_shopify
from wismo.processors.adapters.slack import adapt_slack
from wismo.processors.adapters.zendesk import adapt_zendesk

DEFAULT_OPTIONS = AdapterOptions()

AdapterFn = Callable[[Mapping[str, str], Any, Lookups, AdapterOptions], Adapted]

ADAPTERS: dict[Provider, AdapterFn] = {
    "shopify": adapt_shopify,
    "easypost": adapt_easypost,
    "aftership": adapt_aftership,
    "zendesk": adapt_zendesk,
    "slack": adapt_slack,
}


def adapt(
    provider: Provider,
    headers: Mapping[str, str],
    body: Any,
    lookups: Lookups,
    options: AdapterOptions = DEFAULT_OPTIONS,
) -> Adapted:
    """Map one provider delivery to canonical events. Pure; never raises.

    ``headers`` have lower-case names; ``body`` is the parsed JSON (Slack: the parsed ``payload`` form field).
    A missing or mistyped field anywhere becomes ``Rejected("missing_field", ...)`` naming the field; an
    unknown provider becomes ``Rejected("unknown_topic", ...)``. ``options``: per-installation settings
    (:class:`AdapterOptions`); the defaults read only what payloads say.
    """
    adapter = ADAPTERS.get(provider)
    if adapter is None:
        return Adapted(rejected=[Rejected("unknown_topic", f"no adapter for provider {provider!r}")])
    try:
        return adapter(headers, body, lookups, options)
    except MissingField as exc:
        return Adapted(rejected=[Rejected("missing_field", f"{provider}: {exc}")])
    except Exception as exc:  # contract: bad input never raises; name what broke
        return Adapted(rejected=[Rejected("missing_field", f"{provider}: unexpected payload shape ({exc!r})")])
