"""The cyclic garbage collector, tuned for processes that make payments by the thousand.

Every payment leaves a few thousand young objects (legs, events, decisions) that live until its batch
answers; CPython's default collects the youngest generation every 700 allocations, so those objects
are scanned and promoted while still alive, and the old generation, which holds everything start-up
built, fills and is scanned in full again and again. What start-up built lives as long as the process:
it is moved out of the collector's sight (`gc.freeze`), and the youngest generation is collected
every `YOUNG_THRESHOLD` allocations instead. Measured: full passes of up to 74 ms under the server's
load (none since), and the simulator's `us` world 22.5k → 24.5k payments/s.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 10_000
"""Allocations between collections of the youngest generation (CPython's default is 700)."""


def settle() -> None:
    """For the rest of the process (the server, after start-up): freeze what exists, collect less often."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


@contextmanager
def settled() -> Iterator[None]:
    """`settle()` for the duration of a block (a simulation run inside a longer process, e.g. the tests):
    the thresholds are put back afterwards and what was frozen is handed back to the collector."""
    thresholds = gc.get_threshold()
    settle()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
