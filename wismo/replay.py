"""File replay: canonical events in, one ndjson file per output topic out (EVENTS.md "Replay").

Events are processed in file order (files in the order given), in-process, with no servers. The output
directory always gets every output topic's file, empty when nothing was written to it.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from wismo.pipeline import Output, Pipeline
from wismo.policy import Policy
from wismo.records import OUTPUT_TOPICS
from wismo.sinks.files import NdjsonTopicWriter


@dataclass(frozen=True, slots=True)
class InputLine:
    raw: bytes
    source_name: str
    line: int


def read_lines(paths: Iterable[str | Path]) -> Iterator[InputLine]:
    """Every non-blank line of every file, in order (bytes; decoding is the intake's job)."""
    for path in paths:
        name = str(path)
        with open(path, "rb") as fh:
            for n, raw in enumerate(fh, 1):
                raw = raw.strip()
                if raw:
                    yield InputLine(raw, name, n)


Progress = Callable[[int, int], None]
"""Progress callback: (input lines done, input bytes consumed, approximately: stripped line + newline)."""


def run_lines(
    pipeline: Pipeline,
    lines: Iterable[InputLine],
    sink: Callable[[list[Output]], None],
    progress: Progress | None = None,
) -> None:
    """Feed ``lines`` through ``pipeline``; hand each input's outputs to ``sink``, then the follow-ups due by
    the last event time that no later input of their case fired (:meth:`Pipeline.end_of_input`). ``progress``
    is called every 1000 lines and once at the end."""
    if progress is None:
        for item in lines:
            sink(pipeline.process_line(item.raw, source_name=item.source_name, line=item.line))
    else:
        i = nbytes = 0
        for i, item in enumerate(lines, 1):
            sink(pipeline.process_line(item.raw, source_name=item.source_name, line=item.line))
            nbytes += len(item.raw) + 1
            if i % 1000 == 0:
                progress(i, nbytes)
        progress(i, nbytes)
    sink(pipeline.end_of_input())


def replay_files(
    paths: list[str | Path],
    out_dir: str | Path,
    policy: Policy,
    progress: Progress | None = None,
    *,
    tap: Callable[[list[Output]], None] | None = None,
    pipeline: Pipeline | None = None,
    workers: int = 1,
    raw_tap: Callable[[str, bytes], None] | None = None,
) -> Pipeline:
    """Replay ``paths`` into ``out_dir``; return the pipeline (its ``stats`` hold the run's summary).
    ``tap``, if given, sees every input's outputs just before they are written (counting, backtests);
    ``pipeline``, if given, is used instead of a fresh ``Pipeline(policy)`` (its stats stay readable even
    when ``progress`` aborts the run by raising)."""
    if workers > 1:
        return _replay_partitioned(paths, Path(out_dir), policy, workers, progress, raw_tap)
    return replay_lines(read_lines(paths), out_dir, policy, progress=progress, tap=tap, pipeline=pipeline)


def replay_lines(
    lines: Iterable[InputLine],
    out_dir: str | Path,
    policy: Policy,
    *,
    progress: Progress | None = None,
    tap: Callable[[list[Output]], None] | None = None,
    pipeline: Pipeline | None = None,
) -> Pipeline:
    """Run ``lines`` through ``pipeline`` (a fresh in-memory one by default) into ``DIR/<topic>.ndjson`` (every
    output topic's file, empty when nothing was written). ``tap`` sees every input's outputs just before they
    are written. Used by file replays and topic replays alike."""
    if pipeline is None:
        pipeline = Pipeline(policy)
    with quiet_gc(), NdjsonTopicWriter(Path(out_dir), OUTPUT_TOPICS) as writer:
        sink: Callable[[list[Output]], None] = writer.write_all
        if tap is not None:
            write, observe = writer.write_all, tap

            def tapped(outputs: list[Output]) -> None:
                observe(outputs)
                write(outputs)

            sink = tapped
        run_lines(pipeline, lines, sink, progress)
        pipeline.stats.outputs.update(writer.counts)
    return pipeline


def _replay_partitioned(
    paths: list[str | Path],
    out_dir: Path,
    policy: Policy,
    workers: int,
    progress: Progress | None,
    raw_tap: Callable[[str, bytes], None] | None,
) -> Pipeline:
    """``replay_files`` over ``workers`` processes (see :mod:`wismo.parallel_replay`). Taps see each record
    as (topic, JSON bytes)."""
    from wismo.parallel_replay import replay_partitioned

    with NdjsonTopicWriter(out_dir, OUTPUT_TOPICS) as writer:
        write_raw = writer.write_raw
        write = write_raw
        if raw_tap is not None:
            observe = raw_tap

            def write_and_tap(topic: str, data: bytes) -> None:
                observe(topic, data)
                write_raw(topic, data)

            write = write_and_tap
        counter = None if progress is None else (lambda n: progress(n, 0))
        stats = replay_partitioned(read_lines(paths), policy, workers, write, counter)
        stats.outputs.update(writer.counts)
    summary = Pipeline(policy)
    summary.stats = stats
    return summary


@contextmanager
def quiet_gc() -> Iterator[None]:
    """Collect the young generation rarely during a replay: the pipeline allocates many small, long-lived
    state objects, and default thresholds make the cyclic GC rescan them constantly (measured: ~15% of
    replay time). Restores the previous thresholds afterwards."""
    before = gc.get_threshold()
    gc.set_threshold(50_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def replay_to_memory(paths: list[str | Path], policy: Policy) -> dict[str, list[dict[str, object]]]:
    """Replay into memory: topic -> records as JSON-compatible dicts (for tests and backtests)."""
    pipeline = Pipeline(policy)
    out: dict[str, list[dict[str, object]]] = {t: [] for t in OUTPUT_TOPICS}

    def sink(outputs: list[Output]) -> None:
        for topic, rec in outputs:
            out[topic].append(rec.model_dump(mode="json"))

    run_lines(pipeline, read_lines(paths), sink)
    return out
