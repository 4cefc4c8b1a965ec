"""File sink: one ndjson file per output topic (what ``wismo replay`` writes)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import IO

from pydantic import BaseModel

from wismo.records import record_json


class NdjsonTopicWriter:
    """Writes records to ``DIR/<topic>.ndjson``. Every topic's file exists after ``__enter__`` (empty when
    nothing is written). Not thread-safe; one writer per directory."""

    def __init__(self, out_dir: Path, topics: Iterable[str]) -> None:
        self.out_dir = out_dir
        self.topics = tuple(topics)
        self.counts: Counter[str] = Counter()
        self._files: dict[str, IO[bytes]] = {}

    def __enter__(self) -> NdjsonTopicWriter:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for t in self.topics:
            self._files[t] = open(self.out_dir / f"{t}.ndjson", "wb", buffering=1 << 20)
        return self

    def write_all(self, outputs: Iterable[tuple[str, BaseModel]]) -> None:
        for topic, rec in outputs:
            self._files[topic].write(record_json(rec) + b"\n")
            self.counts[topic] += 1

    def write_raw(self, topic: str, data: bytes) -> None:
        """Write one already-serialised record (JSON bytes without the newline)."""
        self._files[topic].write(data + b"\n")
        self.counts[topic] += 1

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        for fh in self._files.values():
            fh.close()
