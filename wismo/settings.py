"""Runtime configuration of the streaming worker, from the environment (``WISMO_*``) or CLI flags.

Every field has a default that works against a local broker and Redis; production sets at least
``WISMO_KAFKA_BOOTSTRAP`` and ``WISMO_REDIS_URL``. Invalid values fail at start-up with pydantic's
field-level message, never later.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from wismo.records import Mode

DEFAULT_SWEEP_SECONDS = 900.0
"""15 minutes: a time threshold (hours, per the policy) is noticed at most this late."""


class DeploymentSettings(BaseSettings):
    """What every wismo process of one deployment shares (worker, ``wismo ingest``, ``wismo deliver``): the same
    variables, so one environment file serves them all."""

    model_config = SettingsConfigDict(env_prefix="WISMO_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:9092"
    """Comma-separated bootstrap servers."""
    redis_url: str = "redis://127.0.0.1:6379/0"
    topic_prefix: str = ""
    """Prefix of every topic name (``<prefix>wismo.in.oms``), for several deployments on one cluster (and for
    tests). Empty: the names of topics.yaml."""
    key_prefix: str = "wismo"
    """Prefix of every Redis key (two deployments may share one Redis with different prefixes)."""


class WorkerSettings(DeploymentSettings):
    policy_file: Path | None = None
    """Policy YAML; the packaged default policy when unset."""
    shadow_policy_file: Path | None = None
    """A candidate policy run beside the live one on the same events (shadow mode): where it decides
    differently, a comparison record goes to ``wismo.shadow``; nothing it decides is ever sent. Used as
    written (``mode`` overrides only the live policy). Doubles the pipeline's CPU while set."""
    topics_file: Path | None = None
    """topics.yaml; the packaged copy when unset (topic names, partition counts)."""
    group_id: str = "wismo"
    """Kafka consumer group of the workers. One group = one deployment; scale by adding workers (up to the
    partition count)."""
    session_timeout_ms: int = Field(10_000, ge=1000)
    """Consumer-group session timeout: how soon a dead worker's partitions move to the others."""
    heartbeat_interval_ms: int = Field(3_000, ge=100)
    mode: Mode | None = None
    """Overrides the policy's mode for every channel and condition (like ``wismo replay --mode``)."""
    batch_max_records: int = Field(2000, ge=1)
    """Most messages taken per poll (faust's ``take()``): one Redis read, one write and one produce flush
    per batch."""
    max_idle_ms: int = Field(500, ge=0)
    """How long an input topic-partition with nothing fetched (and not caught up) may hold back the
    time-ordered merge of its partition before the others proceed without it."""
    state_cache_entries: int = Field(10_000, ge=0)
    """Decoded order contexts (and as many cases) kept per worker between batches (streams/state_cache.py);
    ~5 KB each. 0 disables the cache."""
    gc_full_collect_seconds: float = Field(600.0, ge=0)
    """Between batches the worker freezes its long-lived objects so the cyclic garbage collector stops
    re-walking the state cache (a 90-125 ms stall each time, see streams/gc_policy.py); one full collection
    runs this often instead. 0 = the interpreter's default collector."""
    poll_timeout_ms: int = Field(50, ge=1)
    """How long a poll waits for the first message. Bounds the added latency at low load."""
    clock: Literal["wall", "event"] = "wall"
    """``wall``: follow-ups fall due against the later of the wall clock and the newest event time;
    ``event``: against event time only (replays, backtests, the parity tests)."""
    monitor_interval_seconds: float = Field(1.0, gt=0)
    """How often the follow-up monitor claims due follow-ups and the reaper returns expired leases."""
    control_interval_seconds: float = Field(1.0, gt=0)
    """How often the worker reads the run-time controls (kill switch, demotions) and checks its rates for
    automatic demotion: a ``wismo control`` change reaches every worker within this time."""
    sweep_interval_seconds: float | None = Field(None, ge=0)
    """How often the workers send themselves a ``clock.tick`` sweep, so that time thresholds (no first scan,
    no movement, pick SLA) are noticed without any input event. Default: every 900 s with ``clock=wall``,
    never with ``clock=event`` (a replay of past events brings its own ticks). 0 = never."""

    sweep_inline_orders: int = Field(100, ge=1)
    """Most in-progress orders of one partition a sweep evaluates in its own batch (a file replay evaluates
    them all at once); each of the others gets a per-order tick on the clock topic (``slice:<sweep id>:<order
    id>``) and is evaluated in a later batch, unless a newer event of the order was evaluated first. Bounds
    how long a sweep holds up a partition (about 0.25 ms an order) and how much state one batch loads."""

    @property
    def sweep_every(self) -> float:
        """The effective sweep interval in seconds (0 = no sweeps)."""
        if self.sweep_interval_seconds is not None:
            return self.sweep_interval_seconds
        return DEFAULT_SWEEP_SECONDS if self.clock == "wall" else 0.0

    web_host: str = "127.0.0.1"
    web_port: int = Field(6066, ge=0)
    """Health and metrics endpoint (faust web). 0 = pick a free port."""
