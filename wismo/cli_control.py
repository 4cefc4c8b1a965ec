"""Operator commands: ``wismo status`` (what the deployment is doing) and ``wismo control`` (the run-time
rollout controls every running worker applies within seconds).

    wismo status [--no-kafka]
    wismo control show
    wismo control kill-switch on|off
    wismo control demote CONDITION [--reason TEXT]
    wismo control promote CONDITION

Redis URL and key prefix from ``WISMO_REDIS_URL`` / ``WISMO_KEY_PREFIX`` (or ``--redis`` / ``--key-prefix``).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os

from aiokafka.errors import KafkaError
from redis.asyncio import Redis

from wismo.cli_stream import settings_from_args
from wismo.conditions import PRECEDENCE
from wismo.policy import load_policy
from wismo.state_keys import Keys
from wismo.streams.controls import demote, promote, read_controls, set_kill_switch
from wismo.streams.status import Status, gather_kafka, gather_redis, render
from wismo.streams.topics import load_topics


def cmd_control(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=5)
    keys = Keys(settings.key_prefix)

    async def run() -> int:
        try:
            if args.action == "kill-switch":
                await set_kill_switch(redis, keys, args.state == "on")
                print(f"kill switch {args.state}: running workers apply it within seconds")
            elif args.action == "demote":
                who = f"{getpass.getuser()}@{os.uname().nodename}"
                done = await demote(redis, keys, args.condition, who, args.reason)
                print(f"{args.condition}: {'demoted to testing mode' if done else 'already demoted'}")
            elif args.action == "promote":
                done = await promote(redis, keys, args.condition)
                print(f"{args.condition}: {'promoted (policy modes apply again)' if done else 'was not demoted'}")
            kill, demoted = await read_controls(redis, keys)
            print(f"kill switch: {'ON' if kill else 'off'}")
            print("demoted conditions:" + ("" if demoted else " none"))
            for cond, info in sorted(demoted.items()):
                print(f"  {cond}: {info.get('reason', '')} (by {info.get('by', '?')} at {info.get('at', '?')})")
            return 0
        finally:
            await redis.aclose()

    return asyncio.run(run())


def cmd_status(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    policy = load_policy(settings.policy_file)
    if settings.mode is not None:
        policy = policy.with_mode_override(settings.mode)
    specs = load_topics(settings.topics_file)
    partitions = max((s.partitions for s in specs if s.name.startswith("wismo.in.")), default=1)

    async def run() -> int:
        status = Status()
        redis = Redis.from_url(settings.redis_url, socket_connect_timeout=5)
        try:
            await gather_redis(status, redis, Keys(settings.key_prefix), policy, partitions)
        finally:
            await redis.aclose()
        if not args.no_kafka:
            try:
                await asyncio.wait_for(
                    gather_kafka(status, settings.kafka_bootstrap, settings.topic_prefix, settings.group_id), 30
                )
            except (KafkaError, OSError, TimeoutError) as exc:
                status.kafka_error = f"{type(exc).__name__}: {exc}"
        print(render(status, partitions))
        return 0

    return asyncio.run(run())


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sp = sub.add_parser(
        "status",
        help="modes, open cases by condition, follow-ups due and overdue, dead letters, lag",
        description="Read-only report from Redis and Kafka; configuration from WISMO_* variables like the worker.",
    )
    sp.add_argument("--redis", metavar="URL", help="Redis URL ($WISMO_REDIS_URL)")
    sp.add_argument("--key-prefix", metavar="P", help="Redis key prefix ($WISMO_KEY_PREFIX)")
    sp.add_argument("--bootstrap", metavar="HOSTS", help="Kafka bootstrap servers ($WISMO_KAFKA_BOOTSTRAP)")
    sp.add_argument("--topic-prefix", metavar="P", help="topic name prefix ($WISMO_TOPIC_PREFIX)")
    sp.add_argument("--no-kafka", action="store_true", help="skip dead letters and lag (Redis only)")
    sp.set_defaults(func=cmd_status)

    cp = sub.add_parser(
        "control",
        help="kill switch and condition demotions for the running workers",
        description="Read or change the run-time controls in Redis; every worker applies them within "
        "WISMO_CONTROL_INTERVAL_SECONDS (1 s). They override the policy file until changed back.",
    )
    cp.add_argument("--redis", metavar="URL", help="Redis URL ($WISMO_REDIS_URL)")
    cp.add_argument("--key-prefix", metavar="P", help="Redis key prefix ($WISMO_KEY_PREFIX, default wismo)")
    csub = cp.add_subparsers(dest="action", required=True)
    csub.add_parser("show", help="print the kill switch and the demoted conditions")
    ks = csub.add_parser("kill-switch", help="turn the kill switch on or off")
    ks.add_argument("state", choices=("on", "off"))
    dm = csub.add_parser("demote", help="run a condition in testing mode on every worker")
    dm.add_argument("condition", choices=PRECEDENCE)
    dm.add_argument("--reason", default="demoted by hand")
    pr = csub.add_parser("promote", help="lift a demotion (the policy's modes apply again)")
    pr.add_argument("condition", choices=PRECEDENCE)
    cp.set_defaults(func=cmd_control)
