"""Webhook signature schemes: a correctly signed body verifies; a wrong secret, a tampered body, a missing
header and (Slack) a stale or future timestamp do not; EasyPost's published test vector verifies."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from shared_payloads import PAYLOADS
from wismo.processors.signatures import (
    SLACK_REPLAY_WINDOW_SECONDS,
    Verdict,
    aftership_signature,
    easypost_signature,
    shopify_signature,
    slack_signature,
    verify,
    zendesk_signature,
)

PAYLOADS = PAYLOADS

# EasyPost's webhook-signature test vector. Body: EasyPost/examples (MIT, "Copyright (c) 2022 EasyPost (Simpler
# Postage, Inc)") @ 112a6d19063aa98934231fc436067d5016da2015, official/fixtures/event-body.json, saved as
# ../shared/payloads/easypost/event_tracker_updated_in_transit_webhook_body.json; secret and signature from
# official/fixtures/client-library-fixtures.json of the same commit (see ../shared/payloads/SOURCES.md).
EASYPOST_BODY_FILE = PAYLOADS / "easypost" / "event_tracker_updated_in_transit_webhook_body.json"
EASYPOST_SECRET = "sécret"
EASYPOST_SIGNATURE = "hmac-sha256-hex=38f3f53c103713df81616a0a186d77141957323ec21d5fe9363db93840f527db"

SECRET = "s3cr3t-☃"
BODY = b'{"id": 820982911946154508, "name": "#9999.1"}'
NOW = 1_790_000_000.0
TS = str(int(NOW))


def _easypost_body() -> bytes:
    raw = EASYPOST_BODY_FILE.read_bytes()
    assert raw.endswith(b"\n"), "the saved file ends with a newline the signed body did not have"
    return raw[:-1]


def _signed_headers(provider: str, secret: str, body: bytes, ts: str = TS) -> dict[str, str]:
    if provider == "shopify":
        return {"x-shopify-hmac-sha256": shopify_signature(secret, body)}
    if provider == "easypost":
        return {"x-hmac-signature": easypost_signature(secret, body)}
    if provider == "aftership":
        return {"aftership-hmac-sha256": aftership_signature(secret, body)}
    if provider == "zendesk":
        return {
            "x-zendesk-webhook-signature": zendesk_signature(secret, ts, body),
            "x-zendesk-webhook-signature-timestamp": ts,
        }
    return {"x-slack-signature": slack_signature(secret, ts, body), "x-slack-request-timestamp": ts}


PROVIDERS = ("shopify", "easypost", "aftership", "zendesk", "slack")
SIGNATURE_HEADER = {
    "shopify": "x-shopify-hmac-sha256",
    "easypost": "x-hmac-signature",
    "aftership": "aftership-hmac-sha256",
    "zendesk": "x-zendesk-webhook-signature",
    "slack": "x-slack-signature",
}


# ---- the schemes against independent computations of the documented formulas ----------------------------


def _mac(key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, hashlib.sha256).digest()


def test_shopify_and_aftership_sign_the_body_with_base64_hmac() -> None:
    expected = base64.b64encode(_mac(SECRET.encode(), BODY)).decode()
    assert verify("shopify", SECRET, BODY, {"x-shopify-hmac-sha256": expected}, now=NOW).ok
    assert verify("aftership", SECRET, BODY, {"aftership-hmac-sha256": expected}, now=NOW).ok


def test_zendesk_signs_timestamp_then_body() -> None:
    ts = "2026-11-02T14:05:00Z"
    expected = base64.b64encode(_mac(SECRET.encode(), ts.encode() + BODY)).decode()
    headers = {"x-zendesk-webhook-signature": expected, "x-zendesk-webhook-signature-timestamp": ts}
    assert verify("zendesk", SECRET, BODY, headers, now=NOW).ok
    other_ts = {**headers, "x-zendesk-webhook-signature-timestamp": "2026-11-02T14:05:01Z"}
    assert not verify("zendesk", SECRET, BODY, other_ts, now=NOW).ok


def test_slack_signs_version_timestamp_and_body_in_hex() -> None:
    expected = "v0=" + _mac(SECRET.encode(), f"v0:{TS}:".encode() + BODY).hex()
    headers = {"x-slack-signature": expected, "x-slack-request-timestamp": TS}
    assert verify("slack", SECRET, BODY, headers, now=NOW).ok


def test_easypost_published_test_vector_verifies() -> None:
    body = _easypost_body()
    assert verify("easypost", EASYPOST_SECRET, body, {"x-hmac-signature": EASYPOST_SIGNATURE}, now=NOW).ok


def test_easypost_key_is_the_nfkd_normalised_secret() -> None:
    body = _easypost_body()
    composed = "s\u00e9cret"  # é as one code point (NFC)
    decomposed = "se\u0301cret"  # e + combining acute (NFKD)
    assert composed != decomposed
    assert verify("easypost", composed, body, {"x-hmac-signature": EASYPOST_SIGNATURE}, now=NOW).ok
    assert verify("easypost", decomposed, body, {"x-hmac-signature": EASYPOST_SIGNATURE}, now=NOW).ok
    raw_key = "hmac-sha256-hex=" + hmac.new(composed.encode(), body, hashlib.sha256).hexdigest()
    assert raw_key != EASYPOST_SIGNATURE, "the un-normalised key gives another digest"


def test_easypost_vector_fails_with_the_trailing_newline() -> None:
    body = EASYPOST_BODY_FILE.read_bytes()
    verdict = verify("easypost", EASYPOST_SECRET, body, {"x-hmac-signature": EASYPOST_SIGNATURE}, now=NOW)
    assert not verdict.ok


def test_easypost_signature_needs_its_prefix() -> None:
    bare = EASYPOST_SIGNATURE.removeprefix("hmac-sha256-hex=")
    assert not verify("easypost", EASYPOST_SECRET, _easypost_body(), {"x-hmac-signature": bare}, now=NOW).ok


# ---- every provider: good, wrong secret, tampered body, missing header -----------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_good_signature_verifies(provider: str) -> None:
    assert verify(provider, SECRET, BODY, _signed_headers(provider, SECRET, BODY), now=NOW) == Verdict(True)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_wrong_secret_is_rejected(provider: str) -> None:
    verdict = verify(provider, SECRET, BODY, _signed_headers(provider, "another secret", BODY), now=NOW)
    assert not verdict.ok
    assert "does not match" in verdict.reason


@pytest.mark.parametrize("provider", PROVIDERS)
def test_tampered_body_is_rejected(provider: str) -> None:
    headers = _signed_headers(provider, SECRET, BODY)
    tampered = BODY.replace(b"9999.1", b"9999.2")
    assert not verify(provider, SECRET, tampered, headers, now=NOW).ok
    assert not verify(provider, SECRET, BODY + b" ", headers, now=NOW).ok


@pytest.mark.parametrize("provider", PROVIDERS)
def test_missing_signature_header_is_rejected(provider: str) -> None:
    headers = _signed_headers(provider, SECRET, BODY)
    del headers[SIGNATURE_HEADER[provider]]
    verdict = verify(provider, SECRET, BODY, headers, now=NOW)
    assert not verdict.ok
    assert "missing" in verdict.reason


@pytest.mark.parametrize("provider", ["zendesk", "slack"])
def test_missing_timestamp_header_is_rejected(provider: str) -> None:
    headers = {k: v for k, v in _signed_headers(provider, SECRET, BODY).items() if "timestamp" not in k}
    verdict = verify(provider, SECRET, BODY, headers, now=NOW)
    assert not verdict.ok
    assert "Timestamp" in verdict.reason


@pytest.mark.parametrize("provider", PROVIDERS)
def test_empty_secret_never_verifies(provider: str) -> None:
    assert not verify(provider, "", BODY, _signed_headers(provider, "", BODY), now=NOW).ok


@pytest.mark.parametrize("provider", PROVIDERS)
def test_garbage_signature_is_rejected_without_error(provider: str) -> None:
    headers = _signed_headers(provider, SECRET, BODY)
    headers[SIGNATURE_HEADER[provider]] = "\udcff not a signature é"
    assert not verify(provider, SECRET, BODY, headers, now=NOW).ok


def test_unknown_provider_is_rejected() -> None:
    assert not verify("stripe", SECRET, BODY, {}, now=NOW).ok


# ---- Slack's replay window ----------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-SLACK_REPLAY_WINDOW_SECONDS - 1, SLACK_REPLAY_WINDOW_SECONDS + 1, -86_400])
def test_slack_timestamp_outside_the_window_is_rejected(offset: int) -> None:
    ts = str(int(NOW) + offset)
    verdict = verify("slack", SECRET, BODY, _signed_headers("slack", SECRET, BODY, ts), now=NOW)
    assert not verdict.ok
    assert "clock" in verdict.reason


@pytest.mark.parametrize("offset", [-SLACK_REPLAY_WINDOW_SECONDS, 0, SLACK_REPLAY_WINDOW_SECONDS])
def test_slack_timestamp_inside_the_window_is_accepted(offset: int) -> None:
    ts = str(int(NOW) + offset)
    assert verify("slack", SECRET, BODY, _signed_headers("slack", SECRET, BODY, ts), now=NOW).ok


def test_slack_timestamp_must_be_an_integer() -> None:
    ts = "yesterday"
    verdict = verify("slack", SECRET, BODY, _signed_headers("slack", SECRET, BODY, ts), now=NOW)
    assert not verdict.ok
    assert "integer" in verdict.reason
