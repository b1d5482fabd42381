"""Velocity of card top-ups: the guard against card testing.

Card testers try stolen cards with small charges, many in a short time, most of them declined (Stripe
saw more than 20 million such attempts a day at the 2022 peak; a 90 %+ decline rate marks an attack).
A top-up flow without velocity limits is where they go. This rule pauses a customer's top-ups once
too many were declined in a window, or too many were tried at all, so that a tester gets a few
attempts instead of hundreds, while an honest payer who mistyped a card twice is not stopped.

Pure: the attempts (when, declined or not) and the clock come in; a verdict with its reason comes out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    reason: str
    until_ms: int = 0
    """When a paused customer may try again (0: not paused)."""


@dataclass(frozen=True, slots=True)
class Velocity:
    max_declines: int = 3
    """Declined top-ups within `window_ms` that pause the customer's top-ups…"""
    pause_ms: int = 24 * 3_600_000
    """…for this long after the decline that reached the limit."""
    max_attempts: int = 10
    """Top-ups tried within `window_ms` (declined or not) past which the next waits for the window."""
    window_ms: int = 3_600_000

    def __post_init__(self) -> None:
        if min(self.max_declines, self.max_attempts) < 1 or min(self.pause_ms, self.window_ms) < 1:
            raise ValueError("a velocity rule needs limits and times of at least 1")

    @property
    def lookback_ms(self) -> int:
        """How far back the attempts that can still matter go."""
        return self.window_ms + self.pause_ms

    def assess(self, attempts: Sequence[tuple[int, bool]], now_ms: int) -> Verdict:
        """May the customer try a top-up now, given its earlier attempts `(at_ms, declined)`?"""
        declines = sorted(at for at, declined in attempts if declined and at <= now_ms)
        paused_until = 0
        n = self.max_declines
        for i in range(n - 1, len(declines)):  # each decline that makes n within a window trips the pause
            if declines[i] - declines[i - n + 1] <= self.window_ms:
                paused_until = max(paused_until, declines[i] + self.pause_ms)
        if now_ms < paused_until:
            return Verdict(False, f"{n} declined top-ups within {_span(self.window_ms)}: top-ups are paused for "
                                  f"{_span(self.pause_ms)} after the last of them", paused_until)  # fmt: skip
        recent = sorted(at for at, _ in attempts if now_ms - self.window_ms < at <= now_ms)
        if len(recent) >= self.max_attempts:
            until = recent[len(recent) - self.max_attempts] + self.window_ms
            return Verdict(False, f"{len(recent)} top-ups tried within {_span(self.window_ms)}: at most "
                                  f"{self.max_attempts}", until)  # fmt: skip
        return Verdict(True, "within the top-up velocity limits")


def _span(ms: int) -> str:
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("min", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size} {unit}"
    return f"{ms} ms"


_SPEC = re.compile(r"^(\d+)(ms|s|min|h|d)$")
_UNITS = {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse(spec: str) -> Velocity | None:
    """A rule from its text, as `FARTHING_TOPUP_GUARD` holds it: `off`, or comma-separated settings such
    as `declines=3,attempts=10,window=1h,pause=24h` (the ones left out keep their defaults)."""
    if spec.strip().lower() == "off":
        return None
    values: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, _, value = part.partition("=")
        if key in ("declines", "attempts") and value.isdigit():
            values["max_" + key] = int(value)
        elif key in ("window", "pause") and (m := _SPEC.match(value)):
            values[key + "_ms"] = int(m.group(1)) * _UNITS[m.group(2)]
        else:
            raise ValueError(f"{part!r}: expected declines=N, attempts=N, window=<n><ms|s|min|h|d> or pause=…")
    return Velocity(**values)
