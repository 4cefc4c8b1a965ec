"""A sweep's deferred per-order evaluation (``slice:<sweep id>:<order id>`` ticks, sent by a streaming worker for
the part of a large sweep it does not evaluate in the sweep's own batch): evaluated as the sweep would have,
unless the order left progress or was evaluated again at or after the sweep's time."""

from __future__ import annotations

from builders import T0, cancelled, fulfillment, label, placed, run, scan, tick

from wismo.events import ClockTick, EmptyPayload
from wismo.pipeline import sweep_slice_tick

SWEEP = ClockTick(event_id="sweep-7", source="clock", type="clock.tick", occurred_at=T0, payload=EmptyPayload())
IDS = ("decision_id", "caused_by", "action_ids", "event_type")


def _slice(order_id: str, hours: float) -> dict[str, object]:
    """The slice tick of a sweep at ``hours`` after T0, as JSON."""
    sweep = tick(None, hours, event_id="sweep-7")
    tick_ = sweep_slice_tick(ClockTick.model_validate(sweep), order_id)
    return tick_.model_dump(mode="json")


def test_a_slice_evaluates_its_order_at_the_sweep_time_like_the_sweep() -> None:
    # The same history, swept inline and by a slice: same condition, same time, same decision content.
    history = [placed("A1", 0), fulfillment("A1", 1)]
    inline = run(*history, tick(None, 60, event_id="sweep-7"))
    sliced = run(*history, _slice("A1", 60))
    want = {k: v for k, v in inline.decision("sweep-7").items() if k not in IDS}
    got = {k: v for k, v in sliced.decision("slice:sweep-7:A1").items() if k not in IDS}
    assert got == want
    assert got["condition_type"] == "warehouse_pick_delay"  # past the 48 h fulfilment SLA at the sweep's time


def test_a_slice_overtaken_by_a_newer_evaluation_does_nothing() -> None:
    r = run(placed("A1", 0), fulfillment("A1", 1), label("A1", 2), scan("A1", 61), _slice("A1", 60))
    assert r.caused_by("slice:sweep-7:A1") == []
    assert r.pipeline.stats.sweep_slices_overtaken == 1


def test_a_slice_for_an_order_no_longer_in_progress_does_nothing() -> None:
    r = run(placed("A1", 0), cancelled("A1", 5), _slice("A1", 60))
    assert r.caused_by("slice:sweep-7:A1") == []
    assert r.pipeline.stats.sweep_slices_overtaken == 0


def test_slice_ids_are_deterministic_per_sweep_and_order() -> None:
    a = sweep_slice_tick(SWEEP, "A1")
    assert a == sweep_slice_tick(SWEEP, "A1")
    assert a.event_id == "slice:sweep-7:A1" != sweep_slice_tick(SWEEP, "A2").event_id
    assert (a.order_id, a.occurred_at) == ("A1", SWEEP.occurred_at)


def test_a_slice_read_back_after_its_sweep_ran_inline_does_nothing() -> None:
    # A topic replay (``wismo replay --from-kafka``) reads the worker's slice ticks from the clock topic after the
    # sweep itself, which an in-process pipeline evaluates for every order at once: no second evaluation.
    r = run(placed("A1", 0), fulfillment("A1", 1), tick(None, 60, event_id="sweep-7"), _slice("A1", 60))
    assert len(r.caused_by("sweep-7", "wismo.decisions")) == 1
    assert r.caused_by("slice:sweep-7:A1") == []
    assert r.pipeline.stats.sweep_slices_overtaken == 1
