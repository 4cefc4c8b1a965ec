"""Shared fixtures: a Kafka broker and a Redis server for the integration tests.

Each server is chosen once per session (Kafka and Redis independently), first match wins:

1. the environment: ``WISMO_TEST_KAFKA`` (bootstrap servers) / ``WISMO_TEST_REDIS`` (a ``redis://`` URL);
2. a testcontainers container, only if a Docker daemon answers a ping within 2 s (``WISMO_TEST_DOCKER=0``
   skips the check);
3. a local process from :mod:`wismo.local_servers`: the Tansu broker (in-memory) and ``redis-server`` with an
   fsync-always AOF. No Docker, no network; CI always ends up here.

Servers start lazily (a run that needs none starts none) and stop at the end of the session. Tests never skip
for want of a server: a missing binary is an error. ``redis_server.stop()/start()/restart()/kill()`` control
the local process; with an environment or container Redis they skip the test (and fail it when ``$CI`` is set,
since CI must run every test).

Tansu notes for test authors (see ``tests/integration/test_local_servers.py``): use a unique group id per test
and :data:`FAST_GROUP` consumer settings (Tansu holds a group's first JoinGroup for about half the session
timeout), and create topics with :func:`make_topic` before any client names them (Tansu auto-creates a topic
with 4 partitions on any Metadata request naming it).
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, Protocol, TypeVar

import pytest
import redis
from wismo.streams.topics import TopicSpec, create_topics

from wismo.local_servers import start_kafka, start_redis

T = TypeVar("T")

#: Consumer-group settings that keep Tansu's join delay near 1.5 s (aiokafka's defaults give 5 s, faust's 30 s).
FAST_GROUP: dict[str, int] = {"session_timeout_ms": 3000, "heartbeat_interval_ms": 500}


class RedisServer(Protocol):
    """What ``redis_server`` yields: a URL and, for a local process, lifecycle control keeping the data."""

    @property
    def url(self) -> str: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def kill(self) -> None: ...

    def restart(self) -> None: ...


class ExternalRedis:
    """A Redis this session does not control (environment or container): lifecycle calls skip the test."""

    def __init__(self, url: str, origin: str) -> None:
        self.url = url
        self.origin = origin

    def _uncontrollable(self, what: str) -> None:
        message = f"cannot {what} a Redis from {self.origin}; unset it to use a local redis-server"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)

    def start(self) -> None:
        self._uncontrollable("start")

    def stop(self) -> None:
        self._uncontrollable("stop")

    def kill(self) -> None:
        self._uncontrollable("kill")

    def restart(self) -> None:
        self._uncontrollable("restart")


@functools.cache
def docker_available() -> bool:
    """True only if a Docker daemon answers a ping within 2 s; any failure means no."""
    if os.environ.get("WISMO_TEST_DOCKER", "").lower() in ("0", "false", "no", "off"):
        return False
    try:
        import docker  # type: ignore[import-untyped,unused-ignore]

        client = docker.from_env(timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on a fresh event loop in a helper thread (works inside a running loop too)."""
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=target, name="run_async")
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap servers (``host:port``) of the session's Kafka broker."""
    configured = os.environ.get("WISMO_TEST_KAFKA")
    if configured:
        yield configured
        return
    if docker_available():
        from testcontainers.community.kafka import KafkaContainer

        with KafkaContainer() as container:
            yield container.get_bootstrap_server()
        return
    with start_kafka() as kafka:
        yield kafka.bootstrap


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """The session's Redis: ``.url``, plus ``start/stop/kill/restart`` (same port and data) for a local one."""
    configured = os.environ.get("WISMO_TEST_REDIS")
    if configured:
        yield ExternalRedis(configured, "WISMO_TEST_REDIS")
        return
    if docker_available():
        from testcontainers.community.redis import RedisContainer

        with RedisContainer() as container:
            host, port = container.get_container_host_ip(), container.get_exposed_port(container.port)
            yield ExternalRedis(f"redis://{host}:{port}/0", "a testcontainers container")
        return
    with start_redis() as local:
        yield local


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """The session Redis URL with an empty database (FLUSHDB before the test); restarts a local server that an
    earlier test left stopped."""
    if getattr(redis_server, "running", True) is False:
        redis_server.start()
    client = redis.Redis.from_url(redis_server.url)
    try:
        client.flushdb()
    finally:
        client.close()
    yield redis_server.url


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80] or "t"


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """``unique_name("orders")`` -> ``"orders.<test name>.<8 hex>"``, legal as a topic or group id."""

    def make(prefix: str = "t") -> str:
        return f"{_slug(prefix)}.{_slug(request.node.name)}.{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture
def make_topic(kafka_bootstrap: str, unique_name: Callable[[str], str]) -> Callable[..., str]:
    """``make_topic(partitions=1, prefix="t")`` creates a topic with a name unique to this test and returns the
    name. Fails the test if the broker does not report it created."""

    def make(partitions: int = 1, prefix: str = "t") -> str:
        name = unique_name(prefix)
        report = run_async(create_topics(kafka_bootstrap, [TopicSpec(name=name, partitions=partitions)]))
        assert report.status_of(name) == "created", report.table()
        return name

    return make
