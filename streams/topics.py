"""The Kafka topics wismo reads and writes (``topics.yaml``) and an idempotent ``wismo topics create``.

:func:`load_topics` turns the file into :class:`TopicSpec` objects and rejects unknown keys, duplicate or illegal
names, non-positive partition counts and unreadable retentions, naming every problem. :func:`create_topics`
creates the missing topics and checks the existing ones: a topic whose partition count differs from the file is
reported as ``mismatch`` with both counts and is never altered (changing the partition count of a keyed topic
moves orders between workers, so that is an operator's decision). It never sends a Metadata request naming a
topic that may not exist, because some brokers (Tansu, or Kafka with ``auto.create.topics.enable``) would create
it with their default partition count.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

__all__ = [
    "DEFAULT_BOOTSTRAP",
    "TopicReport",
    "TopicResult",
    "TopicSpec",
    "TopicsFileError",
    "create_topics",
    "default_topics_file",
    "load_topics",
    "parse_retention_ms",
    "register",
]

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
BOOTSTRAP_ENV = "WISMO_KAFKA_BOOTSTRAP"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_SECTIONS = {"inputs": "input", "outputs": "output"}
_TOP_KEYS = {"defaults", *_SECTIONS}
_DEFAULT_KEYS = {"partitions", "replication_factor", "retention"}
_TOPIC_KEYS = {"name", "key", "partitions", "replication_factor", "retention", "purpose"}
_LEGAL_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d|w)?\s*$")
_FOREVER = {"-1", "forever", "infinite", "unlimited"}


class TopicsFileError(ValueError):
    """``topics.yaml`` is missing, unreadable or invalid; the message lists every problem found."""


@dataclass(frozen=True)
class TopicSpec:
    """One topic as declared in ``topics.yaml``."""

    name: str
    partitions: int
    replication_factor: int = 1
    retention_ms: int | None = None  # None: the broker's default; -1: keep forever
    key: str = ""
    purpose: str = ""
    role: Literal["input", "output"] = "input"

    @property
    def configs(self) -> dict[str, str]:
        """Topic-level configs to create the topic with (``retention.ms`` when a retention is declared)."""
        return {} if self.retention_ms is None else {"retention.ms": str(self.retention_ms)}


Status = Literal["created", "exists", "mismatch", "error"]


@dataclass(frozen=True)
class TopicResult:
    """What :func:`create_topics` found or did for one topic."""

    name: str
    status: Status
    expected_partitions: int
    actual_partitions: int | None
    detail: str = ""


@dataclass
class TopicReport:
    """One :class:`TopicResult` per spec, in file order. ``ok`` is False on any mismatch or error."""

    bootstrap: str
    results: list[TopicResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.status in ("created", "exists") for r in self.results)

    @property
    def problems(self) -> list[TopicResult]:
        return [r for r in self.results if r.status in ("mismatch", "error")]

    def status_of(self, name: str) -> Status:
        """The status of topic ``name``; KeyError when it is not in the report."""
        for r in self.results:
            if r.name == name:
                return r.status
        raise KeyError(name)

    def table(self) -> str:
        """A plain-text table: topic, status, expected and actual partitions, detail."""
        header = ("topic", "status", "expected", "actual", "detail")
        rows = [
            (
                r.name,
                r.status,
                str(r.expected_partitions),
                "-" if r.actual_partitions is None else str(r.actual_partitions),
                r.detail,
            )
            for r in self.results
        ]
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]
        ]
        counts: dict[str, int] = {}
        for r in self.results:
            counts[r.status] = counts.get(r.status, 0) + 1
        summary = ", ".join(f"{n} {status}" for status, n in counts.items()) or "no topics"
        return "\n".join([*lines, f"{len(self.results)} topic(s) on {self.bootstrap}: {summary}"])


# ---- loading ------------------------------------------------------------------------------------------------


def default_topics_file() -> Path:
    """``topics.yaml`` at the repository root (two levels above this module; in an installed package that is
    the ``wismo`` package directory), else ``wismo/topics.yaml`` if packaged there."""
    here = Path(__file__).resolve().parent
    candidates = [here.parent / "topics.yaml", here.parent / "wismo" / "topics.yaml"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return candidates[0]


def parse_retention_ms(value: object) -> int:
    """``"14d"``, ``"12h"``, ``"30m"``, ``"45s"``, ``"500ms"``, ``"2w"`` or a bare integer (milliseconds) to
    milliseconds; ``-1`` / ``"forever"`` to -1. Raises ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"retention must be a duration like 14d, not {value!r}")
    if isinstance(value, int):
        if value == -1 or value > 0:
            return value
        raise ValueError(f"retention must be positive (or -1 for forever), not {value}")
    if isinstance(value, str):
        if value.strip().lower() in _FOREVER:
            return -1
        match = _DURATION.match(value)
        if match:
            amount = int(match.group(1)) * _UNIT_MS[match.group(2) or "ms"]
            if amount > 0:
                return amount
    raise ValueError(f"retention must be a duration like 14d, 12h, 30m, 45s, 500ms or -1, not {value!r}")


def _positive_int(value: object, what: str, problems: list[str]) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    problems.append(f"{what} must be a positive integer, not {value!r}")
    return None


def specs_from_mapping(data: object, *, source: str = "topics.yaml") -> list[TopicSpec]:
    """Validate a parsed ``topics.yaml`` document; raises :class:`TopicsFileError` listing every problem."""
    problems: list[str] = []
    if not isinstance(data, Mapping):
        raise TopicsFileError(f"{source}: expected a mapping with inputs/outputs, got {type(data).__name__}")
    for key in sorted(set(data) - _TOP_KEYS, key=str):
        problems.append(f"unknown key {key!r} (allowed: {', '.join(sorted(_TOP_KEYS))})")
    defaults_raw = data.get("defaults") or {}
    defaults: dict[str, Any] = {"partitions": None, "replication_factor": 1, "retention": None}
    if not isinstance(defaults_raw, Mapping):
        problems.append("defaults must be a mapping")
    else:
        for key in sorted(set(defaults_raw) - _DEFAULT_KEYS, key=str):
            problems.append(f"defaults: unknown key {key!r} (allowed: {', '.join(sorted(_DEFAULT_KEYS))})")
        defaults.update({k: v for k, v in defaults_raw.items() if k in _DEFAULT_KEYS})

    specs: list[TopicSpec] = []
    seen: set[str] = set()
    for section, role in _SECTIONS.items():
        entries = data.get(section) or []
        if not isinstance(entries, list):
            problems.append(f"{section} must be a list of topics")
            continue
        for i, entry in enumerate(entries):
            where = f"{section}[{i}]"
            if not isinstance(entry, Mapping):
                problems.append(f"{where} must be a mapping")
                continue
            name = entry.get("name")
            if isinstance(name, str):
                where = f"{section}[{i}] ({name})"
            for key in sorted(set(entry) - _TOPIC_KEYS, key=str):
                problems.append(f"{where}: unknown key {key!r} (allowed: {', '.join(sorted(_TOPIC_KEYS))})")
            if not isinstance(name, str) or not _LEGAL_NAME.match(name) or name in (".", ".."):
                problems.append(f"{where}: name must be 1-249 of [A-Za-z0-9._-], not {name!r}")
                continue
            if name in seen:
                problems.append(f"{where}: duplicate topic name")
                continue
            seen.add(name)
            merged = {**defaults, **entry}
            if merged.get("partitions") is None:
                problems.append(f"{where}: partitions missing (and no defaults.partitions)")
                continue
            partitions = _positive_int(merged["partitions"], f"{where}: partitions", problems)
            replication = _positive_int(merged["replication_factor"], f"{where}: replication_factor", problems)
            retention_ms: int | None = None
            if merged.get("retention") is not None:
                try:
                    retention_ms = parse_retention_ms(merged["retention"])
                except ValueError as exc:
                    problems.append(f"{where}: {exc}")
            key, purpose = entry.get("key", ""), entry.get("purpose", "")
            if not isinstance(key, str) or not isinstance(purpose, str):
                problems.append(f"{where}: key and purpose must be text")
                continue
            if partitions is None or replication is None:
                continue
            specs.append(
                TopicSpec(
                    name=name,
                    partitions=partitions,
                    replication_factor=replication,
                    retention_ms=retention_ms,
                    key=key,
                    purpose=purpose,
                    role="input" if role == "input" else "output",
                )
            )
    if problems:
        raise TopicsFileError(f"{source}: " + "; ".join(problems))
    return specs


def load_topics(path: str | os.PathLike[str] | None = None) -> list[TopicSpec]:
    """Read ``topics.yaml`` (default: :func:`default_topics_file`) into specs, inputs first, in file order."""
    file = Path(path) if path is not None else default_topics_file()
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TopicsFileError(f"cannot read {file}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise TopicsFileError(f"{file}: not valid YAML: {exc}") from exc
    return specs_from_mapping(data, source=str(file))


# ---- creating -----------------------------------------------------------------------------------------------


async def create_topics(bootstrap: str, specs: Iterable[TopicSpec], *, request_timeout_ms: int = 30_000) -> TopicReport:
    """Create every missing topic and check the partition count of every existing one.

    Idempotent: a second run reports ``exists`` for everything. Statuses: ``created``; ``exists`` (partition
    count matches; replication and configs are not compared); ``mismatch`` (count differs: expected vs actual in
    the row, nothing is changed); ``error`` (the broker refused, e.g. an impossible replication factor).
    Raises ``aiokafka.errors.KafkaError`` (e.g. ``KafkaConnectionError``) when the cluster cannot be reached.
    """
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped,unused-ignore]
    from aiokafka.errors import for_code  # type: ignore[import-untyped,unused-ignore]

    wanted = list(specs)
    report = TopicReport(bootstrap=bootstrap)
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="wismo-topics", request_timeout_ms=request_timeout_ms
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        errors: dict[str, str] = {}
        created: set[str] = set()
        missing = [s for s in wanted if s.name not in existing]
        if missing:
            response = await admin.create_topics(
                [NewTopic(s.name, s.partitions, s.replication_factor, topic_configs=s.configs) for s in missing],
                timeout_ms=request_timeout_ms,
            )
            for row in response.topic_errors:
                topic, code = row[0], row[1]
                message = row[2] if len(row) > 2 else None
                if code == 0:
                    created.add(topic)
                elif code != 36:  # 36 TOPIC_ALREADY_EXISTS: created meanwhile, checked below like any other
                    errors[topic] = f"{for_code(code).__name__}: {message or 'create failed'}"
        present = [s.name for s in wanted if s.name not in errors]
        actual: dict[str, int] = {}
        if present:
            for desc in await admin.describe_topics(present):
                if desc["error_code"] == 0:
                    actual[desc["topic"]] = len(desc["partitions"])
                else:
                    errors[desc["topic"]] = f"describe failed: {for_code(desc['error_code']).__name__}"
    finally:
        await admin.close()

    for spec in wanted:
        count = actual.get(spec.name)
        if spec.name in errors:
            report.results.append(TopicResult(spec.name, "error", spec.partitions, count, errors[spec.name]))
        elif count != spec.partitions:
            detail = f"expected {spec.partitions} partitions, found {count}; not changed"
            report.results.append(TopicResult(spec.name, "mismatch", spec.partitions, count, detail))
        else:
            status: Status = "created" if spec.name in created else "exists"
            report.results.append(TopicResult(spec.name, status, spec.partitions, count))
    return report


# ---- CLI ----------------------------------------------------------------------------------------------------


def cmd_topics_create(args: argparse.Namespace) -> int:
    """``wismo topics create``: print the report table; exit 0 when all topics exist as declared, 1 on any
    mismatch or broker error, 2 when the file is invalid or the cluster cannot be reached."""
    from aiokafka.errors import KafkaError  # type: ignore[import-untyped,unused-ignore]

    try:
        specs = load_topics(args.file)
    except TopicsFileError as exc:
        print(f"wismo topics create: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        report = asyncio.run(create_topics(args.bootstrap, specs, request_timeout_ms=int(args.timeout * 1000)))
    except (KafkaError, OSError) as exc:
        print(f"wismo topics create: error: cannot reach Kafka at {args.bootstrap}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(report.table())
    for problem in report.problems:
        print(f"wismo topics create: {problem.name}: {problem.status}: {problem.detail}", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FAILED


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``topics create`` to the ``wismo`` command line; returns the ``topics`` parser."""
    tp = subparsers.add_parser("topics", help="create and check the Kafka topics of topics.yaml")
    tsub = tp.add_subparsers(dest="topics_command", metavar="ACTION")
    tc = tsub.add_parser(
        "create",
        help="create missing topics, check existing ones (exit 1 on a partition-count mismatch)",
        description="Create every topic of topics.yaml that does not exist and check the partition count of "
        "those that do. Idempotent; never changes an existing topic. Exit 0 when every topic is as "
        "declared, 1 on a mismatch or broker error, 2 on an invalid file or unreachable cluster.",
    )
    tc.add_argument(
        "--bootstrap",
        default=os.environ.get(BOOTSTRAP_ENV) or DEFAULT_BOOTSTRAP,
        metavar="HOST:PORT[,...]",
        help=f"Kafka bootstrap servers (default: ${BOOTSTRAP_ENV}, else {DEFAULT_BOOTSTRAP})",
    )
    tc.add_argument("--file", default=None, metavar="FILE", help=f"topics file (default: {default_topics_file()})")
    tc.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS", help="broker request timeout")
    tc.set_defaults(func=cmd_topics_create)
    tp.set_defaults(func=None, subparser=tp)
    return tp


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point (``python -m wismo.streams.topics create ...``) until the CLI hooks it in."""
    parser = argparse.ArgumentParser(prog="wismo")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    register(sub)
    args = parser.parse_args(["topics", *(argv if argv is not None else sys.argv[1:])])
    func = getattr(args, "func", None)
    if func is None:
        args.subparser.print_help(sys.stderr)
        return EXIT_USAGE
    code: int = func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
