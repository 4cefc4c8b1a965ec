"""Live look-ups: ask a configured OMS or carrier REST endpoint for an order's events when its context lacks
them (policy ``lookups``; :class:`wismo.policy.LiveLookups` documents the endpoint contract).

Each call has the policy's timeout and goes through a per-system circuit breaker
(:data:`~wismo.state_keys.LOOKUP_BREAKER_FAILURES`, :data:`~wismo.state_keys.LOOKUP_BREAKER_OPEN_SECONDS`). A
call never raises: it returns the events (canonical JSON, validated, all about the asked order) or a failure
sentence naming the system, which the pipeline routes to ``missing_order_data``. Returned events carry the
source's own ``event_id``s, so asking twice is absorbed by dedupe.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import httpx
import orjson
from pydantic import ValidationError

from wismo.circuit_breaker import CircuitBreaker
from wismo.events import parse_event_obj
from wismo.policy import LiveLookups, LookupSource
from wismo.state_keys import LOOKUP_BREAKER_FAILURES, LOOKUP_BREAKER_OPEN_SECONDS

System = Literal["oms", "carrier"]
SYSTEM_NAMES: dict[System, str] = {"oms": "order management system", "carrier": "carrier tracking system"}


@dataclass(frozen=True, slots=True)
class LookupRequest:
    system: System
    order_id: str
    shipment_id: str = ""
    carrier: str = ""
    tracking_number: str = ""

    def url(self, source: LookupSource) -> str:
        return source.url.format(
            order_id=quote(self.order_id, safe=""),
            shipment_id=quote(self.shipment_id, safe=""),
            carrier=quote(self.carrier, safe=""),
            tracking_number=quote(self.tracking_number, safe=""),
        )


@dataclass(frozen=True, slots=True)
class LookupResult:
    request: LookupRequest
    events: list[bytes] = field(default_factory=list)
    """canonical events as JSON lines, in the order the system returned them"""
    failure: str | None = None
    """e.g. ``"order management system (live look-up failed: timed out after 2 s)"``"""


class LiveLookupClient:
    """Look-ups for one worker. Safe to call concurrently; one breaker per system."""

    def __init__(
        self,
        lookups: LiveLookups,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lookups = lookups
        self.client = client or httpx.AsyncClient()
        self.clock = clock
        self.breakers: dict[System, CircuitBreaker] = {
            s: CircuitBreaker(LOOKUP_BREAKER_FAILURES, LOOKUP_BREAKER_OPEN_SECONDS) for s in SYSTEM_NAMES
        }
        self.calls: Counter[str] = Counter()
        self.tool_failures: Counter[str] = Counter()
        """failed look-ups by system (timeouts, errors, bad answers, open circuit)"""

    def source(self, system: System) -> LookupSource | None:
        src: LookupSource | None = getattr(self.lookups, system)
        return src

    async def aclose(self) -> None:
        await self.client.aclose()

    async def fetch_all(self, requests: Sequence[LookupRequest]) -> list[LookupResult]:
        return list(await asyncio.gather(*(self.fetch(r) for r in requests)))

    async def fetch(self, req: LookupRequest) -> LookupResult:
        src = self.source(req.system)
        if src is None:
            return LookupResult(req)
        breaker = self.breakers[req.system]
        if not breaker.allow(self.clock()):
            return self._failed(req, "circuit open after repeated failures")
        self.calls[req.system] += 1
        try:
            resp = await self.client.get(req.url(src), headers=_headers(src), timeout=src.timeout_seconds)
        except httpx.TimeoutException:
            breaker.record(False, self.clock())
            return self._failed(req, f"timed out after {src.timeout_seconds:g} s")
        except httpx.HTTPError as exc:
            breaker.record(False, self.clock())
            return self._failed(req, f"{type(exc).__name__}")
        if resp.status_code == 404:
            breaker.record(True, self.clock())
            return LookupResult(req)  # the system answered: it does not know the order
        if resp.status_code != 200:
            breaker.record(False, self.clock())
            return self._failed(req, f"HTTP {resp.status_code}")
        events, problem = _events(resp.content, req.order_id)
        breaker.record(problem is None, self.clock())
        if problem is not None:
            return self._failed(req, problem)
        return LookupResult(req, events)

    def _failed(self, req: LookupRequest, why: str) -> LookupResult:
        self.tool_failures[req.system] += 1
        return LookupResult(req, failure=f"{SYSTEM_NAMES[req.system]} (live look-up failed: {why})")


def _headers(src: LookupSource) -> dict[str, str]:
    return {name: os.environ.get(var, "") for name, var in src.headers_env.items()}


def _events(body: bytes, order_id: str) -> tuple[list[bytes], str | None]:
    """The answer's events as JSON lines, or a problem: not JSON, not a list, an invalid event, or an event
    about another order."""
    try:
        doc: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return [], "the answer is not JSON"
    items = doc.get("events") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        return [], "the answer is not a list of events"
    out = []
    for obj in items:
        try:
            event = parse_event_obj(obj)
        except ValidationError as exc:
            return [], f"invalid event in the answer ({exc.error_count()} problem(s))"
        if getattr(event, "order_id", None) != order_id:
            return [], f"the answer holds an event about another order ({event.event_id})"
        out.append(orjson.dumps(obj))
    return out, None
