"""The policy file: thresholds, follow-up times, modes, options and action gates.

Loaded from YAML and validated strictly (unknown keys are errors, so a typo never silently falls back to
a default). :func:`load_policy` raises :class:`PolicyError` with the file name and every problem found.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from wismo.conditions import PRECEDENCE, ConditionType
from wismo.records import ActionType, CustomerOption, Mode

CHANNELS = ("chat", "email", "ticket", "proactive")
"""Channels with a mode. ``proactive`` carries updates sent when the customer has no open ticket."""


class PolicyError(ValueError):
    """A policy file that cannot be read or does not validate."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(_Strict):
    first_scan_hours: float = Field(24, gt=0)
    no_movement_hours: float = Field(72, gt=0)
    pick_sla_hours: float = Field(24, gt=0)
    fulfilment_sla_hours: float = Field(48, gt=0)
    high_value_threshold: float = Field(500, ge=0)
    repeated_contact_count: int = Field(2, ge=2)
    supplier_slip_days: int = Field(3, ge=1)
    proactive_min_interval_hours: float = Field(12, ge=0)
    max_delivery_attempts: int | None = Field(None, ge=1)
    """Failed attempts that count as "attempts exhausted" (return_to_sender) before the carrier says so. Off by
    default: "attempts exhausted" is the carrier's statement (condition-routing seed: "carrier status says
    return-to-sender or attempts exhausted"; the adapters map such codes to ``return_to_sender``), and carriers
    differ in how many attempts they make."""
    carrier_resend_hours: float = Field(6, ge=0)
    """A carrier status identical to the shipment's latest scan (status, detail, location, estimate) that comes
    within this many hours of it is the same status re-sent, already applied (SPEC §1). Later, it is a new
    scan: a second delivery attempt the next day, or a facility re-scan proving the carrier still has the
    parcel. ``delivered`` and ``return_to_sender`` happen once, so their repeats are re-sends at any time."""
    human_handoff_hours: float = Field(72, ge=0)
    match_lookback_days: int = Field(90, ge=1)
    stale_checkpoints_before_escalation: int = Field(2, ge=1)

    def is_high_value(self, order_value: Decimal | float) -> bool:
        """``order_value`` at or above ``high_value_threshold``: reaching it counts (we err toward review)."""
        return float(order_value) >= self.high_value_threshold


class ChannelModes(_Strict):
    default: Mode | None = None
    conditions: dict[ConditionType, Mode] = {}


class Modes(_Strict):
    default: Mode = "testing"
    kill_switch: bool = False
    channels: dict[str, ChannelModes] = {}
    conditions: dict[ConditionType, Mode] = {}
    demoted: frozenset[ConditionType] = frozenset()
    """Conditions held in testing mode whatever the rest says: set at run time by automatic demotion or
    ``wismo control demote`` (see :mod:`wismo.rollout`); may also be listed here."""

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, v: dict[str, ChannelModes]) -> dict[str, ChannelModes]:
        unknown = sorted(set(v) - set(CHANNELS))
        if unknown:
            raise ValueError(f"unknown channel(s) {unknown}; expected some of {list(CHANNELS)}")
        return v


class CustomerOptions(_Strict):
    allowed: list[CustomerOption] = list(
        (
            "wait",
            "cancel",
            "alternate_item",
            "address_correction",
            "hold_for_pickup",
            "reattempt",
            "replacement",
            "refund",
        )
    )
    approved_alternates: dict[str, list[str]] = {}


class ActionGate(_Strict):
    enabled: bool = True
    requires_approval: bool = True


class Actions(_Strict):
    writes_enabled: bool = False
    replacement: ActionGate = ActionGate()
    refund: ActionGate = ActionGate()
    cancellation: ActionGate = ActionGate()
    address_change: ActionGate = ActionGate()

    def gate(self, action: ActionType) -> ActionGate:
        gate: ActionGate = getattr(self, action)
        return gate


class Communications(_Strict):
    timezone: str = "UTC"
    sign_off: str = "— Customer Support"
    restricted_terms: list[str] = []

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v


class Reviewers(_Strict):
    """Who may answer escalations (issue 4: reviewer authorisation). Entries in ``approve`` and
    ``high_value`` are group names from ``groups`` or reviewer ids (Slack user ids for clicks from the Slack
    sink's buttons; whatever id your own tools put in ``review.decision``). Slack user groups are listed
    here by their members: wismo does not call Slack to resolve membership.

    ``approve`` maps a decision type (``refund``, ``replacement``, ``cancellation``, ``address_change``, or
    ``escalation`` for an escalation with no action draft) to who may approve it; ``default`` covers types
    not listed. ``high_value``: an approval on an order at or above ``high_value_threshold`` also needs one of
    these. Deny, request changes and take over are open to every configured reviewer."""

    groups: dict[str, list[str]] = {}
    approve: dict[str, list[str]] = {}
    high_value: list[str] = []

    @field_validator("approve")
    @classmethod
    def _types(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        known = {"default", "escalation", "refund", "replacement", "cancellation", "address_change"}
        unknown = sorted(set(v) - known)
        if unknown:
            raise ValueError(f"unknown decision type(s) {unknown}; use {sorted(known)}")
        return v

    def members(self, entries: list[str]) -> frozenset[str]:
        """Reviewer ids named by ``entries`` (group names expanded)."""
        out: set[str] = set()
        for e in entries:
            out.update(self.groups.get(e, [e]))
        return frozenset(out)

    def everyone(self) -> frozenset[str]:
        """Every reviewer id the policy names anywhere."""
        entries = [e for lst in self.approve.values() for e in lst] + self.high_value + list(self.groups)
        return self.members(entries)


class LookupSource(_Strict):
    """One REST endpoint the worker may ask for a source's events when the order context lacks them.

    ``url`` is a template: ``{order_id}`` for the OMS; ``{order_id}``, ``{shipment_id}``, ``{carrier}`` and
    ``{tracking_number}`` for a carrier. The endpoint answers 200 with a JSON array of canonical events
    (EVENTS.md) about that order, or ``{"events": [...]}``; 404 means the system does not know the order.
    ``headers_env`` maps a request header to the environment variable holding its value, so credentials never
    sit in the policy file."""

    url: str
    timeout_seconds: float = Field(2.0, gt=0, le=30)
    headers_env: dict[str, str] = {}

    @field_validator("url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return v


class LiveLookups(_Strict):
    """Live look-ups per source (issue 4). Off unless configured; a file replay never makes them.

    ``oms``: asked when a customer writes about an order id wismo has no events for. ``carrier``: asked when
    a customer writes about an order whose labelled shipment has no carrier event yet. A failure (timeout,
    error status, bad answer, circuit open) routes the contact to ``missing_order_data`` naming the system."""

    oms: LookupSource | None = None
    carrier: LookupSource | None = None


class Demotion(_Strict):
    """Automatic demotion of a condition to testing mode (rollout plan: a condition goes live only while it
    stays safe). Rates are measured per condition over the last ``window_minutes`` once at least
    ``min_evaluations`` evaluations (or ``min_deliveries`` deliveries) of it were seen; crossing any limit
    demotes the condition on every worker until a person promotes it again (``wismo control promote``)."""

    enabled: bool = True
    window_minutes: float = Field(60, gt=0)
    min_evaluations: int = Field(50, ge=1)
    max_guardrail_failure_rate: float = Field(0.02, ge=0, le=1)
    """guardrail-withheld texts per evaluation"""
    max_escalation_rate: float = Field(0.5, ge=0, le=1)
    """escalations per evaluation"""
    min_deliveries: int = Field(20, ge=1)
    max_delivery_error_rate: float = Field(0.2, ge=0, le=1)
    """failed delivery attempts (error, timeout, dead-lettered) per attempt, measured by ``wismo deliver``"""


class Rollout(_Strict):
    demotion: Demotion = Demotion()


class Policy(_Strict):
    thresholds: Thresholds = Thresholds()
    follow_up_hours: dict[str, float] = {"default": 24}
    modes: Modes = Modes()
    customer_options: CustomerOptions = CustomerOptions()
    actions: Actions = Actions()
    communications: Communications = Communications()
    lookups: LiveLookups = LiveLookups()
    rollout: Rollout = Rollout()
    reviewers: Reviewers | None = None
    """None (the default): every reviewer decision is accepted, as in a file replay of your own review
    events. Configure it before connecting a chat tool whose users are not all entitled to approve."""

    @field_validator("follow_up_hours")
    @classmethod
    def _follow_up_keys(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(PRECEDENCE) - {"default"})
        if unknown:
            raise ValueError(f"unknown condition(s) {unknown}")
        if any(h <= 0 for h in v.values()):
            raise ValueError("follow-up hours must be positive")
        return v

    def follow_up_after(self, condition: ConditionType) -> timedelta:
        """How long after an evaluation the internal follow-up of ``condition`` is due."""
        hours = self.follow_up_hours.get(condition, self.follow_up_hours.get("default", 24.0))
        return timedelta(hours=hours)

    def mode_for(self, channel: str, condition: ConditionType) -> Mode:
        """The mode for one channel and condition: kill switch, then channel+condition, channel default,
        condition-wide override, global default."""
        m = self.modes
        if m.kill_switch or condition in m.demoted:
            return "testing"
        ch = m.channels.get(channel)
        if ch is not None:
            if condition in ch.conditions:
                return ch.conditions[condition]
            if ch.default is not None:
                return ch.default
        return m.conditions.get(condition, m.default)

    def option_allowed(self, option: CustomerOption) -> bool:
        return option in self.customer_options.allowed

    def with_controls(self, kill_switch: bool, demoted: frozenset[ConditionType]) -> Policy:
        """A copy with the run-time controls applied (kill switch on if either says so; demotions added)."""
        m = self.modes
        modes = m.model_copy(update={"kill_switch": m.kill_switch or kill_switch, "demoted": m.demoted | demoted})
        return self.model_copy(update={"modes": modes})

    def with_mode_override(self, mode: Mode) -> Policy:
        """A copy in which every channel and condition runs in ``mode`` (``--mode``); the kill switch
        still wins."""
        modes = Modes(default=mode, kill_switch=self.modes.kill_switch, demoted=self.modes.demoted)
        return self.model_copy(update={"modes": modes})


def _format_errors(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  {loc}: {err['msg']}")
    return "\n".join(lines)


def policy_from_mapping(data: Any, origin: str = "<policy>") -> Policy:
    """Validate an already-parsed policy document."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(f"{origin}: the policy must be a mapping, got {type(data).__name__}")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(f"{origin}: invalid policy\n{_format_errors(exc)}") from None


def load_policy(path: str | Path | None = None) -> Policy:
    """Load and validate a policy file; ``None`` loads the bundled defaults (SPEC §3 values)."""
    if path is None:
        text = resources.files("wismo").joinpath("default_policy.yaml").read_text(encoding="utf-8")
        origin = "default_policy.yaml"
    else:
        origin = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyError(f"{origin}: cannot read policy file: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{origin}: not valid YAML: {exc}") from None
    return policy_from_mapping(data, origin)
