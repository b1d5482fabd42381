"""How the ledger's batches were written: how many, how large, how long each commit took.

Plain counters the engine keeps as it writes (durations by the monotonic clock: they measure, they do
not date anything); the API's metrics collector reads them when scraped. Buckets are upper bounds, as
Prometheus histograms count them. Its floats are seconds and event counts, never money.
"""

from __future__ import annotations

import bisect

SECONDS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)
EVENTS_BUCKETS = (1, 2, 5, 10, 50, 100, 500, 1_000, 5_000, 10_000)


class Histogram:
    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self._counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self._counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value

    def counts(self) -> list[int]:
        """Observations per bucket (not cumulative), the last past every bound."""
        return list(self._counts)

    @classmethod
    def of(cls, bounds: tuple[float, ...], counts: list[int], total: float) -> Histogram:
        """A histogram holding `counts` (as `counts()` gave them) and their sum: one kept by another process."""
        made = cls(bounds)
        if len(counts) != len(made._counts):
            raise ValueError(f"{len(counts)} counts for {len(bounds)} bounds")
        made._counts, made.sum = list(counts), total
        return made

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations at most that), the last bound +inf."""
        out, total = [], 0
        for bound, count in zip((*self.bounds, float("inf")), self._counts, strict=True):
            total += count
            out.append((bound, total))
        return out


class WriteStats:
    def __init__(self) -> None:
        self.seconds = Histogram(SECONDS_BUCKETS)
        self.events = Histogram(EVENTS_BUCKETS)
        self.failed = 0

    def record(self, events: int, seconds: float) -> None:
        self.seconds.observe(seconds)
        self.events.observe(events)
