"""Time-ordered ids: unique across threads, increasing within a thread, ordered by millisecond."""

from __future__ import annotations

import base64
import threading

from hypothesis import given
from hypothesis import strategies as st

from farthing.engine.ids import DERIVED_ID_BITS, IdGenerator
from farthing.services.accounts import public_id_of


def test_ids_are_unique_across_threads_and_increase_within_each() -> None:
    make = IdGenerator()
    per_thread: list[list[int]] = []

    def run() -> None:
        mine = [make() for _ in range(20_000)]
        per_thread.append(mine)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for ids in per_thread for i in ids]
    assert len(set(everything)) == len(everything) == 80_000
    for ids in per_thread:
        assert ids == sorted(ids)


def test_ids_follow_the_clock_and_stay_above_derived_ids() -> None:
    now = [1_800_000_000_000]
    make = IdGenerator(clock_ms=lambda: now[0])
    first = make()
    now[0] += 1
    second = make()
    assert second > first
    assert first >> 80 == 1_800_000_000_000
    assert first > 1 << DERIVED_ID_BITS  # ids derived from idempotency keys always sort below


@given(st.integers(min_value=0, max_value=(1 << 128) - 1))
def test_public_ids_are_rfc4648_base32_of_the_16_bytes(value: int) -> None:
    expected = base64.b32encode(value.to_bytes(16, "big")).decode().rstrip("=").lower()
    assert public_id_of("pay_", value) == "pay_" + expected
