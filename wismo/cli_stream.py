"""The streaming commands of the ``wismo`` CLI: ``worker``, ``publish``, ``demo``, ``deliver`` and ``topics create``.

    wismo worker [--bootstrap HOSTS] [--redis URL] [--group ID] [--policy FILE] [--mode live|testing]
                 [--clock wall|event] [--topic-prefix P] [--web-port N]
    wismo publish INPUT.ndjson [...] [--bootstrap HOSTS] [--topic-prefix P]
    wismo demo [--out DIR] [--input FILE]
    wismo topics create [--bootstrap HOSTS] [--file topics.yaml]
    wismo deliver [--bootstrap HOSTS] [--redis URL] [--group ID] [--topic-prefix P]   (see wismo.streams.deliver)
    wismo ingest [--host H] [--port N] [--bootstrap HOSTS] [--redis URL] [--topic-prefix P]

Configuration comes from ``WISMO_*`` environment variables (:class:`~wismo.settings.WorkerSettings`); flags
override them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from wismo.policy import PolicyError, load_policy
from wismo.records import OUTPUT_TOPICS
from wismo.settings import WorkerSettings

EXIT_OK = 0
EXIT_USAGE = 2
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "day.ndjson"


def settings_from_args(args: argparse.Namespace) -> WorkerSettings:
    """``WISMO_*`` settings with the command's flags (those it has and were given) on top."""
    overrides: dict[str, Any] = {
        "kafka_bootstrap": getattr(args, "bootstrap", None),
        "redis_url": getattr(args, "redis", None),
        "group_id": getattr(args, "group", None),
        "policy_file": getattr(args, "policy", None),
        "mode": getattr(args, "mode", None),
        "clock": getattr(args, "clock", None),
        "topic_prefix": getattr(args, "topic_prefix", None),
        "key_prefix": getattr(args, "key_prefix", None) or None,
        "web_port": getattr(args, "web_port", None),
    }
    return WorkerSettings(**{k: v for k, v in overrides.items() if v is not None})


def cmd_worker(args: argparse.Namespace) -> int:
    """Run one worker until SIGTERM/SIGINT (graceful: the current batch finishes and is committed)."""
    import faust

    from wismo.streams.app import create_app

    settings = settings_from_args(args)
    try:
        policy = load_policy(settings.policy_file)
    except PolicyError as exc:
        print(f"wismo worker: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if settings.mode is not None:
        policy = policy.with_mode_override(settings.mode)
    app = create_app(settings, policy)
    worker = faust.Worker(app, loglevel=args.loglevel, quiet=True)
    worker.execute_from_commandline()
    return EXIT_OK


def cmd_publish(args: argparse.Namespace) -> int:
    """Publish canonical event files to the input topics, in file order."""
    from aiokafka import AIOKafkaProducer

    from wismo.streams.publisher import publish_lines

    async def run() -> int:
        producer = AIOKafkaProducer(bootstrap_servers=args.bootstrap, acks="all")
        await producer.start()
        n = 0
        try:
            for path in args.inputs:
                lines = [line.strip() for line in Path(path).read_bytes().splitlines() if line.strip()]
                await publish_lines(producer, lines, topic_prefix=args.topic_prefix)
                n += len(lines)
        finally:
            await producer.stop()
        return n

    n = asyncio.run(run())
    print(f"published {n} events to {args.bootstrap}")
    return EXIT_OK


def cmd_ingest(args: argparse.Namespace) -> int:
    """Serve the provider webhook endpoints until SIGTERM/SIGINT (requests in progress finish first)."""
    from pydantic import ValidationError

    from wismo.ingest_settings import IngestSettings
    from wismo.streams.ingest_server import serve

    overrides: dict[str, Any] = {
        "ingest_host": args.host,
        "ingest_port": args.port,
        "kafka_bootstrap": args.bootstrap,
        "redis_url": args.redis,
        "topic_prefix": args.topic_prefix,
    }
    try:
        settings = IngestSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        print(f"wismo ingest: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not settings.enabled_providers:
        print(
            "wismo ingest: warning: no signing secret set (WISMO_SHOPIFY_WEBHOOK_SECRET, ...); "
            "every webhook endpoint answers 404",
            file=sys.stderr,
        )

    def ready(host: str, port: int) -> None:
        providers = ", ".join(settings.enabled_providers) or "none"
        print(f"wismo ingest listening on http://{host}:{port}/webhooks/<provider> (enabled: {providers})", flush=True)

    from aiokafka.errors import KafkaError

    try:
        asyncio.run(serve(settings, on_ready=ready))
    except (OSError, KafkaError) as exc:
        print(f"wismo ingest: error: {exc}", file=sys.stderr)
        return 1
    return EXIT_OK


# ---- demo ---------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    """Start a local broker and Redis (unless configured), create the topics, start a worker, feed the
    example day, wait until it is processed, write and summarise what came out."""
    from wismo.local_servers import LocalKafka, LocalRedis, start_kafka, start_redis

    kafka: LocalKafka | None = None
    redis: LocalRedis | None = None
    bootstrap = os.environ.get("WISMO_KAFKA_BOOTSTRAP")
    redis_url = os.environ.get("WISMO_REDIS_URL")
    t0 = time.monotonic()
    try:
        if not bootstrap:
            kafka = start_kafka()
            bootstrap = kafka.bootstrap
            print(f"started a local Kafka-protocol broker (Tansu) at {bootstrap}")
        if not redis_url:
            redis = start_redis()
            redis_url = redis.url
            print(f"started a local Redis at {redis_url}")
        return _demo(args, bootstrap, redis_url, t0)
    finally:
        if kafka is not None:
            kafka.stop()
        if redis is not None:
            redis.stop()


def _demo(args: argparse.Namespace, bootstrap: str, redis_url: str, t0: float) -> int:
    from wismo.streams.topics import create_topics, load_topics

    prefix = args.topic_prefix or f"demo{int(time.time())}."
    group = f"{prefix}wismo"
    specs = [replace(s, name=prefix + s.name) for s in load_topics(None)]
    report = asyncio.run(create_topics(bootstrap, specs))
    if not report.ok:
        print(report.table(), file=sys.stderr)
        return 1
    print(f"created {len(specs)} topics ({prefix}*)")
    env = {
        **os.environ,
        "WISMO_KAFKA_BOOTSTRAP": bootstrap,
        "WISMO_REDIS_URL": redis_url,
        "WISMO_GROUP_ID": group,
        "WISMO_TOPIC_PREFIX": prefix,
        "WISMO_CLOCK": "event",  # the example day is in the past: follow-ups fall due by event time
        "WISMO_SESSION_TIMEOUT_MS": "3000",
        "WISMO_HEARTBEAT_INTERVAL_MS": "500",
        "WISMO_WEB_PORT": "0",
    }
    if args.mode:
        env["WISMO_MODE"] = args.mode
    worker = subprocess.Popen([sys.executable, "-m", "wismo.cli", "worker", "--loglevel", "warn"], env=env)
    try:
        lines = [line.strip() for line in Path(args.input).read_bytes().splitlines() if line.strip()]

        def alive() -> None:
            if worker.poll() is not None:
                raise RuntimeError(f"the worker exited with code {worker.returncode}")

        records = asyncio.run(_feed_and_collect(bootstrap, prefix, group, lines, alive))
    finally:
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for topic in OUTPUT_TOPICS:
        (out / f"{topic}.ndjson").write_bytes(b"".join(v + b"\n" for v in records.get(topic, [])))
    _print_demo_summary(len(lines), records, out, time.monotonic() - t0)
    return EXIT_OK


async def _feed_and_collect(
    bootstrap: str, prefix: str, group: str, lines: list[bytes], alive: Callable[[], None]
) -> dict[str, list[bytes]]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    from wismo.streams.progress import true_end_offsets, wait_caught_up
    from wismo.streams.publisher import needs_forward_hop, publish_lines
    from wismo.streams.worker import INPUT_TOPICS

    inputs = [prefix + t for t in INPUT_TOPICS]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        # A ticket without an order id is matched by the intake and forwarded to the worker that owns the
        # order (one extra hop through Kafka). Waiting for that hop after each such ticket keeps the example
        # in the order of the file, so the output is the one ``wismo replay`` gives.
        chunk: list[bytes] = []
        for line in lines:
            chunk.append(line)
            if needs_forward_hop(line):
                await publish_lines(producer, chunk, topic_prefix=prefix)
                chunk = []
                await wait_caught_up(bootstrap, group, inputs, timeout=120, check=alive)
        await publish_lines(producer, chunk, topic_prefix=prefix)
    finally:
        await producer.stop()
    print(f"published {len(lines)} events; waiting for the worker ...")
    await wait_caught_up(bootstrap, group, inputs, timeout=120, check=alive)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
    await reader.start()
    out: dict[str, list[bytes]] = {}
    try:
        await reader.topics()
        tps = [TopicPartition(prefix + t, p) for t in OUTPUT_TOPICS for p in reader.partitions_for_topic(prefix + t)]
        ends = await true_end_offsets(reader, tps)
        reader.assign(tps)
        await reader.seek_to_beginning(*tps)
        for tp in tps:
            while await reader.position(tp) < ends[tp]:
                got = await reader.getmany(tp, timeout_ms=1000)
                for m in got.get(tp, []):
                    out.setdefault(tp.topic[len(prefix) :], []).append(m.value)
    finally:
        await reader.stop()
    return out


def _print_demo_summary(n_in: int, records: dict[str, list[bytes]], out: Path, seconds: float) -> None:
    print(f"\n{n_in} events in, processed by a wismo worker through Kafka and Redis ({seconds:.1f}s in all)")
    print(f"{'topic':<22}{'records':>8}")
    for topic in OUTPUT_TOPICS:
        print(f"{topic:<22}{len(records.get(topic, [])):>8}")
    decisions = [orjson.loads(v) for v in records.get("wismo.decisions", [])]
    conditions = Counter(d["condition_type"] for d in decisions)
    print("\nconditions decided (evaluations):")
    for cond, n in conditions.most_common():
        print(f"  {cond:<32}{n:>5}")
    notes = [orjson.loads(v) for v in records.get("wismo.notes", []) + records.get("wismo.replies", [])]
    drafts = [n for n in notes if n.get("text")][:3]
    if drafts:
        print("\nsome customer texts (testing mode: drafts in wismo.notes):")
        for n in drafts:
            print(f"  [{n['order_id']} {n['condition_type']}] {n['text'][:200]}")
    print(f"\noutputs written to {out}/<topic>.ndjson")


# ---- parser -------------------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the streaming commands to the ``wismo`` parser."""
    wp = sub.add_parser(
        "worker",
        help="run a streaming worker (Kafka in, Redis state, Kafka out)",
        description="Consume the input topics, keep case state in Redis and write the output topics. "
        "Configuration from WISMO_* environment variables; flags override them.",
    )
    wp.add_argument("--bootstrap", metavar="HOSTS", help="Kafka bootstrap servers ($WISMO_KAFKA_BOOTSTRAP)")
    wp.add_argument("--redis", metavar="URL", help="Redis URL ($WISMO_REDIS_URL)")
    wp.add_argument("--group", metavar="ID", help="consumer group ($WISMO_GROUP_ID, default wismo)")
    wp.add_argument("--policy", metavar="FILE", help="policy YAML ($WISMO_POLICY_FILE)")
    wp.add_argument("--mode", choices=("live", "testing"), help="override the policy's modes ($WISMO_MODE)")
    wp.add_argument("--clock", choices=("wall", "event"), help="what follow-ups fall due against ($WISMO_CLOCK)")
    wp.add_argument("--topic-prefix", metavar="P", help="prefix of every topic name ($WISMO_TOPIC_PREFIX)")
    wp.add_argument("--web-port", type=int, metavar="N", help="health endpoint port, 0 = off ($WISMO_WEB_PORT)")
    wp.add_argument("--loglevel", default="warn", choices=("crit", "error", "warn", "info", "debug"))
    wp.set_defaults(func=cmd_worker)

    pp = sub.add_parser("publish", help="publish canonical event files to the input topics")
    pp.add_argument("inputs", nargs="+", metavar="INPUT.ndjson")
    pp.add_argument("--bootstrap", default=os.environ.get("WISMO_KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    pp.add_argument("--topic-prefix", default=os.environ.get("WISMO_TOPIC_PREFIX", ""))
    pp.set_defaults(func=cmd_publish)

    dp = sub.add_parser(
        "demo",
        help="one-command local run: broker + Redis + worker on the example day",
        description="Start a local Kafka-protocol broker and Redis (unless WISMO_KAFKA_BOOTSTRAP / "
        "WISMO_REDIS_URL are set), create the topics, start a worker, feed the example day and print "
        "what comes out.",
    )
    dp.add_argument("--input", default=str(EXAMPLE), metavar="FILE", help="events to feed (default: the example)")
    dp.add_argument("--out", default="out/demo", metavar="DIR", help="where to write the output topics")
    dp.add_argument("--mode", choices=("live", "testing"), help="override the policy's modes")
    dp.add_argument("--topic-prefix", metavar="P", help="topic name prefix (default: demo<timestamp>.)")
    dp.set_defaults(func=cmd_demo)

    ip = sub.add_parser(
        "ingest",
        help="serve the provider webhook endpoints (Shopify, EasyPost, AfterShip, Zendesk, Slack)",
        description="Verify, de-duplicate and adapt provider webhooks to canonical events on the input topics. "
        "A provider is enabled by its signing secret (WISMO_SHOPIFY_WEBHOOK_SECRET, WISMO_EASYPOST_WEBHOOK_SECRET, "
        "WISMO_AFTERSHIP_WEBHOOK_SECRET, WISMO_ZENDESK_WEBHOOK_SECRET, WISMO_SLACK_SIGNING_SECRET).",
    )
    ip.add_argument("--host", help="listen address ($WISMO_INGEST_HOST, default 0.0.0.0)")
    ip.add_argument("--port", type=int, metavar="N", help="listen port, 0 = any ($WISMO_INGEST_PORT, default 8090)")
    ip.add_argument("--bootstrap", metavar="HOSTS", help="Kafka bootstrap servers ($WISMO_KAFKA_BOOTSTRAP)")
    ip.add_argument("--redis", metavar="URL", help="Redis URL ($WISMO_REDIS_URL)")
    ip.add_argument("--topic-prefix", metavar="P", help="prefix of every topic name ($WISMO_TOPIC_PREFIX)")
    ip.set_defaults(func=cmd_ingest)

    from wismo.streams.topics import register as register_topics

    register_topics(sub)

    from wismo.streams.deliver import register as register_deliver

    register_deliver(sub)
