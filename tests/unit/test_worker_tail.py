"""The worker finishes a batch (publish, outbox clear, commit) while the next one is read and computed. What
that tail does when it fails: the next batch must not write over it, and the worker must stop, as it did when
it published inline (the outbox stays in Redis for the partition's next owner)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from wismo.streams.worker import Worker, _TailFailed

from wismo.policy import load_policy
from wismo.settings import WorkerSettings


async def _failing() -> None:
    raise ConnectionError("broker gone")


async def _ok(done: list[str]) -> None:
    await asyncio.sleep(0)
    done.append("committed")


def _worker() -> Worker:
    # Nothing is started: no connection is made by the constructor.
    return Worker(WorkerSettings(redis_url="redis://127.0.0.1:1/0"), load_policy())


def test_the_next_write_waits_for_the_previous_batch_to_finish() -> None:
    async def run() -> list[str]:
        w = _worker()
        done: list[str] = []
        w._tail = asyncio.ensure_future(_ok(done))
        await w._await_tail()
        done.append("next write")
        return done

    assert asyncio.run(run()) == ["committed", "next write"]


def test_a_failed_tail_stops_the_next_batch_instead_of_being_dead_lettered() -> None:
    async def run() -> None:
        w = _worker()
        w._tail = asyncio.ensure_future(_failing())
        await asyncio.sleep(0)
        await w._await_tail()

    with pytest.raises(_TailFailed, match="broker gone"):
        asyncio.run(run())


def test_a_revocation_or_close_logs_a_failed_tail_and_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    async def run() -> None:
        w = _worker()
        w._tail = asyncio.ensure_future(_failing())
        await w.settle_tail()
        assert w._tail is None

    with caplog.at_level(logging.ERROR):
        asyncio.run(run())
    assert "outbox stays for the partition's next owner" in caplog.text
