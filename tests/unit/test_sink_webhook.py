"""Webhook signing, the receiver's verification, routing of records to targets, and the delivery settings."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from pydantic import ValidationError
from wismo.sinks.routing import Routing
from wismo.sinks.signed_webhook import sign, signed_headers, verify_signature

from wismo.delivery_settings import ACTION_TOPICS, DeliverySettings

SECRET = b"s3cret"
BODY = b'{"action_id":"act_1","kind":"reply"}'
TS = 1_793_600_000


def test_signature_is_hmac_sha256_over_timestamp_dot_body():
    expected = hmac.new(SECRET, b"1793600000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, TS, BODY) == f"sha256={expected}"


def test_headers_carry_timestamp_signature_and_action_id():
    h = signed_headers(SECRET, TS, BODY, "act_1", "wismo.replies")
    assert h["X-Wismo-Timestamp"] == "1793600000"
    assert h["X-Wismo-Signature"] == sign(SECRET, TS, BODY)
    assert h["X-Wismo-Action-Id"] == "act_1"
    assert h["X-Wismo-Topic"] == "wismo.replies"


def test_receiver_accepts_a_fresh_signed_request():
    h = signed_headers(SECRET, TS, BODY, "act_1", "wismo.replies")
    assert verify_signature(SECRET, h["X-Wismo-Timestamp"], BODY, h["X-Wismo-Signature"], now=TS + 10)


@pytest.mark.parametrize(
    ("secret", "timestamp", "body", "now"),
    [
        (b"other", str(TS), BODY, TS),  # wrong secret
        (SECRET, str(TS), BODY + b" ", TS),  # body changed in transit
        (SECRET, str(TS + 1), BODY, TS),  # timestamp changed (it is signed too)
        (SECRET, str(TS), BODY, TS + 301),  # stale: a replayed capture
        (SECRET, "", BODY, TS),
        (SECRET, "12abc", BODY, TS),
    ],
)
def test_receiver_refuses_tampered_stale_or_malformed(secret, timestamp, body, now):
    signature = sign(SECRET, TS, BODY)
    assert not verify_signature(secret, timestamp, body, signature, now=now)


def test_receiver_refuses_a_signature_without_the_scheme():
    bare = sign(SECRET, TS, BODY).removeprefix("sha256=")
    assert not verify_signature(SECRET, str(TS), BODY, bare, now=TS)
    assert not verify_signature(SECRET, str(TS), BODY, None, now=TS)


def test_routing_sends_each_topic_to_its_targets():
    everything = Routing(frozenset({"zendesk", "slack", "webhook"}))
    assert everything.targets_for("wismo.replies") == ["zendesk", "webhook"]
    assert everything.targets_for("wismo.notes") == ["zendesk", "webhook"]
    assert everything.targets_for("wismo.escalations") == ["slack", "webhook"]
    assert everything.targets_for("wismo.actions") == ["webhook"]
    assert everything.targets_for("wismo.decisions") == []
    slack_only = Routing(frozenset({"slack"}))
    assert slack_only.topics() == ["wismo.escalations"]
    narrow = Routing(frozenset({"webhook"}), frozenset({"wismo.escalations"}))
    assert narrow.topics() == ["wismo.escalations"]


def test_settings_enable_targets_from_the_environment(monkeypatch):
    monkeypatch.setenv("WISMO_ZENDESK_URL", "https://acme.zendesk.com")
    monkeypatch.setenv("WISMO_ZENDESK_EMAIL", "bot@acme.test")
    monkeypatch.setenv("WISMO_ZENDESK_API_TOKEN", "zd-9f8e7d")
    monkeypatch.setenv("WISMO_WEBHOOK_URL", "https://hooks.acme.test/wismo")
    monkeypatch.setenv("WISMO_WEBHOOK_SECRET", "whsec")
    monkeypatch.setenv("WISMO_WEBHOOK_TOPICS", "wismo.escalations, wismo.actions")
    monkeypatch.setenv("WISMO_GROUP_ID", "shop1")
    s = DeliverySettings()
    assert s.consumer_group == "shop1-deliver"
    assert s.webhook_topics == ("wismo.escalations", "wismo.actions")
    assert "zd-9f8e7d" not in repr(s) and "whsec" not in repr(s)  # secrets are not printed
    assert Routing.from_settings(s).topics() == list(ACTION_TOPICS)
    assert s.delivery_timeout_seconds == 10.0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WISMO_ZENDESK_URL": "https://acme.zendesk.com"}, "WISMO_ZENDESK_EMAIL"),
        ({"WISMO_SLACK_BOT_TOKEN": "xoxb-1"}, "WISMO_SLACK_CHANNEL"),
        ({"WISMO_WEBHOOK_URL": "https://h.test"}, "WISMO_WEBHOOK_SECRET"),
        ({"WISMO_WEBHOOK_TOPICS": "wismo.decisions"}, "unknown topic"),
        ({"WISMO_DELIVERY_LEASE_SECONDS": "5"}, "must exceed"),
    ],
)
def test_half_configured_targets_fail_at_start(monkeypatch, env, message):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ValidationError) as err:
        DeliverySettings()
    assert message in str(err.value)
