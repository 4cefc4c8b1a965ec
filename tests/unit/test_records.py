"""Every record the engine writes honours the output contract (EVENTS.md), and the fast decision path
serialises exactly like the model."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from wismo.pipeline import Pipeline
from wismo.policy import load_policy
from wismo.records import (
    ActionDraftRecord,
    ActionRecord,
    DeadLetter,
    DecisionRecord,
    EscalationRecord,
    record_json,
)
from wismo.replay import read_lines

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "day.ndjson"
MODEL: dict[str, type[BaseModel]] = {
    "wismo.replies": ActionRecord,
    "wismo.notes": ActionRecord,
    "wismo.escalations": EscalationRecord,
    "wismo.actions": ActionDraftRecord,
    "wismo.decisions": DecisionRecord,
    "wismo.dlq": DeadLetter,
}
COMMON = (
    "action_id",
    "kind",
    "mode",
    "case_id",
    "order_id",
    "ticket_id",
    "condition_type",
    "recommended_action",
    "escalation_reasons",
    "text",
    "caused_by",
    "created_at",
)


@pytest.mark.parametrize("mode", ["live", "testing"])
def test_every_record_of_the_example_day_validates_against_its_model(mode):
    pipeline = Pipeline(load_policy().with_mode_override(mode))
    seen_topics = set()
    for item in read_lines([EXAMPLE]):
        for topic, rec in pipeline.process_line(item.raw, source_name=item.source_name, line=item.line):
            data = record_json(rec)
            assert data == rec.model_dump_json().encode()
            parsed = MODEL[topic].model_validate_json(data)  # the bytes round-trip through the contract model
            seen_topics.add(topic)
            if topic not in ("wismo.decisions", "wismo.dlq"):
                for f in COMMON:
                    assert (
                        f in parsed.model_fields_set
                        or getattr(parsed, f, None) is not None
                        or f in ("ticket_id", "order_id")
                    ), f
    assert {"wismo.decisions", "wismo.escalations", "wismo.dlq"} <= seen_topics
    assert ("wismo.replies" in seen_topics) == (mode == "live")
