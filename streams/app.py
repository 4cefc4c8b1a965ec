"""The faust application around the worker: process, timers and web; the hot path is :mod:`.worker`.

``wismo worker`` runs :func:`create_app` under faust's worker. faust provides the process lifecycle
(signals, graceful shutdown, logging), the web server (``/health``, and ``/metrics`` for Prometheus: see
:mod:`.metrics`) and timers; the consumer loop is a faust ``Service`` that drives :class:`~wismo.streams.worker.Worker`
(aiokafka, batches) because faust's per-event stream machinery is slower than the whole pipeline (see the
worker module). faust's own consumer reads only its assignor topic, in a separate group (``<group>-app``).

Timers (not durable by themselves; durable state is in Redis, so a missed timer pass loses nothing):

* follow-up monitor, every ``monitor_interval_seconds``: reaps expired leases, claims due follow-ups and
  publishes them as ``clock.tick`` events (deterministic ids: a double fire is absorbed by dedupe);
* run-time controls, every ``control_interval_seconds``: kill switch and demotions from Redis, and automatic
  demotion (:mod:`.controls`);
* sweep, every ``sweep_interval_seconds`` (default 900 s with the wall clock): a ``clock.tick`` without an
  order to every partition of the clock topic, id ``sweep:<slot>``, the same from every worker, so N workers
  sweep once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

import faust
import orjson
from mode import Service
from prometheus_client import CONTENT_TYPE_LATEST
from wismo.streams.followup_monitor import FollowUpMonitor
from wismo.streams.worker import CLOCK_TOPIC, Worker

from wismo.policy import Policy
from wismo.settings import WorkerSettings

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 30.0
"""How long a stopping worker waits for its batch in flight (a batch takes well under a second)."""


def create_app(settings: WorkerSettings, policy: Policy) -> faust.App:
    """A faust app running one :class:`Worker` with its monitor and sweep timers."""
    brokers = ";".join(f"kafka://{b.strip()}" for b in settings.kafka_bootstrap.split(","))
    app = faust.App(
        f"{settings.group_id}-app",
        broker=brokers,
        store="memory://",
        web_enabled=settings.web_port > 0,
        web_host=settings.web_host,
        web_port=settings.web_port or 6066,
        web_in_thread=False,
        broker_session_timeout=settings.session_timeout_ms / 1000,
        broker_heartbeat_interval=settings.heartbeat_interval_ms / 1000,
        datadir=tempfile.mkdtemp(prefix="wismo-faust-"),
    )
    worker = Worker(settings, policy)
    app.wismo_worker = worker  # type: ignore[attr-defined]

    class ConsumerService(Service):
        """Runs the batch consumer; stopping the faust worker stops it after the current batch."""

        async def on_start(self) -> None:
            await worker.start()

        async def on_stop(self) -> None:
            # Let the batch in flight finish (published, outbox cleared, offsets committed) before faust
            # cancels the task: a stop then leaves nothing for the next owner to recover.
            await worker.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(worker.finished.wait(), STOP_GRACE_SECONDS)

        @Service.task
        async def _consume(self) -> None:
            await worker.run()

    app.service(ConsumerService)

    monitor: FollowUpMonitor | None = None  # built once the worker's producer has started

    @app.timer(settings.monitor_interval_seconds)  # type: ignore[untyped-decorator]
    async def follow_up_monitor() -> None:
        nonlocal monitor
        if worker.producer is None or not worker.partitions:
            return
        if monitor is None:
            monitor = FollowUpMonitor(worker.redis, worker.keys, worker.producer, worker.topic(CLOCK_TOPIC))
        try:
            await monitor.run_once(worker.partitions, await worker.clock_now(worker.partitions))
        except Exception:  # Redis or Kafka down: the next pass retries; claims stay leased
            log.warning("follow-up monitor pass failed", exc_info=True)

    @app.timer(settings.control_interval_seconds)  # type: ignore[untyped-decorator]
    async def controls() -> None:
        await worker.controls.tick()

    if settings.sweep_every > 0:
        interval = settings.sweep_every

        @app.timer(interval)  # type: ignore[untyped-decorator]
        async def sweep() -> None:
            if worker.producer is None or not worker.partitions:
                return
            slot = datetime.fromtimestamp(int(time.time() // interval * interval), UTC)
            tick = orjson.dumps(
                {
                    "event_id": f"sweep:{slot.isoformat()}",
                    "source": "clock",
                    "type": "clock.tick",
                    "order_id": None,
                    "occurred_at": slot.isoformat(),
                    "payload": {},
                }
            )
            topic = worker.topic(CLOCK_TOPIC)
            for p in range(worker.partitions):
                await worker.producer.send(topic, tick, partition=p)

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        return web.bytes(worker.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        s = worker.stats
        return web.json(
            {
                "ok": True,
                "partitions": worker.partitions,
                "batches": s.batches,
                "messages": s.messages,
                "outputs": s.outputs,
                "redis_failures": s.redis_failures,
            }
        )

    return app
