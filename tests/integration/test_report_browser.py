"""``wismo report`` end to end: the bundled example day replayed in live mode, the report opened in headless
Chromium (screenshot + rendered DOM), and a report built from the output topics in Kafka.

Chromium is required (``/usr/bin/chromium``, or ``$WISMO_CHROMIUM``): a missing browser fails the test, it
never skips (CI installs the Debian ``chromium`` package). The screenshot is also kept at
``out/report/report.png`` under the repository (``out/`` is git-ignored) and its path printed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import struct
import subprocess
import time
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped,unused-ignore]
from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped,unused-ignore]
from wismo.streams.topics import TopicSpec, create_topics

from wismo.cli import main
from wismo.policy import load_policy
from wismo.records import OUTPUT_TOPICS, TOPIC_DECISIONS
from wismo.replay import replay_files
from wismo.report import Figures, build_figures
from wismo.report_html import CHARTS, CONDITION_COLORS
from wismo.report_source import read_dir, read_kafka

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "day.ndjson"
SCENARIOS = REPO / "scenarios"
SCREENSHOT = REPO / "out" / "report" / "report.png"
CHROMIUM = os.environ.get("WISMO_CHROMIUM", "/usr/bin/chromium")
WIDTH, HEIGHT = 1280, 2400
BROWSER_TIMEOUT_S = 120


# ---- Chromium -----------------------------------------------------------------------------------------------


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    if not Path(CHROMIUM).exists():
        raise AssertionError(
            f"{CHROMIUM} not found: install Chromium (Debian: apt-get install -y chromium) or set WISMO_CHROMIUM"
        )
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    done = subprocess.run(cmd, capture_output=True, timeout=BROWSER_TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read_png(path: Path) -> tuple[int, int, list[bytes], int]:
    """(width, height, unfiltered rows, bytes per pixel) of an 8-bit RGB or RGBA PNG (what Chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, bytearray()
    width = height = depth = color = 0
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
    assert depth == 8 and color in (2, 6), (depth, color)
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(bytes(idat))
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        f, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if f == 1:
            for x in range(bpp, stride):
                line[x] = (line[x] + line[x - bpp]) & 0xFF
        elif f == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif f == 3:
            for x in range(stride):
                left = line[x - bpp] if x >= bpp else 0
                line[x] = (line[x] + ((left + prev[x]) >> 1)) & 0xFF
        elif f == 4:
            for x in range(stride):
                left = line[x - bpp] if x >= bpp else 0
                corner = prev[x - bpp] if x >= bpp else 0
                line[x] = (line[x] + _paeth(left, prev[x], corner)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, rows, bpp


class _Charts(HTMLParser):
    """Every ``<svg data-chart>`` of a DOM dump: its title text and how many shapes and texts it holds."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, dict[str, Any]] = {}
        self._current: str | None = None
        self._in_title = False
        self._in_text = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        cid = a.get("data-chart")
        if tag == "svg" and cid:
            self._current = cid
            self.charts[cid] = {"title": "", "rects": 0, "texts": [], "labelledby": a.get("aria-labelledby")}
        elif self._current is not None:
            if tag == "title" and not self.charts[self._current]["title"]:
                self._in_title = True
            elif tag == "rect":
                self.charts[self._current]["rects"] += 1
            elif tag == "text":
                self.charts[self._current]["texts"].append("")
                self._in_text = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._current = None
        if tag == "title":
            self._in_title = False
        if tag == "text":
            self._in_text = False

    def handle_data(self, data: str) -> None:
        if self._current is None:
            return
        chart = self.charts[self._current]
        if self._in_title:
            chart["title"] += data
        elif self._in_text:
            chart["texts"][-1] += data


def test_example_day_report_renders_in_chromium(tmp_path):
    rep = tmp_path / "replay"
    assert main(["replay", str(EXAMPLE), "--out", str(rep), "--mode", "live", "--quiet"]) == 0
    html = tmp_path / "report.html"
    assert main(["report", str(rep), "--out", str(html)]) == 0
    url = html.resolve().as_uri()
    png = tmp_path / "report.png"

    _chromium(tmp_path, f"--screenshot={png}", f"--window-size={WIDTH},{HEIGHT}", url)
    dom = _chromium(tmp_path, "--dump-dom", url).stdout.decode()

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(png, SCREENSHOT)
    print(f"\nreport screenshot: {SCREENSHOT}")

    width, height, rows, bpp = read_png(png)
    assert (width, height) == (WIDTH, HEIGHT)
    pixels = {row[x : x + 3] for row in rows[::2] for x in range(0, len(row), bpp * 2)}
    assert len(pixels) > 200, f"only {len(pixels)} distinct colours: a blank page?"
    drawn = {c for c, hexcolor in CONDITION_COLORS.items() if bytes.fromhex(hexcolor[1:]) in pixels}
    assert len(drawn) >= 8, f"only these condition colours were painted: {sorted(drawn)}"

    charts = _Charts()
    charts.feed(dom)
    assert set(charts.charts) == set(CHARTS), sorted(charts.charts)
    for cid, chart in charts.charts.items():
        assert chart["title"] == CHARTS[cid]
        assert chart["labelledby"] == f"{cid}-title {cid}-desc"
        assert len(chart["texts"]) >= 4, (cid, chart["texts"])  # ticks and axis labels
    # the example day has data for every chart but the guardrail one (no text failed the guardrail)
    for cid in ("conditions-over-time", "escalation-rate", "follow-up-timeliness", "time-to-first-update"):
        assert "No data" not in charts.charts[cid]["texts"], cid
        assert charts.charts[cid]["rects"] > 3, cid
    assert "No data" in charts.charts["guardrail-failures"]["texts"]
    evaluations = sum(1 for line in (rep / f"{TOPIC_DECISIONS}.ndjson").read_bytes().splitlines() if line.strip())
    assert f">{evaluations:,}<" in dom  # the evaluations card, as rendered


# ---- --from-kafka -------------------------------------------------------------------------------------------


def _after_now() -> int:
    """An epoch-ms time after every record acknowledged so far, once the clock has passed it (a broker
    matches ``--since`` on the producer's timestamp, or on Tansu on the time it received the record)."""
    since = int(time.time() * 1000) + 1
    while time.time() * 1000 <= since:
        time.sleep(0.001)
    return since


async def _publish(bootstrap: str, prefix: str, out_dir: Path, extra: bytes | None = None) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    n = 0
    try:
        for topic in OUTPUT_TOPICS:
            for line in (out_dir / f"{topic}.ndjson").read_bytes().splitlines():
                order = orjson.loads(line).get("order_id")
                key = order.encode() if isinstance(order, str) else None
                await producer.send_and_wait(prefix + topic, line, key=key)
                n += 1
        if extra is not None:
            await producer.send_and_wait(prefix + TOPIC_DECISIONS, extra, key=b"junk")
    finally:
        await producer.stop()
    return n


async def _broker_view(bootstrap: str) -> tuple[set[str], set[str]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics()), {g[0] for g in await admin.list_consumer_groups()}
    finally:
        await admin.close()


async def _end_total(bootstrap: str, topics: list[str]) -> int:
    from aiokafka import TopicPartition  # type: ignore[import-untyped,unused-ignore]

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        return sum((await consumer.end_offsets(tps)).values())
    finally:
        await consumer.stop()


def _comparable(fig: Figures) -> tuple[Any, ...]:
    """The figures without the source name, and the guardrail rows as a multiset (ties may reorder)."""
    return (
        fig.headline,
        fig.timeline,
        fig.escalation,
        sorted(fig.follow_ups.commitments, key=repr),
        sorted(fig.first_updates.episodes, key=repr),
        sorted(fig.guardrails.failures, key=repr),
    )


def _merged(*dirs: Path) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {t: [] for t in OUTPUT_TOPICS}
    for d in dirs:
        for t, recs in read_dir(d).records.items():
            out[t] += recs
    return out


def test_report_from_kafka_output_topics(kafka_bootstrap, unique_name, tmp_path, capsys):
    prefix = unique_name("rep") + "."
    policy = load_policy().with_mode_override("live")
    first, second = tmp_path / "first", tmp_path / "second"
    replay_files(
        [SCENARIOS / "proactive_delivery_attempt_failed.ndjson", SCENARIOS / "batch_10_return_to_sender.ndjson"],
        first,
        policy,
    )
    replay_files(
        [SCENARIOS / "proactive_follow_up_due_no_change.ndjson", SCENARIOS / "bad_input_dead_letters.ndjson"],
        second,
        policy,
    )
    report = asyncio.run(
        create_topics(kafka_bootstrap, [TopicSpec(name=prefix + t, partitions=2) for t in OUTPUT_TOPICS])
    )
    assert report.ok, report.table()
    published = asyncio.run(_publish(kafka_bootstrap, prefix, first, extra=b"{not json"))
    since = _after_now()
    published += asyncio.run(_publish(kafka_bootstrap, prefix, second))
    assert asyncio.run(_end_total(kafka_bootstrap, [prefix + t for t in OUTPUT_TOPICS])) == published + 1
    before = asyncio.run(_broker_view(kafka_bootstrap))

    everything = read_kafka(kafka_bootstrap, topic_prefix=prefix)
    recent = read_kafka(kafka_bootstrap, topic_prefix=prefix, since_ms=since)

    assert asyncio.run(_broker_view(kafka_bootstrap)) == before  # no topic created, no consumer group
    assert any("not JSON" in n for n in everything.notes)
    assert recent.notes == []  # the junk message was in the first batch
    from_kafka = build_figures(everything.records, notes=everything.notes)
    from_files = build_figures(_merged(first, second))
    assert from_kafka.headline.evaluations > 0 and from_kafka.headline.dead_letters > 0
    assert _comparable(from_kafka) == _comparable(from_files)
    assert _comparable(build_figures(recent.records)) == _comparable(build_figures(_merged(second)))

    html = tmp_path / "kafka-report.html"
    code = main(
        ["report", "--from-kafka", "--bootstrap", kafka_bootstrap, "--topic-prefix", prefix, "--out", str(html)]
    )
    assert code == 0
    page = html.read_text(encoding="utf-8")
    for title in CHARTS.values():
        assert f">{title}</title>" in page
    assert f"{from_kafka.headline.evaluations:,} evaluations" in capsys.readouterr().out


def test_report_from_kafka_with_no_topics_is_an_empty_report(kafka_bootstrap, unique_name, tmp_path, capsys):
    prefix = unique_name("none") + "."
    before = asyncio.run(_broker_view(kafka_bootstrap))
    html = tmp_path / "empty.html"

    code = main(
        ["report", "--from-kafka", "--bootstrap", kafka_bootstrap, "--topic-prefix", prefix, "--out", str(html)]
    )

    assert code == 0
    assert asyncio.run(_broker_view(kafka_bootstrap)) == before  # reading named no missing topic
    page = html.read_text(encoding="utf-8")
    assert page.count(">No data</text>") == len(CHARTS)
    assert f"topic {prefix}wismo.decisions does not exist" in capsys.readouterr().err
