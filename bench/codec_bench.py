"""State codec benchmark: µs per encode and decode of the order contexts and cases the example day leaves.

Replays ``examples/day.ndjson`` in memory, then times, on the same objects and in the same run:

* ``wismo.state_codec`` (the Redis state codec: positional orjson arrays, validated on the way back);
* a pydantic v2 ``TypeAdapter`` per class (``dump_json`` / ``validate_json``), the alternative considered;
* the baseline: ``orjson.dumps`` / ``orjson.loads`` of the same data as plain dicts (no conversion back).

Each figure is the best of ``--repeat`` runs of ``--rounds`` passes over every object (µs per object), also
as a ratio to the baseline. ``exact`` says whether every object came back identical, value types and
time zones included (``==`` alone cannot tell ``datetime.UTC`` from pydantic's ``TzInfo(0)``).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from pydantic import TypeAdapter

from wismo.case import CaseState
from wismo.context import OrderContext
from wismo.pipeline import Pipeline
from wismo.policy import load_policy
from wismo.replay import read_lines
from wismo.state_codec import decode_case, decode_context, encode_case, encode_context

EXAMPLE_DAY = Path(__file__).resolve().parents[1] / "examples" / "day.ndjson"


def fingerprint(v: object) -> object:
    """Equal for exactly equal state: value types, Decimal exponents, tzinfo types and offsets, dict order."""
    if is_dataclass(v) and not isinstance(v, type):
        return (type(v).__name__, tuple((f.name, fingerprint(getattr(v, f.name))) for f in fields(v)))
    if isinstance(v, dict):
        return tuple((k, fingerprint(x)) for k, x in v.items())
    if isinstance(v, list):
        return tuple(fingerprint(x) for x in v)
    if isinstance(v, datetime):
        return (v.replace(tzinfo=None).isoformat(), repr(v.tzinfo), v.utcoffset())
    return (type(v).__name__, repr(v))


def per_object_us(fn: Callable[[Any], object], items: Sequence[Any], rounds: int, repeat: int) -> float:
    best = float("inf")
    gc.disable()
    try:
        for _ in range(repeat):
            t0 = time.perf_counter()
            for _ in range(rounds):
                for x in items:
                    fn(x)
            best = min(best, time.perf_counter() - t0)
    finally:
        gc.enable()
    return best / (rounds * len(items)) * 1e6


def day_state(path: Path) -> tuple[list[OrderContext], list[CaseState]]:
    pipeline = Pipeline(load_policy())
    for item in read_lines([path]):
        pipeline.process_line(item.raw, source_name=item.source_name, line=item.line)
    return list(pipeline.state.contexts.values()), list(pipeline.state.cases.values())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="wismo state codec benchmark")
    ap.add_argument("--rounds", type=int, default=200, help="passes over every object per timed run")
    ap.add_argument("--repeat", type=int, default=7, help="timed runs; the best counts")
    args = ap.parse_args(argv)
    if args.rounds < 1 or args.repeat < 1:
        ap.error("--rounds and --repeat must be at least 1")

    contexts, cases = day_state(EXAMPLE_DAY)
    print(f"example day: {len(contexts)} order contexts, {len(cases)} cases; µs per object, best of {args.repeat}")
    print(f"{'':8} {'approach':22} {'encode':>7} {'decode':>7} {'total':>7} {'x baseline':>10} {'bytes':>6}  exact")
    kinds: list[tuple[str, type, Sequence[Any], Callable[[Any], bytes], Callable[[bytes], Any]]] = [
        ("context", OrderContext, contexts, encode_context, decode_context),
        ("case", CaseState, cases, encode_case, decode_case),
    ]
    for kind, cls, items, encode, decode in kinds:
        plain = [orjson.loads(orjson.dumps(asdict(x), default=str)) for x in items]
        plain_blobs = [orjson.dumps(p) for p in plain]
        base_enc = per_object_us(orjson.dumps, plain, args.rounds, args.repeat)
        base_dec = per_object_us(orjson.loads, plain_blobs, args.rounds, args.repeat)
        base = base_enc + base_dec
        adapter: TypeAdapter[Any] = TypeAdapter(cls)
        approaches: list[tuple[str, Callable[[Any], bytes], Callable[[bytes], Any]]] = [
            ("state_codec (chosen)", encode, decode),
            ("pydantic TypeAdapter", adapter.dump_json, adapter.validate_json),
        ]
        for name, enc, dec in approaches:
            blobs = [enc(x) for x in items]
            exact = all(fingerprint(dec(b)) == fingerprint(x) for b, x in zip(blobs, items, strict=True))
            e = per_object_us(enc, items, args.rounds, args.repeat)
            d = per_object_us(dec, blobs, args.rounds, args.repeat)
            size = statistics.mean(len(b) for b in blobs)
            print(
                f"{kind:8} {name:22} {e:7.2f} {d:7.2f} {e + d:7.2f} {(e + d) / base:9.1f}x {size:6.0f}  "
                f"{'yes' if exact else 'NO'}"
            )
        size = statistics.mean(len(b) for b in plain_blobs)
        name = "orjson dicts (baseline)"
        print(f"{kind:8} {name:22} {base_enc:7.2f} {base_dec:7.2f} {base:7.2f} {1:9.1f}x {size:6.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
