"""A partitioned replay writes the same records as a sequential one (order of lines aside)."""

from __future__ import annotations

from pathlib import Path

from wismo.policy import load_policy
from wismo.records import OUTPUT_TOPICS
from wismo.replay import replay_files

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "day.ndjson"


def _lines(d: Path, topic: str) -> list[bytes]:
    return sorted((d / f"{topic}.ndjson").read_bytes().splitlines())


def test_two_workers_write_the_same_records_as_one(tmp_path):
    policy = load_policy().with_mode_override("live")
    seq = replay_files([EXAMPLE], tmp_path / "seq", policy)
    par = replay_files([EXAMPLE], tmp_path / "par", policy, workers=2)
    for topic in OUTPUT_TOPICS:
        assert _lines(tmp_path / "seq", topic) == _lines(tmp_path / "par", topic), topic
    assert par.stats.evaluations == seq.stats.evaluations
    assert par.stats.events_in == seq.stats.events_in
    assert sum(1 for _ in (tmp_path / "par" / "wismo.replies.ndjson").open()) > 0
