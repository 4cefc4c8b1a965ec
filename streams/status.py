"""What ``wismo status`` reports, gathered from Redis and Kafka (read-only; nothing is written anywhere).

* modes: the policy's modes with the run-time controls (kill switch, demoted conditions) applied;
* open cases by condition: every case key in Redis is read and decoded (a SCAN in pages: seconds for a
  hundred thousand cases; the count of cases read is printed with it);
* follow-ups: scheduled, due now, overdue (due more than ``OVERDUE_GRACE_SECONDS`` ago: the monitor claims due
  ones every second, so an overdue one means no worker is firing them) and in flight, per partition summed;
* dead letters: records on the dead-letter topic; lag: the worker group's uncommitted messages per input topic.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from redis.asyncio import Redis
from wismo.streams.controls import read_controls
from wismo.streams.progress import topic_end_offsets
from wismo.streams.worker import INPUT_TOPICS

from wismo.conditions import PRECEDENCE
from wismo.policy import CHANNELS, Policy
from wismo.records import TOPIC_DLQ
from wismo.state_codec import StateDecodeError, decode_case
from wismo.state_keys import OVERDUE_GRACE_SECONDS, Keys

SCAN_PAGE = 500


@dataclass
class Status:
    kill_switch: bool = False
    demoted: dict[str, str] = field(default_factory=dict)
    modes: dict[str, str] = field(default_factory=dict)
    """channel -> default mode after controls (conditions with another mode are listed in ``exceptions``)"""
    exceptions: dict[str, dict[str, str]] = field(default_factory=dict)
    open_cases: Counter[str] = field(default_factory=Counter)
    cases_read: int = 0
    unreadable_cases: int = 0
    follow_ups: dict[str, int] = field(default_factory=dict)
    dead_letters: int | None = None
    lag: dict[str, int] | None = None
    kafka_error: str | None = None


async def gather_redis(status: Status, redis: Redis, keys: Keys, policy: Policy, partitions: int) -> None:
    kill, demoted = await read_controls(redis, keys)
    status.kill_switch = kill
    status.demoted = {c: str(info.get("reason", "")) for c, info in demoted.items()}
    effective = policy.with_controls(kill, frozenset(c for c in PRECEDENCE if c in demoted))
    for ch in CHANNELS:
        modes = {c: effective.mode_for(ch, c) for c in PRECEDENCE}
        default = Counter(modes.values()).most_common(1)[0][0]
        status.modes[ch] = default
        status.exceptions[ch] = {c: m for c, m in modes.items() if m != default}
    async for batch in _scan(redis, f"{keys.prefix}:case:*"):
        for raw in await redis.mget(batch):
            if not isinstance(raw, bytes):
                continue
            status.cases_read += 1
            try:
                case = decode_case(raw)
            except StateDecodeError:
                status.unreadable_cases += 1
                continue
            if case.is_open:
                status.open_cases[case.condition_type or "not evaluated"] += 1
    now = time.time()
    fu = Counter[str]()
    for p in range(partitions):
        fu["scheduled"] += await redis.zcard(keys.follow_ups(p))
        fu["due now"] += await redis.zcount(keys.follow_ups(p), "-inf", now)
        fu["overdue"] += await redis.zcount(keys.follow_ups(p), "-inf", now - OVERDUE_GRACE_SECONDS)
        fu["in flight"] += await redis.zcard(keys.follow_ups_inflight(p))
    status.follow_ups = dict(fu)


async def gather_kafka(status: Status, bootstrap: str, prefix: str, group: str) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await consumer.start()
    await admin.start()
    try:
        await consumer.topics()
        dlq = await topic_end_offsets(consumer, [prefix + TOPIC_DLQ], exact=True)
        status.dead_letters = sum(dlq.values())
        inputs = [prefix + t for t in INPUT_TOPICS]
        ends = await topic_end_offsets(consumer, inputs, exact=True)
        committed = await admin.list_consumer_group_offsets(group, partitions=list(ends)) if ends else {}
        lag: Counter[str] = Counter({t: 0 for t in inputs})
        for tp, end in ends.items():
            done = committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0
            lag[tp.topic] += max(0, end - done)
        status.lag = dict(lag)
    finally:
        await consumer.stop()
        await admin.close()


async def _scan(redis: Redis, pattern: str) -> AsyncIterator[list[bytes | str]]:
    cursor = 0
    while True:
        cursor, batch = await redis.scan(cursor, match=pattern, count=SCAN_PAGE)
        if batch:
            yield batch
        if cursor == 0:
            return


def render(status: Status, partitions: int) -> str:
    lines = [
        "modes" + ("   KILL SWITCH ON: every customer message is held as a draft note" if status.kill_switch else "")
    ]
    for ch, mode in status.modes.items():
        other = status.exceptions.get(ch) or {}
        extra = f"  (except {', '.join(f'{c}: {m}' for c, m in sorted(other.items()))})" if other else ""
        lines.append(f"  {ch:<10} {mode}{extra}")
    for cond, reason in sorted(status.demoted.items()):
        lines.append(f"  demoted: {cond}: {reason}")
    total = sum(status.open_cases.values())
    lines.append(f"open cases by condition ({total} open of {status.cases_read} cases in Redis)")
    for cond, n in status.open_cases.most_common():
        lines.append(f"  {cond:<26} {n}")
    if status.unreadable_cases:
        lines.append(f"  unreadable (another format version): {status.unreadable_cases}")
    lines.append(f"follow-ups ({partitions} partitions)")
    for name in ("scheduled", "due now", "overdue", "in flight"):
        lines.append(f"  {name:<10} {status.follow_ups.get(name, 0)}")
    if status.kafka_error is not None:
        lines.append(f"kafka: unavailable ({status.kafka_error})")
    elif status.dead_letters is not None:
        lines.append(f"dead letters  {status.dead_letters}")
        lines.append("consumer lag (messages not yet committed)")
        for topic, n in sorted((status.lag or {}).items()):
            lines.append(f"  {topic:<28} {n}")
    return "\n".join(lines)
