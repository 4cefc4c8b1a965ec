"""The ``wismo`` command line.

    wismo replay INPUT.ndjson [INPUT2 ...] --out DIR [--mode live|testing] [--policy FILE] [--quiet]
    wismo replay --from-kafka [--since TS | --offsets SPEC] [--bootstrap HOSTS] [--topic-prefix P] --out DIR
    wismo backtest INPUT.ndjson [...] --labels LABELS [--out DIR] [--mode ...] [--policy FILE]
                   [--min-accuracy X]
    wismo policy check FILE
    wismo policy show [--policy FILE]
    wismo report (DIR | --from-kafka [--bootstrap HOSTS] [--topic-prefix P] [--since TS]) --out REPORT.html
    wismo worker | publish | demo | topics create   (streaming; see wismo.cli_stream)
    wismo status | control show | kill-switch on|off | demote COND | promote COND   (see wismo.cli_control)
    wismo --version

The policy comes from ``--policy``, else the ``WISMO_POLICY`` environment variable, else the bundled
defaults. Exit codes: 0 success; 1 backtest below the required accuracy; 2 usage, input or policy error.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import TextIO

import yaml
from pydantic import BaseModel

from wismo import backtest, cli_control, cli_stream
from wismo.policy import Policy, PolicyError, load_policy
from wismo.records import DecisionRecord
from wismo.replay import replay_files
from wismo.summary import OutputCounts, render_summary

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

PROGRESS_MIN_BYTES = 5 * 1024 * 1024
PROGRESS_MIN_LINES = 20_000
PROGRESS_INTERVAL_S = 0.1


class CliError(Exception):
    """A user error: printed as one message, exit code 2, no traceback."""


def _version() -> str:
    try:
        return metadata.version("wismo")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


# ---- helpers ------------------------------------------------------------------------------------


def _policy(path: str | None, mode: str | None = None) -> Policy:
    source = path or os.environ.get("WISMO_POLICY") or None
    try:
        policy = load_policy(source)
    except PolicyError as exc:
        raise CliError(str(exc)) from None
    if mode == "live":
        policy = policy.with_mode_override("live")
    elif mode == "testing":
        policy = policy.with_mode_override("testing")
    return policy


def _inputs(paths: Sequence[str]) -> list[str | Path]:
    out: list[str | Path] = []
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise CliError(f"input file not found: {p}")
        if not path.is_file():
            raise CliError(f"input is not a file: {p}")
        out.append(path)
    return out


def _out_dir(path: str) -> Path:
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {path} exists and is not a directory")
    return out


def _count_lines(paths: Sequence[str | Path], stop_after: int) -> int:
    n = 0
    for p in paths:
        with open(p, "rb") as fh:
            while block := fh.read(1 << 20):
                n += block.count(b"\n")
                if n > stop_after:
                    return n
    return n


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


class ProgressBar:
    """A one-line text progress bar on ``stream``, driven by bytes read; redrawn at most every
    ``interval`` seconds."""

    WIDTH = 30

    def __init__(self, total_bytes: int, stream: TextIO, *, interval: float = PROGRESS_INTERVAL_S) -> None:
        self.total = max(total_bytes, 1)
        self.stream = stream
        self.interval = interval
        self.started = time.perf_counter()
        self._last = float("-inf")
        self._drawn = False

    def __call__(self, lines: int, nbytes: int) -> None:
        now = time.perf_counter()
        if now - self._last < self.interval:
            return
        self._last = now
        self._draw(lines, nbytes, now)

    def _draw(self, lines: int, nbytes: int, now: float) -> None:
        frac = min(nbytes / self.total, 1.0)
        filled = int(frac * self.WIDTH)
        elapsed = now - self.started
        rate = lines / elapsed if elapsed > 0 else 0.0
        eta = (elapsed / frac - elapsed) if frac > 0 else 0.0
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        self.stream.write(
            f"\r[{bar}] {frac:6.1%}  {_fmt_bytes(nbytes)}/{_fmt_bytes(self.total)}  "
            f"{lines:,} events  {rate:,.0f} ev/s  ETA {eta:4.0f}s "
        )
        self.stream.flush()
        self._drawn = True

    def finish(self, lines: int) -> None:
        if self._drawn:
            self._draw(lines, self.total, time.perf_counter())
            self.stream.write("\n")
            self.stream.flush()


def _want_progress(paths: Sequence[str | Path], stream: TextIO) -> int | None:
    """Total input bytes when a progress bar should be shown (a terminal and a large input), else None."""
    try:
        if not stream.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    total = sum(Path(p).stat().st_size for p in paths)
    if total > PROGRESS_MIN_BYTES or _count_lines(paths, PROGRESS_MIN_LINES) > PROGRESS_MIN_LINES:
        return total
    return None


# ---- commands -----------------------------------------------------------------------------------


PARALLEL_MIN_BYTES = 8 * 1024 * 1024
"""``--workers auto`` partitions the replay only above this input size: below it, starting processes costs
more than it saves."""


def _workers(value: str, paths: Sequence[str | Path]) -> int:
    if value == "auto":
        if sum(Path(p).stat().st_size for p in paths) < PARALLEL_MIN_BYTES:
            return 1
        return max(1, min(os.cpu_count() or 1, 8))
    try:
        n = int(value)
    except ValueError:
        raise CliError(f"--workers must be a number or 'auto', got {value!r}") from None
    if n < 1:
        raise CliError("--workers must be at least 1")
    return n


def cmd_replay(args: argparse.Namespace) -> int:
    if args.from_kafka:
        return _replay_from_kafka(args)
    if not args.inputs:
        raise CliError("give INPUT.ndjson files, or --from-kafka to read the input topics")
    if args.since or args.offsets:
        raise CliError("--since and --offsets go with --from-kafka")
    paths = _inputs(args.inputs)
    out = _out_dir(args.out)
    policy = _policy(args.policy, args.mode)
    counts = OutputCounts()
    total = None if args.quiet else _want_progress(paths, sys.stderr)
    bar = ProgressBar(total, sys.stderr) if total is not None else None
    t0 = time.perf_counter()
    try:
        workers = _workers(args.workers, paths)
        if workers > 1:
            pipeline = replay_files(paths, out, policy, progress=bar, workers=workers, raw_tap=counts.observe_raw)
        else:
            pipeline = replay_files(paths, out, policy, progress=bar, tap=counts.observe)
    except OSError as exc:
        raise CliError(f"replay failed: {exc}") from None
    elapsed = time.perf_counter() - t0
    if bar is not None:
        bar.finish(pipeline.stats.events_in)
    if not args.quiet:
        sys.stdout.write(render_summary(pipeline.stats, counts, elapsed_s=elapsed, inputs=len(paths), out_dir=str(out)))
    return EXIT_OK


def _replay_from_kafka(args: argparse.Namespace) -> int:
    """Shadow replay of the input topics: read-only consumer, in-memory state, no output published."""
    from aiokafka.errors import KafkaError

    from wismo.streams.kafka_replay import parse_from_offsets, parse_since, replay_from_kafka

    if args.inputs:
        raise CliError("--from-kafka reads the input topics; give no INPUT files")
    out = _out_dir(args.out)
    policy = _policy(args.policy, args.mode)
    counts = OutputCounts()
    t0 = time.perf_counter()
    try:
        since = parse_since(args.since) if args.since else None
        offsets = parse_from_offsets(args.offsets) if args.offsets else None
        pipeline = replay_from_kafka(
            args.bootstrap,
            out,
            policy,
            topic_prefix=args.topic_prefix,
            since_ms=since,
            offsets=offsets,
            tap=counts.observe,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    except (KafkaError, OSError) as exc:
        raise CliError(f"cannot read Kafka at {args.bootstrap}: {exc}") from None
    if not args.quiet:
        elapsed = time.perf_counter() - t0
        sys.stdout.write(render_summary(pipeline.stats, counts, elapsed_s=elapsed, inputs=0, out_dir=str(out)))
    return EXIT_OK


def _min_accuracy(text: str) -> float:
    try:
        v = float(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if text.endswith("%") or v > 1:
        v /= 100
    if not 0 <= v <= 1:
        raise argparse.ArgumentTypeError(f"must be a fraction 0..1 or a percentage 0..100, got {text!r}")
    return v


def cmd_backtest(args: argparse.Namespace) -> int:
    paths = _inputs(args.inputs)
    try:
        labels = backtest.load_labels(args.labels)
    except backtest.LabelError as exc:
        raise CliError(str(exc)) from None
    unknown = backtest.unknown_conditions(labels)
    if unknown:
        print(f"wismo backtest: warning: label(s) name unknown condition(s): {', '.join(unknown)}", file=sys.stderr)
    policy = _policy(args.policy, args.mode)
    wanted = {lab.event_id for lab in labels}
    decisions: list[DecisionRecord] = []

    def collect(outputs: list[tuple[str, BaseModel]]) -> None:
        for _, rec in outputs:
            if isinstance(rec, DecisionRecord) and rec.caused_by in wanted:
                decisions.append(rec)

    t0 = time.perf_counter()
    try:
        if args.out is not None:
            pipeline = replay_files(paths, _out_dir(args.out), policy, tap=collect)
        else:
            with tempfile.TemporaryDirectory(prefix="wismo-backtest-") as tmp:
                pipeline = replay_files(paths, tmp, policy, tap=collect)
    except OSError as exc:
        raise CliError(f"replay failed: {exc}") from None
    elapsed = time.perf_counter() - t0
    print(
        f"replayed {pipeline.stats.events_in:,} events in {elapsed:.2f} s"
        + (f" -> {args.out}" if args.out is not None else "")
    )

    predictions = backtest.predictions_for(labels, decisions)
    expected = {lab.event_id: lab.condition for lab in labels}
    result = backtest.score(expected, {k: p.condition for k, p in predictions.items()})
    sys.stdout.write(backtest.render(result, predictions, labels, min_accuracy=args.min_accuracy))
    return EXIT_OK if result.meets(args.min_accuracy) else EXIT_FAILED


def cmd_policy_check(args: argparse.Namespace) -> int:
    try:
        load_policy(args.file)
    except PolicyError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    print("ok")
    return EXIT_OK


def cmd_policy_show(args: argparse.Namespace) -> int:
    source = args.policy or os.environ.get("WISMO_POLICY") or None
    policy = _policy(args.policy)
    print(f"# effective policy ({source or 'bundled defaults'})")
    sys.stdout.write(yaml.safe_dump(policy.model_dump(mode="json"), sort_keys=False, allow_unicode=True))
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """One self-contained HTML report from a replay output directory or from the output topics in Kafka."""
    from wismo.report import build_figures
    from wismo.report_html import render_report
    from wismo.report_source import ReportSourceError, read_dir, read_kafka

    out = Path(args.out)
    if out.is_dir():
        raise CliError(f"--out {args.out} is a directory; give the HTML file to write")
    try:
        if args.from_kafka:
            from aiokafka.errors import KafkaError

            from wismo.streams.kafka_replay import parse_since

            if args.source:
                raise CliError("--from-kafka reads the output topics; give no DIR")
            since = parse_since(args.since) if args.since else None
            try:
                data = read_kafka(args.bootstrap, topic_prefix=args.topic_prefix, since_ms=since)
            except (KafkaError, OSError) as exc:
                raise CliError(f"cannot read Kafka at {args.bootstrap}: {exc}") from None
        else:
            if not args.source:
                raise CliError("give a replay output DIR, or --from-kafka to read the output topics")
            if args.since:
                raise CliError("--since applies to --from-kafka only")
            data = read_dir(args.source)
    except (ReportSourceError, ValueError) as exc:
        raise CliError(str(exc)) from None
    figures = build_figures(data.records, source=data.source, notes=data.notes)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(render_report(figures), encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        raise CliError(f"cannot write {args.out}: {exc}") from None
    h = figures.headline
    print(f"wismo report: {h.evaluations:,} evaluations, {h.cases:,} cases -> {out}")
    for note in figures.notes:
        print(f"  note: {note}", file=sys.stderr)
    return EXIT_OK


# ---- parser -------------------------------------------------------------------------------------


def _kafka_source_args(parser: argparse.ArgumentParser) -> None:
    """``--bootstrap`` and ``--topic-prefix`` of a command that can read Kafka instead of files."""
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("WISMO_KAFKA_BOOTSTRAP") or "127.0.0.1:9092",
        metavar="HOSTS",
        help="with --from-kafka: bootstrap servers (default $WISMO_KAFKA_BOOTSTRAP)",
    )
    parser.add_argument(
        "--topic-prefix",
        default=os.environ.get("WISMO_TOPIC_PREFIX", ""),
        metavar="P",
        help="with --from-kafka: prefix of the topic names (default $WISMO_TOPIC_PREFIX)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wismo",
        description="Answer and prevent 'where is my order?' contacts (event replay and tools).",
        epilog="The policy is --policy FILE, else $WISMO_POLICY, else the bundled defaults.",
    )
    parser.add_argument("--version", action="version", version=f"wismo {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def common(p: argparse.ArgumentParser, *, files_required: bool = True) -> None:
        p.add_argument(
            "inputs",
            nargs="+" if files_required else "*",
            metavar="INPUT.ndjson",
            help="canonical events, one JSON object per line (processed in file order)",
        )
        p.add_argument(
            "--mode", choices=("live", "testing"), help="override the policy's mode for every channel and condition"
        )
        p.add_argument("--policy", metavar="FILE", help="policy YAML (default: $WISMO_POLICY or the bundled one)")

    rp = sub.add_parser(
        "replay",
        help="replay event files through the pipeline into DIR/<topic>.ndjson",
        description="Replay canonical events in-process and write one ndjson file per output "
        "topic (empty when nothing was written to it).",
    )
    common(rp, files_required=False)
    rp.add_argument("--out", required=True, metavar="DIR", help="output directory")
    rp.add_argument("--quiet", action="store_true", help="no summary table and no progress bar")
    rp.add_argument(
        "--workers",
        default="auto",
        metavar="N",
        help="processes, one per partition of orders (default auto: one per core for inputs over 8 MB)",
    )
    rp.add_argument(
        "--from-kafka",
        action="store_true",
        help="read the input topics instead of files (shadow: nothing published, no Redis state written)",
    )
    when = rp.add_mutually_exclusive_group()
    when.add_argument("--since", metavar="TS", help="with --from-kafka: from this RFC 3339 time or epoch ms")
    when.add_argument("--offsets", metavar="SPEC", help="with --from-kafka: topic:partition:offset[,...]")
    _kafka_source_args(rp)
    rp.set_defaults(func=cmd_replay)

    bp = sub.add_parser(
        "backtest",
        help="replay and compare each labelled event's condition with its label",
        description="Replay, then score the condition_type of each labelled event's decision "
        "against the label file (.json {event_id: condition}, .ndjson/.jsonl "
        "{event_id, condition[, order_id]} lines, or .csv event_id,condition"
        "[,order_id]). Exit 1 below the required accuracy.",
    )
    common(bp)
    bp.add_argument("--labels", required=True, metavar="LABELS", help="expected condition per event_id")
    bp.add_argument("--out", metavar="DIR", help="keep the replay outputs here (default: a temporary dir)")
    bp.add_argument(
        "--min-accuracy",
        type=_min_accuracy,
        default=1.0,
        metavar="X",
        help="required accuracy, fraction or percentage (default 1.0 = every label matches)",
    )
    bp.set_defaults(func=cmd_backtest)

    pp = sub.add_parser("policy", help="validate or show a policy file")
    psub = pp.add_subparsers(dest="policy_command", metavar="ACTION")
    pc = psub.add_parser("check", help="validate a policy file (prints ok, or every problem; exit 0/2)")
    pc.add_argument("file", metavar="FILE")
    pc.set_defaults(func=cmd_policy_check)
    ps = psub.add_parser("show", help="print the effective policy (bundled defaults unless --policy / $WISMO_POLICY)")
    ps.add_argument("--policy", metavar="FILE")
    ps.set_defaults(func=cmd_policy_show)
    pp.set_defaults(func=None, subparser=pp)

    rep = sub.add_parser(
        "report",
        help="one self-contained HTML report (charts and tables) from replay outputs or the output topics",
        description="Build one HTML file with no external resources: conditions over time, escalation rate "
        "by condition, follow-up timeliness, time from backend exception to first customer update, guardrail "
        "failures, outputs, dead letters and suppressions. Source: a wismo replay --out DIR, or --from-kafka.",
    )
    rep.add_argument("source", nargs="?", metavar="DIR", help="a wismo replay output directory (<topic>.ndjson)")
    rep.add_argument("--out", required=True, metavar="REPORT.html", help="the HTML file to write")
    rep.add_argument(
        "--from-kafka", action="store_true", help="read the output topics (read-only: no group, nothing committed)"
    )
    rep.add_argument(
        "--since", metavar="TS", help="with --from-kafka: records published from this RFC 3339 time or epoch ms"
    )
    _kafka_source_args(rep)
    rep.set_defaults(func=cmd_report)
    cli_stream.register(sub)
    cli_control.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    func = getattr(args, "func", None)
    if func is None:
        (getattr(args, "subparser", None) or parser).print_help(sys.stderr)
        return EXIT_USAGE
    try:
        code: int = func(args)
    except CliError as exc:
        print(f"wismo {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return code


if __name__ == "__main__":
    sys.exit(main())
