"""A circuit breaker for one remote system (live look-ups). Pure state machine; the clock is passed in.

closed --(``failures`` consecutive failures)--> open --(``open_seconds`` later)--> half-open: one trial call;
its success closes the circuit, its failure opens it again for another ``open_seconds``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class CircuitBreaker:
    failures: int
    open_seconds: float
    consecutive: int = 0
    opened_at: float | None = None
    trial_in_flight: bool = False

    def state(self, now: float) -> str:
        if self.opened_at is None:
            return "closed"
        return "half_open" if now - self.opened_at >= self.open_seconds else "open"

    def allow(self, now: float) -> bool:
        """Whether a call may go out now (in half-open, only the first caller gets the trial)."""
        st = self.state(now)
        if st == "closed":
            return True
        if st == "half_open" and not self.trial_in_flight:
            self.trial_in_flight = True
            return True
        return False

    def record(self, ok: bool, now: float) -> None:
        """The outcome of a call that :meth:`allow` let through."""
        self.trial_in_flight = False
        if ok:
            self.consecutive = 0
            self.opened_at = None
            return
        self.consecutive += 1
        if self.opened_at is not None or self.consecutive >= self.failures:
            self.opened_at = now
