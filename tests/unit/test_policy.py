"""The policy file: SPEC §3 defaults, strict validation with readable errors, mode resolution."""

from __future__ import annotations

import pytest

from wismo.policy import PolicyError, load_policy, policy_from_mapping


def test_defaults_are_the_spec_thresholds():
    t = load_policy().thresholds
    assert (t.first_scan_hours, t.no_movement_hours, t.pick_sla_hours, t.fulfilment_sla_hours) == (24, 72, 24, 48)
    assert (t.high_value_threshold, t.repeated_contact_count, t.supplier_slip_days) == (500, 2, 3)
    assert t.proactive_min_interval_hours == 12
    pol = load_policy()
    assert pol.modes.default == "testing" and pol.actions.writes_enabled is False


def test_unknown_key_and_bad_value_are_named(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("thresholds:\n  first_scan_hour: 12\n  no_movement_hours: -1\n")
    with pytest.raises(PolicyError) as err:
        load_policy(f)
    msg = str(err.value)
    assert str(f) in msg and "thresholds.first_scan_hour" in msg and "thresholds.no_movement_hours" in msg


def test_not_yaml_and_missing_file_are_clear(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("modes: [unclosed\n")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(bad)
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy(tmp_path / "nope.yaml")


def test_unknown_channel_condition_and_timezone_are_rejected():
    for doc in (
        {"modes": {"channels": {"sms": {"default": "live"}}}},
        {"modes": {"conditions": {"teleported": "live"}}},
        {"communications": {"timezone": "Mars/Olympus"}},
    ):
        with pytest.raises(PolicyError):
            policy_from_mapping(doc)


def test_mode_resolution_order():
    pol = policy_from_mapping(
        {
            "modes": {
                "default": "testing",
                "conditions": {"delivered": "live"},
                "channels": {"chat": {"default": "live", "conditions": {"restricted_hold": "testing"}}},
            }
        }
    )
    assert pol.mode_for("chat", "standard_in_transit") == "live"
    assert pol.mode_for("chat", "restricted_hold") == "testing"
    assert pol.mode_for("email", "delivered") == "live"
    assert pol.mode_for("email", "standard_in_transit") == "testing"
    killed = policy_from_mapping({"modes": {"default": "live", "kill_switch": True}})
    assert killed.mode_for("chat", "delivered") == "testing"
    assert killed.with_mode_override("live").mode_for("chat", "delivered") == "testing"
