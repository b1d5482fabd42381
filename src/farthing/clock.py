"""The one source of time: a clock is a callable answering Unix milliseconds.

Every read of the date in Farthing goes through the clock that `open_platform` (or the caller of
`open_ledger`) is given: the engine's transfer timestamps, tax periods, refund and withdrawal windows,
holds' expiry, SCA epochs, limits' periods, keys' overlap, sessions and step-ups. Nothing else in
`src/` reads the wall clock for a date, so a test (or the policy lab) that sets the clock sees no real
date anywhere. Leaf module: stdlib only, importable from every layer.

Not covered, on purpose: `time.monotonic()` measures how long something took (a group commit's wait,
a cache's age, a token bucket's refill), never what day it is; and the time-ordered ids of
`farthing.engine.ids` take their high bits from the wall clock only so that inserts append to the
index (nothing reads a date out of an id); a schema migration records when this machine ran it, and
`farthing simulate` names its output folder by when it ran. A merchant's paywall runs in the merchant's
own process, on the clock its `Paywall(clock_ms=…)` is given.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

Clock = Callable[[], int]
"""A clock: `clock()` is the current time in Unix milliseconds."""


def system_clock() -> int:
    """The machine's clock, in Unix milliseconds."""
    return time.time_ns() // 1_000_000  # clock


class ManualClock:
    """A clock that moves only when told (tests, the policy lab's simulated days)."""

    __slots__ = ("_lock", "_ms")

    def __init__(self, ms: int) -> None:
        if isinstance(ms, bool) or not isinstance(ms, int):
            raise TypeError(f"a clock holds integer Unix milliseconds, not {type(ms).__name__}")
        self._ms = ms
        self._lock = threading.Lock()

    def __call__(self) -> int:
        return self._ms

    def set(self, ms: int) -> None:
        if isinstance(ms, bool) or not isinstance(ms, int):
            raise TypeError(f"a clock holds integer Unix milliseconds, not {type(ms).__name__}")
        self._ms = ms

    def advance(self, ms: int) -> int:
        """Move forward by `ms` (never back); returns the new time."""
        if ms < 0:
            raise ValueError("a clock moves forward; set() it to go back")
        with self._lock:
            self._ms += ms
            return self._ms
