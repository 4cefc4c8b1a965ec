"""``topics.yaml`` loading and ``wismo topics create`` against the session's Kafka broker."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped,unused-ignore]
from aiokafka.admin.config_resource import (  # type: ignore[import-untyped,unused-ignore]
    ConfigResource,
    ConfigResourceType,
)
from wismo.streams import topics
from wismo.streams.topics import TopicsFileError, TopicSpec, create_topics, load_topics, parse_retention_ms

REPO_TOPICS = Path(__file__).resolve().parents[2] / "topics.yaml"
DAY_MS = 86_400_000


def _write_topics(path: Path, inputs: list[dict[str, object]], outputs: list[dict[str, object]] = []) -> Path:  # noqa: B006
    path.write_text(
        yaml.safe_dump({"defaults": {"partitions": 4, "replication_factor": 1}, "inputs": inputs, "outputs": outputs})
    )
    return path


async def _describe(bootstrap: str, names: list[str]) -> tuple[dict[str, int], dict[str, dict[str, str]]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        partitions = {d["topic"]: len(d["partitions"]) for d in await admin.describe_topics(names)}
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in names])
        configs = {
            resource[3]: {entry[0]: entry[1] for entry in resource[4]}
            for response in responses
            for resource in response.resources
        }
    finally:
        await admin.close()
    return partitions, configs


# ---- the file -------------------------------------------------------------------------------------------------


def test_repo_topics_file_loads():
    specs = load_topics(REPO_TOPICS)
    by_name = {s.name: s for s in specs}
    assert len(specs) == len(by_name) == 15
    assert [s.name for s in specs if s.role == "input"][:2] == ["wismo.in.ticket", "wismo.in.oms"]
    assert by_name["wismo.dlq"].partitions == 1
    assert {s.partitions for s in specs if s.role == "input"} == {4}  # inputs must agree (one owner per order)
    assert by_name["wismo.in.ticket"].configs == {"retention.ms": str(14 * DAY_MS)}
    assert by_name["wismo.decisions"].retention_ms == 90 * DAY_MS
    assert all(s.replication_factor == 1 and s.key and s.purpose for s in specs)
    assert topics.default_topics_file() == REPO_TOPICS


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("14d", 14 * DAY_MS),
        ("12h", 43_200_000),
        ("30m", 1_800_000),
        ("45s", 45_000),
        ("500ms", 500),
        ("2w", 14 * DAY_MS),
        (1000, 1000),
        ("1000", 1000),
        (-1, -1),
        ("forever", -1),
    ],
)
def test_retention_durations(text, ms):
    assert parse_retention_ms(text) == ms


def test_invalid_file_names_every_problem(tmp_path):
    bad = tmp_path / "topics.yaml"
    bad.write_text(
        yaml.safe_dump(
            {
                "defaults": {"partitions": 4, "colour": "red"},
                "inputs": [
                    {"name": "a", "partitions": 0},
                    {"name": "bad name!"},
                    {"name": "b", "retention": "fortnight"},
                    {"name": "b"},
                    {"name": "c", "partition": 3},
                ],
                "extras": [],
            }
        )
    )
    with pytest.raises(TopicsFileError) as err:
        load_topics(bad)
    message = str(err.value)
    for expected in [
        "unknown key 'extras'",
        "defaults: unknown key 'colour'",
        "inputs[0] (a): partitions must be a positive integer, not 0",
        "inputs[1] (bad name!): name must be",
        "inputs[2] (b): retention must be a duration",
        "inputs[3] (b): duplicate topic name",
        "inputs[4] (c): unknown key 'partition'",
    ]:
        assert expected in message


def test_cli_exit_2_on_invalid_or_missing_file(tmp_path, capsys):
    assert topics.main(["create", "--file", str(tmp_path / "nope.yaml"), "--bootstrap", "127.0.0.1:1"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_register_adds_topics_create(monkeypatch):
    monkeypatch.setenv("WISMO_KAFKA_BOOTSTRAP", "kafka.example:9093")
    parser = argparse.ArgumentParser(prog="wismo")
    topics.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["topics", "create"])
    assert args.func is topics.cmd_topics_create
    assert (args.bootstrap, args.file) == ("kafka.example:9093", None)
    monkeypatch.delenv("WISMO_KAFKA_BOOTSTRAP")
    parser = argparse.ArgumentParser(prog="wismo")
    topics.register(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["topics", "create", "--file", "t.yaml"]).bootstrap == "127.0.0.1:9092"


# ---- against the broker -------------------------------------------------------------------------------------


def test_create_twice_is_idempotent(kafka_bootstrap, unique_name):
    prefix = unique_name("wismo")
    specs = [replace(s, name=f"{prefix}.{s.name}") for s in load_topics(REPO_TOPICS)]
    names = [s.name for s in specs]

    first = asyncio.run(create_topics(kafka_bootstrap, specs))
    assert [r.status for r in first.results] == ["created"] * len(specs), first.table()
    assert first.ok

    partitions, configs = asyncio.run(_describe(kafka_bootstrap, names))
    assert partitions == {s.name: s.partitions for s in specs}
    assert configs[f"{prefix}.wismo.in.clock"]["retention.ms"] == str(3 * DAY_MS)

    second = asyncio.run(create_topics(kafka_bootstrap, specs))
    assert [r.status for r in second.results] == ["exists"] * len(specs), second.table()
    assert [r.actual_partitions for r in second.results] == [s.partitions for s in specs]
    assert second.ok


def test_partition_mismatch_is_reported_and_exits_1(kafka_bootstrap, make_topic, unique_name, tmp_path, capsys):
    existing = make_topic(partitions=2)
    fresh = unique_name("fresh")
    file = _write_topics(
        tmp_path / "topics.yaml",
        inputs=[{"name": existing, "key": "order_id", "partitions": 4, "retention": "1d"}],
        outputs=[{"name": fresh, "key": "order_id", "partitions": 1}],
    )

    code = topics.main(["create", "--bootstrap", kafka_bootstrap, "--file", str(file)])
    out, err = capsys.readouterr()
    assert code == 1
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:-1]}
    assert rows[existing][:4] == [existing, "mismatch", "4", "2"]
    assert rows[fresh][:4] == [fresh, "created", "1", "1"]  # the rest of the file is still applied
    assert f"{existing}: mismatch: expected 4 partitions, found 2; not changed" in err

    partitions, _ = asyncio.run(_describe(kafka_bootstrap, [existing]))
    assert partitions == {existing: 2}  # never altered

    report = asyncio.run(create_topics(kafka_bootstrap, load_topics(file)))
    assert (report.status_of(existing), report.status_of(fresh)) == ("mismatch", "exists")
    assert not report.ok and [p.name for p in report.problems] == [existing]


def test_cli_uses_env_bootstrap_and_exits_0(kafka_bootstrap, unique_name, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WISMO_KAFKA_BOOTSTRAP", kafka_bootstrap)
    name = unique_name("env")
    file = _write_topics(tmp_path / "topics.yaml", inputs=[{"name": name, "partitions": 3}])
    assert topics.main(["create", "--file", str(file)]) == 0
    assert f"1 topic(s) on {kafka_bootstrap}: 1 created" in capsys.readouterr().out
    assert topics.main(["create", "--file", str(file)]) == 0
    assert "1 exists" in capsys.readouterr().out


def test_broker_refusal_is_an_error_row(kafka_bootstrap, unique_name):
    """A refused creation (here an impossible partition count) is reported, not raised or skipped."""
    good, bad = unique_name("good"), unique_name("bad")
    specs = [TopicSpec(name=good, partitions=1), TopicSpec(name=bad, partitions=1, replication_factor=3)]
    report = asyncio.run(create_topics(kafka_bootstrap, specs))
    assert report.status_of(good) == "created"
    # Kafka refuses replication 3 on one broker (InvalidReplicationFactorError); Tansu accepts it.
    assert report.status_of(bad) in ("error", "created")
    if report.status_of(bad) == "error":
        assert not report.ok
