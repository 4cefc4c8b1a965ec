"""Backtest scoring (wismo.backtest): metrics, confusion matrix, label files, missing predictions."""

from __future__ import annotations

from pathlib import Path

import pytest

from wismo.backtest import (
    NONE,
    ClassMetrics,
    Label,
    LabelError,
    Prediction,
    Score,
    abbreviations,
    load_labels,
    parse_labels,
    predictions_for,
    render,
    score,
    unknown_conditions,
)


def metrics(result: Score, condition: str) -> ClassMetrics:
    return next(m for m in result.per_class if m.condition == condition)


# ---- score --------------------------------------------------------------------------------------


def test_perfect_predictions() -> None:
    expected = {"e1": "delivered", "e2": "standard_in_transit", "e3": "delivered"}
    result = score(expected, dict(expected))
    assert (result.total, result.correct, result.accuracy) == (3, 3, 1.0)
    assert result.mismatches == ()
    assert result.meets(1.0)
    for m in result.per_class:
        assert (m.precision, m.recall, m.f1) == (1.0, 1.0, 1.0)
    assert metrics(result, "delivered").support == 2


def test_precision_recall_f1_by_hand() -> None:
    # expected: 3 x delivered, 2 x delivery_failed, 1 x restricted_hold
    expected = {
        "a": "delivered",
        "b": "delivered",
        "c": "delivered",
        "d": "delivery_failed",
        "e": "delivery_failed",
        "f": "restricted_hold",
    }
    predicted = {
        "a": "delivered",
        "b": "delivered",
        "c": "delivery_failed",
        "d": "delivery_failed",
        "e": "delivered",
        "f": "restricted_hold",
    }
    result = score(expected, predicted)
    assert (result.correct, result.total) == (4, 6)
    assert result.accuracy == pytest.approx(4 / 6)

    d = metrics(result, "delivered")  # tp 2, predicted 3 (a, b, e), support 3
    assert (d.true_positives, d.predicted, d.support) == (2, 3, 3)
    assert d.precision == pytest.approx(2 / 3)
    assert d.recall == pytest.approx(2 / 3)
    assert d.f1 == pytest.approx(2 / 3)

    f = metrics(result, "delivery_failed")  # tp 1 (d), predicted 2 (c, d), support 2
    assert f.precision == pytest.approx(0.5)
    assert f.recall == pytest.approx(0.5)

    h = metrics(result, "restricted_hold")
    assert (h.precision, h.recall, h.f1, h.support) == (1.0, 1.0, 1.0, 1)


def test_f1_is_harmonic_mean() -> None:
    # x: tp 1, predicted 1, support 3 -> precision 1, recall 1/3, f1 0.5
    result = score(
        {"1": "delivered", "2": "delivered", "3": "delivered"},
        {"1": "delivered", "2": "delivery_failed", "3": "delivery_failed"},
    )
    d = metrics(result, "delivered")
    assert d.precision == 1.0
    assert d.recall == pytest.approx(1 / 3)
    assert d.f1 == pytest.approx(0.5)
    # a class that is only predicted, never expected: precision 0, recall undefined -> 0, support 0
    f = metrics(result, "delivery_failed")
    assert (f.precision, f.recall, f.f1, f.support, f.predicted) == (0.0, 0.0, 0.0, 0, 2)


def test_confusion_matrix_counts_and_axes() -> None:
    expected = {"a": "delivered", "b": "delivered", "c": "restricted_hold", "d": "standard_in_transit"}
    predicted = {"a": "delivered", "b": "standard_in_transit", "c": "restricted_hold", "d": "standard_in_transit"}
    result = score(expected, predicted)
    assert result.confusion[("delivered", "delivered")] == 1
    assert result.confusion[("delivered", "standard_in_transit")] == 1
    assert result.confusion[("restricted_hold", "restricted_hold")] == 1
    assert result.confusion[("standard_in_transit", "standard_in_transit")] == 1
    assert sum(result.confusion.values()) == 4
    # only conditions that occur, in routing precedence
    assert result.expected_classes == ("restricted_hold", "standard_in_transit", "delivered")
    assert result.predicted_classes == ("restricted_hold", "standard_in_transit", "delivered")


def test_missing_prediction_is_a_mismatch_with_none() -> None:
    result = score({"a": "delivered", "b": "delivered"}, {"a": "delivered"})
    assert (result.correct, result.total) == (1, 2)
    assert [(m.event_id, m.expected, m.predicted) for m in result.mismatches] == [("b", "delivered", NONE)]
    assert result.predicted_classes[-1] == NONE
    assert result.confusion[("delivered", NONE)] == 1
    assert NONE not in {m.condition for m in result.per_class}
    assert metrics(result, "delivered").recall == 0.5
    assert not result.meets(1.0)
    assert result.meets(0.5)


def test_predictions_for_unlabelled_events_are_ignored() -> None:
    result = score({"a": "delivered"}, {"a": "delivered", "zzz": "restricted_hold"})
    assert result.total == 1 and result.accuracy == 1.0
    assert "restricted_hold" not in result.predicted_classes


def test_meets_threshold_without_float_surprises() -> None:
    expected = {str(i): "delivered" for i in range(10)}
    predicted = {str(i): "delivered" for i in range(9)}  # 9/10
    result = score(expected, predicted)
    assert result.meets(0.9)
    assert not result.meets(0.91)
    assert not score({}, {}).meets(0.0)  # nothing labelled never passes


# ---- predictions from decisions -----------------------------------------------------------------


def decision(caused_by: str, order_id: str | None, condition: str, reason: str = "r") -> dict[str, object]:
    return {
        "caused_by": caused_by,
        "order_id": order_id,
        "condition_type": condition,
        "inputs": {"route_reason": reason},
    }


def test_predictions_pick_the_labelled_order_of_a_sweep() -> None:
    decisions = [
        decision("sweep-1", "A1", "standard_in_transit", "moving"),
        decision("sweep-1", "A2", "no_tracking_movement", "no scan for 80h"),
        decision("evt-1", "A1", "delivered"),
        decision("other", "A1", "delivered"),
    ]
    labels = [
        Label("sweep-1", "no_tracking_movement", "A2"),
        Label("evt-1", "delivered"),
        Label("sweep-1x", "delivered"),
    ]
    preds = predictions_for(labels, decisions)
    assert preds["sweep-1"] == Prediction("no_tracking_movement", "A2", "no scan for 80h")
    assert preds["evt-1"].condition == "delivered"
    assert "sweep-1x" not in preds  # no decision: scored as (none)


def test_predictions_default_to_the_first_decision() -> None:
    decisions = [decision("sweep-1", "A1", "standard_in_transit"), decision("sweep-1", "A2", "delivered")]
    assert predictions_for([Label("sweep-1", "delivered")], decisions)["sweep-1"].order_id == "A1"
    # an order id that matches nothing also falls back to the first
    assert predictions_for([Label("sweep-1", "delivered", "A9")], decisions)["sweep-1"].order_id == "A1"


# ---- label files --------------------------------------------------------------------------------


def test_label_file_formats(tmp_path: Path) -> None:
    j = tmp_path / "l.json"
    j.write_text('{"evt-1": "delivered", "evt-2": {"condition": "restricted_hold", "order_id": "A2"}}')
    n = tmp_path / "l.ndjson"
    n.write_text(
        '{"event_id": "evt-1", "condition": "delivered"}\n\n'
        '{"event_id": "evt-2", "condition_type": "restricted_hold", "order_id": "A2"}\n'
    )
    c = tmp_path / "l.csv"
    c.write_text("event_id,condition,order_id\nevt-1,delivered,\nevt-2, restricted_hold ,A2\n")
    want = [Label("evt-1", "delivered"), Label("evt-2", "restricted_hold", "A2")]
    assert load_labels(j) == want
    assert load_labels(n) == want
    assert load_labels(c) == want
    jl = tmp_path / "l.jsonl"
    jl.write_text(n.read_text())
    assert load_labels(jl) == want


def test_csv_without_header() -> None:
    assert parse_labels("e1,delivered\ne2,delivery_failed\n", "csv") == [
        Label("e1", "delivered"),
        Label("e2", "delivery_failed"),
    ]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("l.txt", "e1,delivered", "unknown label file type"),
        ("l.json", "[1, 2", "not valid JSON"),
        ("l.json", '"delivered"', "expected a JSON object"),
        ("l.ndjson", '{"event_id": "e1"}', "condition missing"),
        ("l.ndjson", '{"condition": "delivered"}', "event_id missing"),
        ("l.csv", "e1\n", "expected event_id,condition"),
        ("l.csv", "event_id,condition\n", "no labels"),
        ("l.json", '{"e1": "delivered", "e2": "x"}\n', None),
        ("l.ndjson", '{"event_id": "e1", "condition": "a"}\n{"event_id": "e1", "condition": "b"}', "labelled both"),
    ],
)
def test_bad_label_files(tmp_path: Path, name: str, text: str, message: str | None) -> None:
    p = tmp_path / name
    p.write_text(text)
    if message is None:
        assert len(load_labels(p)) == 2
        return
    with pytest.raises(LabelError, match=message):
        load_labels(p)


def test_missing_label_file(tmp_path: Path) -> None:
    with pytest.raises(LabelError, match="cannot read"):
        load_labels(tmp_path / "nope.json")


def test_unknown_conditions_are_reported() -> None:
    labels = [Label("a", "delivered"), Label("b", "delivred"), Label("c", "lost")]
    assert unknown_conditions(labels) == ["delivred", "lost"]


# ---- report -------------------------------------------------------------------------------------


def test_abbreviations_are_unique() -> None:
    abbr = abbreviations(["delivered", "delivery_failed", "delivered_not_received", "d", NONE, "dee"])
    assert abbr["delivered"] == "D"
    assert abbr["delivery_failed"] == "DF"
    assert abbr["delivered_not_received"] == "DNR"
    assert abbr[NONE] == "none"
    assert len(set(abbr.values())) == len(abbr)


def test_render_lists_metrics_matrix_and_mismatches() -> None:
    expected = {"e1": "delivered", "e2": "standard_in_transit", "e3": "delivered"}
    predicted = {"e1": "delivered", "e2": "no_tracking_movement"}
    preds = {
        "e1": Prediction("delivered", "A1", "all delivered"),
        "e2": Prediction("no_tracking_movement", "A2", "no carrier scan for 80h"),
    }
    labels = [Label("e1", "delivered"), Label("e2", "standard_in_transit"), Label("e3", "delivered", "A3")]
    text = render(score(expected, predicted), preds, labels)
    assert "accuracy: 33.33% (1/3 correct; required 100.00%) FAIL" in text
    assert "Confusion matrix" in text
    assert "NTM = no_tracking_movement" in text
    mismatch_lines = text.split("Mismatches (2)")[1].splitlines()
    assert any(
        ln.split()[:4] == ["e2", "A2", "standard_in_transit", "no_tracking_movement"]
        and "no carrier scan for 80h" in ln
        for ln in mismatch_lines
    )
    assert any(ln.split()[:4] == ["e3", "A3", "delivered", NONE] for ln in mismatch_lines)
    assert "PASS" in render(score(expected, predicted), preds, labels, min_accuracy=0.3)
