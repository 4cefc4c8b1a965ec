"""The webhook ingest: an aiohttp application with one endpoint per provider, ``POST /webhooks/<provider>``
(``shopify``, ``easypost``, ``aftership``, ``zendesk``, ``slack``), ``GET /health`` and ``GET /metrics`` (every
delivery counted by provider and outcome: :mod:`wismo.streams.ingest_metrics`; the counters belong to the app).

One delivery, in order; every refusal happens before anything is published or written:

==========================================================  =====================================================
step                                                        answer when it fails
==========================================================  =====================================================
provider known and its signing secret configured            404 (a provider without a secret is disabled)
body read, at most ``ingest_max_body_bytes``                413 (while reading, before any parse)
signature on the raw body (:mod:`wismo.processors.signatures`)  401
JSON object (Slack: the ``payload`` form field)             400
tracking links read from Redis, adapter called              503 when Redis is unreachable
Shopify hold webhook without an order id: the order of      503 when the Admin API cannot answer now (Shopify
its fulfillment order from Redis, else from the Shopify     retries); dead letter when it cannot be found or
Admin API (cached; :mod:`wismo.streams.shopify_admin`)      the look-up is not configured
delivery claimed (:mod:`wismo.streams.ingest_dedupe`)       duplicate already done: 202 (Slack 200), nothing
                                                            published; still claimed by another request: 503
                                                            with ``Retry-After``
events to the input topics, rejections to ``wismo.dlq``,    503 and the claim released, so the provider's retry
broker acknowledgement awaited                              is accepted
==========================================================  =====================================================

Success is 202 with a small JSON summary; Slack gets 200 with an empty body (what it expects of an
interaction endpoint, within 3 s). A delivery the adapter ignores (valid, but nothing wismo uses) is 202 too.
A claimed-but-unfinished duplicate answers 503, not 409: every provider retries a 5xx, and by the retry the
first request has either finished (the retry gets 202) or released its claim (the retry publishes).

:func:`build_app` takes an optional producer and Redis client (the worker can mount the app and share its
own; they are then the caller's to start and stop); without them the app opens and closes its own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web
from aiokafka import AIOKafkaProducer
from prometheus_client import CONTENT_TYPE_LATEST
from redis.asyncio import Redis
from redis.exceptions import RedisError
from wismo.processors.adapters import adapt
from wismo.processors.adapters.base import PROVIDERS, Adapted, Provider, Rejected
from wismo.processors.signatures import verify
from wismo.streams.ingest_body import BodyTooLarge, Parsed, parse_body, read_limited
from wismo.streams.ingest_dedupe import Claim, DeliveryLedger, delivery_id
from wismo.streams.ingest_lookups import (
    fulfillment_order_to_resolve,
    load_lookups,
    resolve_fulfillment_order,
    tracking_numbers,
)
from wismo.streams.ingest_metrics import IngestMetrics, WebhookOutcome
from wismo.streams.ingest_publish import outgoing, publish
from wismo.streams.shopify_admin import ShopifyAdmin, Unavailable, Unresolvable

from wismo.ingest_settings import IngestSettings
from wismo.state_keys import INGEST_CLAIM_SECONDS, Keys

log = logging.getLogger("wismo.ingest")

WEBHOOK_ROUTE = "/webhooks/{provider}"
HEALTH_ROUTE = "/health"
METRICS_ROUTE = "/metrics"

Answer = tuple[web.Response, WebhookOutcome]
"""The response to one delivery and the outcome it is counted as (:mod:`wismo.streams.ingest_metrics`)."""


@dataclass
class _Ingest:
    settings: IngestSettings
    keys: Keys
    clock: Callable[[], float]
    metrics: IngestMetrics
    producer: AIOKafkaProducer | None = None
    redis: Redis | None = None
    ledger: DeliveryLedger | None = None
    shopify: ShopifyAdmin | None = None
    owns_producer: bool = False
    owns_redis: bool = False


_STATE = web.AppKey("wismo_ingest", _Ingest)


def _json(code: int, /, **fields: Any) -> web.Response:
    return web.json_response(fields, status=code)


def _accepted(provider: Provider, /, **fields: Any) -> web.Response:
    if provider == "slack":
        return web.Response(status=200)
    return _json(202, **fields)


def _provider(name: str, state: _Ingest) -> tuple[Provider, str] | None:
    for provider in PROVIDERS:
        if provider == name:
            secret = state.settings.secret_for(provider)
            return None if secret is None else (provider, secret)
    return None


async def _handle(request: web.Request) -> web.Response:
    """One delivery, counted once by provider and outcome (an unexpected exception counts as ``error``)."""
    state = request.app[_STATE]
    name = request.match_info["provider"]
    try:
        response, outcome = await _receive(request, state, name)
    except Exception:
        state.metrics.count(name, "error")
        raise
    state.metrics.count(name, outcome)
    return response


async def _receive(request: web.Request, state: _Ingest, name: str) -> Answer:
    found = _provider(name, state)
    if found is None:
        error = f"no webhook endpoint for {name!r} (unknown provider, or no signing secret set)"
        return _json(404, error=error), "not_found"
    provider, secret = found
    try:
        raw = await read_limited(request, state.settings.ingest_max_body_bytes)
    except BodyTooLarge as exc:
        log.warning("%s webhook refused: %s", provider, exc)
        return _json(413, error=str(exc)), "too_large"
    headers = {k.lower(): v for k, v in request.headers.items()}
    verdict = verify(provider, secret, raw, headers, now=state.clock())
    if not verdict.ok:
        log.warning("%s webhook refused: bad signature: %s", provider, verdict.reason)
        return _json(401, error=f"signature check failed: {verdict.reason}"), "bad_signature"
    parsed = parse_body(provider, raw)
    if not isinstance(parsed, Parsed):
        log.warning("%s webhook refused: %s", provider, parsed)
        return _json(400, error=parsed), "bad_json"
    return await _ingest(state, provider, headers, parsed)


async def _adapted(state: _Ingest, provider: Provider, headers: dict[str, str], parsed: Parsed) -> Adapted | Answer:
    """What the adapter makes of the delivery, after the look-ups it needs; or the 503 answer when one cannot be
    made now. A Shopify fulfillment order whose order cannot be found is rejected without calling the adapter."""
    assert state.redis is not None
    fo_id = fulfillment_order_to_resolve(provider, headers, parsed.body)
    try:
        lookups = await load_lookups(
            state.redis, state.keys, tracking_numbers(provider, parsed.body), [fo_id] if fo_id else []
        )
    except (RedisError, OSError) as exc:
        log.error("%s webhook: Redis unavailable for the lookups: %s", provider, exc)
        return _json(503, error="state store unavailable; retry later"), "unavailable"
    if fo_id is not None and lookups.order_for_fulfillment_order(fo_id) is None:
        found = await resolve_fulfillment_order(state.redis, state.keys, state.shopify, fo_id)
        if isinstance(found, Unavailable):
            log.error("%s webhook: order of fulfillment order %s not found now: %s", provider, fo_id, found.reason)
            error = f"cannot find the order of fulfillment order {fo_id} now ({found.reason}); retry later"
            return _json(503, error=error), "unavailable"
        if isinstance(found, Unresolvable):
            return Adapted(rejected=[Rejected("missing_field", found.reason)])
        lookups = replace(lookups, fulfillment_orders={fo_id: found.order_id})
    return adapt(provider, headers, parsed.body, lookups, state.settings.adapter_options)


async def _ingest(state: _Ingest, provider: Provider, headers: dict[str, str], parsed: Parsed) -> Answer:
    assert state.redis is not None and state.ledger is not None and state.producer is not None
    adapted = await _adapted(state, provider, headers, parsed)
    if not isinstance(adapted, Adapted):
        return adapted
    out = outgoing(provider, parsed.original, adapted.events, adapted.rejected)
    if not out:
        return _accepted(provider, status="ignored", reason=adapted.ignored or "nothing to publish"), "ignored"
    delivery = delivery_id(provider, headers, parsed.body, adapted)
    if delivery is not None:
        try:
            claim = await state.ledger.claim(provider, delivery)
        except (RedisError, OSError) as exc:
            log.error("%s webhook %s: Redis unavailable for the delivery claim: %s", provider, delivery, exc)
            return _json(503, error="state store unavailable; retry later"), "unavailable"
        if claim is Claim.DONE:
            return _accepted(provider, status="duplicate", delivery_id=delivery), "duplicate"
        if claim is Claim.IN_FLIGHT:
            response = _json(503, error=f"delivery {delivery} is being processed by another request; retry later")
            response.headers["Retry-After"] = str(int(INGEST_CLAIM_SECONDS))
            return response, "unavailable"
    try:
        await publish(
            state.producer,
            out,
            topic_prefix=state.settings.topic_prefix,
            timeout=state.settings.ingest_publish_timeout_seconds,
        )
    except Exception as exc:  # any broker failure or timeout: nothing is acknowledged to the provider
        log.error("%s webhook %s: publish failed, the provider will retry: %r", provider, delivery, exc)
        if delivery is not None:
            try:
                await state.ledger.release(provider, delivery)
            except (RedisError, OSError) as rexc:  # the claim then expires after INGEST_CLAIM_SECONDS
                log.error("%s webhook %s: could not release the claim: %s", provider, delivery, rexc)
        return _json(503, error="event bus unavailable; retry later"), "unavailable"
    if delivery is not None:
        try:
            await state.ledger.done(provider, delivery)
        except (RedisError, OSError) as exc:
            # Published and acknowledged: answer success. A retry after the claim expires republishes the same
            # deterministic ids, which the engine's dedupe absorbs.
            log.error("%s webhook %s: published, but could not mark it done: %s", provider, delivery, exc)
    for dl in out.dead_letters:
        log.warning("%s webhook dead-lettered: %s", provider, dl.reason)
    response = _accepted(
        provider, status="accepted", delivery_id=delivery, events=len(out.lines), dead_letters=len(out.dead_letters)
    )
    return response, "dead_lettered" if out.dead_letters else "accepted"


async def _health(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    return _json(200, status="ok", providers=list(state.settings.enabled_providers))


async def _metrics(request: web.Request) -> web.Response:
    body = request.app[_STATE].metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _start(app: web.Application) -> None:
    state = app[_STATE]
    s = state.settings
    if state.redis is None:
        state.redis = Redis.from_url(
            s.redis_url,
            socket_timeout=s.ingest_redis_timeout_seconds,
            socket_connect_timeout=s.ingest_redis_timeout_seconds,
        )
        state.owns_redis = True
    state.ledger = DeliveryLedger(state.redis, state.keys)
    state.shopify = ShopifyAdmin.from_settings(s)
    if state.producer is None:
        producer = AIOKafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all")
        await producer.start()
        state.producer = producer
        state.owns_producer = True


async def _stop(app: web.Application) -> None:
    state = app[_STATE]
    if state.owns_producer and state.producer is not None:
        await state.producer.stop()
    if state.owns_redis and state.redis is not None:
        await state.redis.aclose()
    if state.shopify is not None:
        await state.shopify.aclose()


def build_app(
    settings: IngestSettings | None = None,
    *,
    producer: AIOKafkaProducer | None = None,
    redis: Redis | None = None,
    clock: Callable[[], float] = time.time,
) -> web.Application:
    """The ingest application. ``producer`` (started, ``acks="all"``) and ``redis`` (bytes responses) are
    optional; when given, the caller starts and closes them. ``clock`` gives epoch seconds (Slack's replay
    window)."""
    settings = settings or IngestSettings()
    app = web.Application(client_max_size=settings.ingest_max_body_bytes)
    app[_STATE] = _Ingest(
        settings=settings,
        keys=Keys(settings.key_prefix),
        clock=clock,
        metrics=IngestMetrics(settings.enabled_providers),
        producer=producer,
        redis=redis,
    )
    app.router.add_post(WEBHOOK_ROUTE, _handle)
    app.router.add_get(HEALTH_ROUTE, _health)
    app.router.add_get(METRICS_ROUTE, _metrics)
    app.on_startup.append(_start)
    app.on_cleanup.append(_stop)
    return app
