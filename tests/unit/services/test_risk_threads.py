"""The risk engine under many threads: scoring reads the profiles without a lock, counting holds it, so
payments of one payer made at once from many threads are each counted (a burst spread over threads
still shows in the payer's velocity), and the features kept for labels are all there."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from farthing.domain.risk.features import Seen
from farthing.services import policies
from farthing.services.risk import Risk

T0 = 1_800_000_000_000
THREADS, EACH = 8, 400


@pytest.fixture(autouse=True)
def _switch_often() -> Iterator[None]:
    """Threads switched every microsecond, not every 5 ms: interleavings that would lose a count happen."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def test_payments_of_one_payer_from_many_threads_are_each_counted() -> None:
    risk = Risk(policies.load("platform").risk)
    start = threading.Barrier(THREADS)

    def pay(t: int) -> None:
        start.wait()
        for i in range(EACH):
            seen = Seen(10_000 + i, T0 + i, f"mer_{i % 3}", f"dev_{t}", "10.0.0.0/24", "US")
            risk.observe("cus_1", risk.assess(None, "cus_1", seen, bool), t * EACH + i)

    threads = [threading.Thread(target=pay, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    profile = risk._payers["cus_1"]
    assert profile.payments == THREADS * EACH
    assert profile.rates.count_1d > THREADS * EACH * 0.99  # within a second: almost nothing has decayed
    assert all(risk.features_of(pid) is not None for pid in range(THREADS * EACH))
    assert sum(risk.outcomes.values()) == THREADS * EACH
