"""The web endpoint of ``wismo deliver``: ``GET /metrics`` (Prometheus, :mod:`wismo.streams.deliver_metrics`) and
``GET /health``, on ``delivery_web_host:delivery_web_port``.

``/health`` answers 200 while the delivery loop runs and 503 before it started or once it stopped, with the
targets and topics of the process. :func:`start_web` raises :class:`WebPortUnavailable` when the port cannot be
opened, so a port clash stops the process at start-up instead of leaving it unscraped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from wismo.streams.deliver_metrics import DeliveryMetrics

if TYPE_CHECKING:
    from wismo.streams.deliver import DeliveryWorker

METRICS_ROUTE = "/metrics"
HEALTH_ROUTE = "/health"
SHUTDOWN_TIMEOUT_SECONDS = 5.0

_WORKER: web.AppKey[DeliveryWorker] = web.AppKey("wismo_deliver")
_METRICS = web.AppKey("wismo_deliver_metrics", DeliveryMetrics)


class WebPortUnavailable(Exception):
    """The ``/metrics`` port could not be opened (in use, or not allowed)."""


def build_app(worker: DeliveryWorker) -> web.Application:
    """The ``/metrics`` and ``/health`` application of ``worker`` (its stats are read at each scrape)."""
    app = web.Application()
    app[_WORKER] = worker
    app[_METRICS] = DeliveryMetrics(worker.stats, worker.sinks)
    app.router.add_get(METRICS_ROUTE, _metrics)
    app.router.add_get(HEALTH_ROUTE, _health)
    return app


async def _metrics(request: web.Request) -> web.Response:
    body = request.app[_METRICS].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _health(request: web.Request) -> web.Response:
    worker = request.app[_WORKER]
    if worker.finished.is_set():
        status = "stopped"
    elif worker.consumer is None:
        status = "starting"
    else:
        status = "ok"
    body = {"status": status, "targets": sorted(worker.sinks), "topics": worker.topics}
    return web.json_response(body, status=200 if status == "ok" else 503)


async def start_web(worker: DeliveryWorker, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Serve ``worker``'s ``/metrics`` and ``/health``; returns the runner (``cleanup()`` it) and the bound port."""
    runner = web.AppRunner(build_app(worker), handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise WebPortUnavailable(f"cannot serve /metrics on {host}:{port}: {exc.strerror or exc}") from exc
    return runner, int(runner.addresses[0][1])
