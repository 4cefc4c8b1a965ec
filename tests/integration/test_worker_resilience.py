"""Resilience of ``wismo worker`` processes through a real broker and Redis: crashes (``kill -9`` at every point of
the batch protocol and at an arbitrary moment), a rebalance (one of two workers stopped), a Redis restart and a
worker restart before a follow-up falls due. After each, every output record id appears exactly once on the output
topics and the ids are those of ``wismo replay`` of the same events.

The input (see :mod:`worker_harness`): ``bench/replay_bench.py``'s event mix, every line published in file order to
ONE input topic keyed by order id (a sweep to every partition), without order-less tickets, with a clock anchor per
partition before each sweep and at the end (a partition's follow-ups fall due against its own event time; the
anchors make that the replay's clock where it matters) and, for the crash tests, a dead letter after every tenth
line (so that crashed batches hold some). Workers run with ``WISMO_CLOCK=event`` in live mode. Each test has its own
topic prefix, consumer group and Redis key prefix, and kills its worker processes in a ``finally``.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import orjson
import pytest
from conftest import RedisServer
from redis import Redis
from wismo.streams.partition_batch import partition_for
from worker_harness import (
    SCENARIOS,
    Deployment,
    assert_exactly_once,
    event_line,
    generated_lines,
    output_ids,
    replay_outputs,
)

from wismo.state_keys import Keys

FAULT_POINTS = ("after_run", "after_write", "mid_publish", "after_publish", "after_clear")
FAST = {"WISMO_BATCH_MAX_RECORDS": "15", "WISMO_MONITOR_INTERVAL_SECONDS": "0.2"}
MIN_RECORDS = {"wismo.decisions": 300, "wismo.replies": 10, "wismo.escalations": 5, "wismo.dlq": 5}
RECOVERED = re.compile(r"recovering an outbox of (\d+) records \((\d+) already published\)")
RETRYING = re.compile(r"redis unavailable during [a-z ]+ \(.*?\); retrying in (\d+\.\d+)s")


@pytest.fixture
def deployment(
    kafka_bootstrap: str, redis_url: str, unique_name: Callable[[str], str], tmp_path: Path
) -> Iterator[Deployment]:
    dep = Deployment(kafka_bootstrap, redis_url, unique_name("res") + ".", tmp_path, settings=dict(FAST))
    dep.create_topics()
    try:
        yield dep
    finally:
        dep.close()


# ---- 1. crash ---------------------------------------------------------------------------------------------------


def test_kill_9_at_every_point_of_a_batch_loses_and_duplicates_nothing(deployment: Deployment, tmp_path: Path):
    dep = deployment
    lines = generated_lines(orders=50, seed=3, bad_every=10)
    expected = output_ids(replay_outputs(lines, tmp_path))
    dep.publish(lines)
    total = dep.input_total()

    # Each worker kills itself (SIGKILL) at one point of its n-th batch; the next one starts on what it left.
    for i, point in enumerate(FAULT_POINTS):
        w = dep.start_worker(WISMO_FAULT=f"{point}:{2 + i % 2}")
        assert w.wait_exit(90) == -signal.SIGKILL, w.log_tail()
        assert f"SIGKILL at {point}" in w.log_text(), w.log_tail()
    # ... and one is killed from outside as soon as it has committed a batch, in the middle of the backlog.
    w = dep.start_worker()
    before = dep.committed()
    dep.wait_until("a committed batch", lambda: dep.committed() > before or not w.alive(), 90, poll=0.01)
    w.kill9()
    assert w.proc.returncode == -signal.SIGKILL, w.log_tail()
    at_kill = dep.committed()
    assert before < at_kill < total, (before, at_kill, total)

    final = dep.start_worker()
    dep.settle(alive=[final], timeout=120)
    assert_exactly_once(output_ids(dep.outputs()), expected, min_records=MIN_RECORDS)

    # The outboxes were recovered: one written but not published (after_write), one half published (mid_publish),
    # one fully published (after_publish), each by the next worker.
    recovered = [(int(n), int(done)) for w in dep.workers for n, done in RECOVERED.findall(w.log_text())]
    assert any(n > 0 and done == 0 for n, done in recovered), recovered
    assert any(0 < done < n for n, done in recovered), recovered
    assert any(n > 0 and done == n for n, done in recovered), recovered


def test_no_batch_runs_while_a_crashed_workers_outbox_is_recovered(
    deployment: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """aiokafka starts fetching newly assigned partitions before ``on_partitions_assigned`` (the outbox recovery)
    returns. A batch run meanwhile can write a partition's outbox between the recovery's read and its delete (the
    batch's records are lost if the worker then dies before publishing them), or before the read (the recovery
    publishes them too). Here the recovery of each non-empty outbox is held for a moment after its read: no batch
    may run in that moment."""
    dep = deployment
    lines = generated_lines(orders=20, seed=13, bad_every=10)
    expected = output_ids(replay_outputs(lines, tmp_path))
    dep.publish(lines)
    crashed = dep.start_worker(WISMO_FAULT="after_write:1")
    assert crashed.wait_exit(90) == -signal.SIGKILL, crashed.log_tail()
    assert _outboxes(dep), "the crash left no outbox to recover"

    inproc = dep.in_process_worker()
    worker = inproc.worker
    read_outbox = worker.state.outbox
    batches_during_recovery: list[int] = []

    async def held_outbox(partition: int) -> tuple[dict[str, bytes], int | None]:
        records, since = await read_outbox(partition)
        if records:
            before, deadline = worker.stats.batches, time.monotonic() + 1.5
            while worker.stats.batches == before and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            batches_during_recovery.append(worker.stats.batches - before)
        return records, since

    monkeypatch.setattr(worker.state, "outbox", held_outbox)
    try:
        inproc.start()
        dep.settle(timeout=90)
    finally:
        inproc.close()
    assert batches_during_recovery and not any(batches_during_recovery), batches_during_recovery
    assert_exactly_once(output_ids(dep.outputs()), expected, min_records={"wismo.decisions": 100})


def _outboxes(dep: Deployment) -> list[int]:
    keys = Keys(f"{dep.prefix}wismo")
    client = Redis.from_url(dep.redis_url)
    try:
        return [p for p in range(4) if client.exists(keys.outbox(p))]
    finally:
        client.close()


# ---- 2. rebalance -----------------------------------------------------------------------------------------------


def test_a_worker_stopped_mid_stream_hands_over_without_loss_or_duplicates(deployment: Deployment, tmp_path: Path):
    dep = deployment
    lines = generated_lines(orders=40, seed=5)
    expected = output_ids(replay_outputs(lines, tmp_path))
    chunks = [lines[i : i + 40] for i in range(0, len(lines), 40)]
    a = dep.start_worker(web=True)
    b = dep.start_worker(web=True)
    # Feed chunk by chunk until both workers have consumed something (both own partitions) ...
    while not (a.messages() and b.messages()):
        assert len(chunks) > 4, f"one worker never got a partition: a={a.health()} b={b.health()}\n{dep.logs()}"
        dep.publish(chunks.pop(0))
        dep.settle(alive=[a, b])
    # ... then stop one (SIGTERM) while it works through a backlog; the other takes its partitions over. A graceful
    # stop finishes the batch in flight, so there is no outbox left to recover.
    seen_by_b = b.messages()
    dep.publish(chunks.pop(0) + chunks.pop(0))
    dep.wait_until("b consumes the backlog", lambda: b.messages() > seen_by_b, 30, poll=0.01)
    assert b.terminate() == 0, b.log_tail()
    for chunk in chunks:
        dep.publish(chunk)
    dep.settle(alive=[a], timeout=120)
    assert_exactly_once(output_ids(dep.outputs()), expected, min_records=MIN_RECORDS)
    assert b.alive() is False and a.alive()
    assert "recovering an outbox" not in a.log_text(), a.log_tail()


# ---- 3. Redis restart -------------------------------------------------------------------------------------------


def test_redis_restart_mid_stream_pauses_and_resumes(deployment: Deployment, redis_server: RedisServer, tmp_path: Path):
    dep = deployment
    lines = generated_lines(orders=40, seed=9)
    expected = output_ids(replay_outputs(lines, tmp_path))
    half = len(lines) // 2
    w = dep.start_worker()
    try:
        dep.publish(lines[:half])
        dep.wait_until("a committed batch", lambda: dep.committed() > 0, 90, poll=0.01)
        redis_server.stop()
        dep.publish(lines[half:])  # a backlog arrives while Redis is down
        # The worker retries with back-off (0.05 s, doubling) and neither exits nor commits meanwhile.
        dep.wait_until("a retry", lambda: RETRYING.search(w.log_text()) is not None, 60)
        stalled = dep.committed()
        dep.wait_until("four retries", lambda: len(RETRYING.findall(w.log_text())) >= 4, 60)
        assert w.alive(), w.log_tail()
        assert dep.committed() == stalled < dep.input_total()
    finally:
        redis_server.start()
    dep.settle(alive=[w], timeout=120)
    assert w.alive(), w.log_tail()
    delays = [float(d) for d in RETRYING.findall(w.log_text())]
    assert max(delays) >= 4 * min(delays), delays
    assert_exactly_once(output_ids(dep.outputs()), expected, min_records=MIN_RECORDS)


# ---- 4. follow-ups after a worker restart -----------------------------------------------------------------------

FOLLOW_UP_SCENARIO = SCENARIOS / "proactive_follow_up_due_no_change.ndjson"
FOLLOW_UP_ORDER = "A29160"
FOLLOW_UP_DUE = "2026-11-05T16:00:00+00:00"
"""A delivery attempt failed on 4 Nov (11:00 -05:00): the customer is promised an update by 5 Nov, 16:00 UTC."""


def test_a_follow_up_fires_once_on_time_after_a_worker_restart(deployment: Deployment, tmp_path: Path):
    dep = deployment
    raw = [line.strip() for line in FOLLOW_UP_SCENARIO.read_bytes().splitlines() if line.strip()]
    before_due = [line for line in raw if orjson.loads(line)["occurred_at"] < "2026-11-05"]
    assert len(before_due) == 5 and all(orjson.loads(x)["order_id"] == FOLLOW_UP_ORDER for x in before_due)
    # Time passes the due time through another order of the same partition (a partition's follow-ups fall due
    # against its own event time): after the restart, no event of A29160 at all.
    other = next(f"B{n}" for n in range(100) if partition_for(f"B{n}", 4) == partition_for(FOLLOW_UP_ORDER, 4))
    later = event_line(
        event_id=f"oms-{other}-1",
        source="oms",
        type="order.placed",
        order_id=other,
        occurred_at="2026-11-05T17:00:00Z",
        payload={
            "order_number": other,
            "customer": {"id": "cus_other", "email": "other@example.com", "name": "Other"},
            "items": [{"sku": "SKU-1", "title": "Item", "qty": 1, "unit_price": 20.0}],
            "order_value": 20.0,
            "currency": "USD",
        },
    )
    expected = replay_outputs([*before_due, later], tmp_path)
    follow_up_id = f"followup:WC-{FOLLOW_UP_ORDER}-1:{FOLLOW_UP_DUE}"
    [want] = [d for d in expected["wismo.decisions"] if d["caused_by"] == follow_up_id]

    first = dep.start_worker()
    dep.publish(before_due)
    dep.settle(alive=[first])
    assert not _decisions_caused_by(dep, follow_up_id), "fired before it was due"
    member = _due_member(dep, FOLLOW_UP_ORDER)
    assert member is not None and member[1] == _epoch(FOLLOW_UP_DUE), member  # the commitment is in Redis
    first.kill9()

    second = dep.start_worker()
    dep.publish([later])
    dep.settle(alive=[second])
    got = _decisions_caused_by(dep, follow_up_id)
    assert [d["decision_id"] for d in got] == [want["decision_id"]], got
    assert got[0]["trigger"] == "follow_up_due" and got[0]["evaluated_at"] == "2026-11-05T16:00:00Z"
    # And everything else is the file replay's, once.
    assert_exactly_once(output_ids(dep.outputs()), output_ids(expected), min_records={"wismo.decisions": 7})
    assert _due_member(dep, FOLLOW_UP_ORDER) != member


def _decisions_caused_by(dep: Deployment, caused_by: str) -> list[dict[str, Any]]:
    return [d for d in dep.outputs()["wismo.decisions"] if d["caused_by"] == caused_by]


def _due_member(dep: Deployment, order_id: str) -> tuple[str, float] | None:
    keys = Keys(f"{dep.prefix}wismo")
    client = Redis.from_url(dep.redis_url)
    try:
        p = partition_for(order_id, 4)
        members = cast(list[tuple[bytes, float]], client.zrange(keys.follow_ups(p), 0, -1, withscores=True))
        for member, score in members:
            text = member.decode()
            if text.startswith(order_id + "\x1f"):
                return text, float(score)
        return None
    finally:
        client.close()


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()
