"""Deterministic identifiers: the same input always yields the same ids, so a re-run or a crash-and-
replay produces records a downstream consumer can de-duplicate by id."""

from __future__ import annotations

from datetime import datetime
from hashlib import blake2b


def stable_id(prefix: str, *parts: str) -> str:
    """``prefix`` + 20 hex chars of a keyed-by-content hash of ``parts``."""
    h = blake2b("\x1f".join(parts).encode("utf-8"), digest_size=10)
    return f"{prefix}_{h.hexdigest()}"


def action_id(caused_by: str, case_id: str, kind: str, sub: str = "") -> str:
    """``stable_id("act", caused_by, case_id, kind, sub)``, spelled out (one per record, on the hot path)."""
    return "act_" + blake2b(f"{caused_by}\x1f{case_id}\x1f{kind}\x1f{sub}".encode(), digest_size=10).hexdigest()


def decision_id(caused_by: str, case_id: str) -> str:
    """``stable_id("dec", caused_by, case_id)``, spelled out (one per evaluation, on the hot path)."""
    return "dec_" + blake2b(f"{caused_by}\x1f{case_id}".encode(), digest_size=10).hexdigest()


def follow_up_event_id(case_id: str, due: datetime) -> str:
    """Event id of the follow-up that re-enters the pipeline for ``case_id`` at ``due`` (a double fire is
    absorbed by dedupe)."""
    return f"followup:{case_id}:{due.isoformat()}"
