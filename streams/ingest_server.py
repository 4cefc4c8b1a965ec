"""Serving the webhook ingest standalone (``wismo ingest``) until SIGTERM or SIGINT.

Start-up fails (raises) when the broker cannot be reached, so a misconfigured deployment stops at once
instead of refusing every delivery. On a signal the listener closes first, requests in progress finish (up
to ``shutdown_timeout`` seconds), then the producer and Redis are closed.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from aiohttp import web
from wismo.streams.ingest import build_app

from wismo.ingest_settings import IngestSettings

SHUTDOWN_TIMEOUT_SECONDS = 15.0


async def serve(
    settings: IngestSettings,
    *,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[str, int], None] | None = None,
) -> None:
    """Run the ingest until ``stop`` is set or the process gets SIGTERM/SIGINT. ``on_ready(host, port)`` is
    called once the port is open (the real port when ``ingest_port`` is 0)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(build_app(settings), handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS)
    try:
        await runner.setup()
        site = web.TCPSite(runner, settings.ingest_host, settings.ingest_port)
        await site.start()
        if on_ready is not None:
            host, port = runner.addresses[0][:2]
            on_ready(str(host), int(port))
        await stop.wait()
    finally:
        await runner.cleanup()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
