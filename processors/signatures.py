"""Webhook signature verification, one scheme per provider. Pure: bytes, strings and a clock value in, a
:class:`Verdict` out; no I/O, never raises.

Every check runs on the RAW request body (the exact bytes received, before any parsing) and compares in
constant time (:func:`hmac.compare_digest`). The schemes, as the providers document them:

==========  ===========================================  ==================================================
provider    header(s)                                    signature
==========  ===========================================  ==================================================
shopify     ``X-Shopify-Hmac-Sha256``                    base64(HMAC-SHA256(secret, body))
easypost    ``X-Hmac-Signature``                         ``hmac-sha256-hex=`` + hex(HMAC-SHA256(NFKD(secret),
                                                         body)); the key is the NFKD-normalised UTF-8 secret
aftership   ``aftership-hmac-sha256``                    base64(HMAC-SHA256(secret, body))
zendesk     ``X-Zendesk-Webhook-Signature`` and          base64(HMAC-SHA256(secret, timestamp + body))
            ``X-Zendesk-Webhook-Signature-Timestamp``
slack       ``X-Slack-Signature`` and                    ``v0=`` + hex(HMAC-SHA256(secret,
            ``X-Slack-Request-Timestamp``                ``v0:{timestamp}:{body}``)); the timestamp must be
                                                         within :data:`SLACK_REPLAY_WINDOW_SECONDS` of now
==========  ===========================================  ==================================================

An empty secret never verifies anything (a provider without a secret is disabled, not open).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

SLACK_REPLAY_WINDOW_SECONDS = 300
"""Slack's documented tolerance: a request whose timestamp is more than five minutes from the local clock
(older or newer) is rejected, so a captured request cannot be replayed later."""

EASYPOST_PREFIX = "hmac-sha256-hex="
SLACK_VERSION = "v0"

SIGNATURE_HEADERS = {
    "shopify": "x-shopify-hmac-sha256",
    "easypost": "x-hmac-signature",
    "aftership": "aftership-hmac-sha256",
    "zendesk": "x-zendesk-webhook-signature",
    "slack": "x-slack-signature",
}
"""The signature header of each provider (lower case, as :func:`verify` expects the headers)."""

TIMESTAMP_HEADERS = {
    "zendesk": "x-zendesk-webhook-signature-timestamp",
    "slack": "x-slack-request-timestamp",
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """``ok`` or not, and why not in words a person can act on (never the secret or the expected value)."""

    ok: bool
    reason: str = ""


VALID = Verdict(True)


def _hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _same(expected: str, given: str) -> bool:
    # compare_digest on str accepts only ASCII; a header may carry anything, so compare bytes.
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "surrogateescape"))


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _missing(header: str) -> Verdict:
    return Verdict(False, f"missing {header} header")


def _mismatch(header: str) -> Verdict:
    return Verdict(False, f"{header} does not match the body (wrong secret, or the body was altered)")


def _no_secret() -> Verdict:
    return Verdict(False, "no signing secret configured")


def shopify_signature(secret: str, body: bytes) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value Shopify sends for ``body``."""
    return _b64(_hmac_sha256(secret.encode("utf-8"), body))


def easypost_signature(secret: str, body: bytes) -> str:
    """The ``X-Hmac-Signature`` value EasyPost sends for ``body``."""
    key = unicodedata.normalize("NFKD", secret).encode("utf-8")
    return EASYPOST_PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def aftership_signature(secret: str, body: bytes) -> str:
    """The ``aftership-hmac-sha256`` value AfterShip sends for ``body``."""
    return _b64(_hmac_sha256(secret.encode("utf-8"), body))


def zendesk_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Zendesk-Webhook-Signature`` value Zendesk sends for ``body`` signed at ``timestamp``."""
    return _b64(_hmac_sha256(secret.encode("utf-8"), timestamp.encode("utf-8") + body))


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Slack-Signature`` value Slack sends for ``body`` sent at ``timestamp`` (epoch seconds)."""
    base = f"{SLACK_VERSION}:{timestamp}:".encode() + body
    return f"{SLACK_VERSION}=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def verify_shopify(secret: str, body: bytes, signature: str | None) -> Verdict:
    if not secret:
        return _no_secret()
    if not signature:
        return _missing("X-Shopify-Hmac-Sha256")
    return VALID if _same(shopify_signature(secret, body), signature) else _mismatch("X-Shopify-Hmac-Sha256")


def verify_easypost(secret: str, body: bytes, signature: str | None) -> Verdict:
    if not secret:
        return _no_secret()
    if not signature:
        return _missing("X-Hmac-Signature")
    return VALID if _same(easypost_signature(secret, body), signature) else _mismatch("X-Hmac-Signature")


def verify_aftership(secret: str, body: bytes, signature: str | None) -> Verdict:
    if not secret:
        return _no_secret()
    if not signature:
        return _missing("aftership-hmac-sha256")
    return VALID if _same(aftership_signature(secret, body), signature) else _mismatch("aftership-hmac-sha256")


def verify_zendesk(secret: str, body: bytes, signature: str | None, timestamp: str | None) -> Verdict:
    if not secret:
        return _no_secret()
    if not signature:
        return _missing("X-Zendesk-Webhook-Signature")
    if not timestamp:
        return _missing("X-Zendesk-Webhook-Signature-Timestamp")
    expected = zendesk_signature(secret, timestamp, body)
    return VALID if _same(expected, signature) else _mismatch("X-Zendesk-Webhook-Signature")


def verify_slack(
    secret: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    now: float,
    window: float = SLACK_REPLAY_WINDOW_SECONDS,
) -> Verdict:
    """Also rejects a timestamp that is not an integer or is more than ``window`` seconds from ``now``
    (epoch seconds), before computing anything."""
    if not secret:
        return _no_secret()
    if not signature:
        return _missing("X-Slack-Signature")
    if not timestamp:
        return _missing("X-Slack-Request-Timestamp")
    try:
        sent = int(timestamp)
    except ValueError:
        return Verdict(False, "X-Slack-Request-Timestamp is not an integer (epoch seconds)")
    if abs(now - sent) > window:
        return Verdict(
            False,
            f"X-Slack-Request-Timestamp is {now - sent:+.0f} s from this server's clock "
            f"(more than {window:.0f} s: a replay, or a clock out of sync)",
        )
    expected = slack_signature(secret, timestamp, body)
    return VALID if _same(expected, signature) else _mismatch("X-Slack-Signature")


def verify(provider: str, secret: str, body: bytes, headers: Mapping[str, str], *, now: float) -> Verdict:
    """Check one delivery of ``provider`` (``headers`` with lower-case names; ``now`` in epoch seconds)."""
    signature = headers.get(SIGNATURE_HEADERS.get(provider, ""))
    timestamp = headers.get(TIMESTAMP_HEADERS.get(provider, ""))
    if provider == "shopify":
        return verify_shopify(secret, body, signature)
    if provider == "easypost":
        return verify_easypost(secret, body, signature)
    if provider == "aftership":
        return verify_aftership(secret, body, signature)
    if provider == "zendesk":
        return verify_zendesk(secret, body, signature, timestamp)
    if provider == "slack":
        return verify_slack(secret, body, signature, timestamp, now=now)
    return Verdict(False, f"unknown provider {provider!r}")
