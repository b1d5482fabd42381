"""Payout arithmetic: whole cents to the bank, the sub-cent remainder and the reserve kept, the minimum
and the schedules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from farthing.domain.money import currency
from farthing.domain.payouts import DAY_MS, Terms, due, fee_floor, payable
from farthing.errors import ErrorCode, PlatformError

EUR, KRW = currency("EUR"), currency("KRW")
T0 = 1_795_867_200_000  # 2026-11-28 12:00 UTC, a Saturday


def test_a_payout_is_whole_cents_and_the_rest_stays() -> None:
    paid = payable(EUR, 12_345_678, Terms(), 0)  # 12.345678 EUR
    assert (paid.amount, paid.remainder, paid.reserve) == (12_340_000, 5_678, 0)
    won = payable(KRW, 1_234, Terms(), 0)  # whole won: nothing left below a unit
    assert (won.amount, won.remainder) == (1_234, 0)


def test_the_reserve_holds_back_its_share_of_recent_receipts_rounded_up() -> None:
    terms = Terms(reserve_ppm=100_000, reserve_days=30)  # 10 %
    paid = payable(EUR, 50_000_000, terms, 20_000_001)
    assert paid.reserve == 2_000_001 and paid.amount == 47_990_000 and paid.remainder == 9_999


def test_under_the_minimum_or_nothing_free_is_refused() -> None:
    with pytest.raises(PlatformError) as small:
        payable(EUR, 4_990_000, Terms(minimum=5_000_000), 0)
    assert small.value.code is ErrorCode.validation_failed and "under the minimum" in small.value.detail
    with pytest.raises(PlatformError) as none:
        payable(EUR, 9_999, Terms(), 0)  # less than a cent
    assert none.value.code is ErrorCode.insufficient_funds


@given(st.integers(0, 10**15), st.integers(0, 10**15), st.integers(0, 1_000_000))
def test_nothing_is_lost_amount_reserve_and_remainder_make_the_balance(available: int, lately: int, ppm: int) -> None:
    try:
        paid = payable(EUR, available, Terms(reserve_ppm=ppm, reserve_days=7), lately)
    except PlatformError:
        return
    assert paid.amount + paid.reserve + paid.remainder == available
    assert paid.amount % 10_000 == 0 and 0 <= paid.remainder < 10_000 and paid.amount > 0


def test_schedules_say_when_a_payout_is_due() -> None:
    assert not due(Terms(), None, T0, 10**9)
    assert due(Terms("daily"), None, T0, 1)
    assert not due(Terms("daily"), T0 - 3_600_000, T0, 1) and due(Terms("daily"), T0 - DAY_MS, T0, 1)
    monday = T0 + 2 * DAY_MS
    assert not due(Terms("weekly"), T0 - DAY_MS, T0, 1) and due(Terms("weekly"), T0, monday, 1)
    december = T0 + 3 * DAY_MS  # 2026-12-01
    assert not due(Terms("monthly"), T0 - 20 * DAY_MS, T0, 1) and due(Terms("monthly"), T0, december, 1)
    assert due(Terms("threshold", threshold=100), None, T0, 100) and not due(
        Terms("threshold", threshold=100), None, T0, 99
    )
    with pytest.raises(PlatformError):
        Terms("hourly")
    with pytest.raises(PlatformError):
        Terms(reserve_ppm=1_000_001)


def test_the_operators_minimum_keeps_the_bank_fee_within_its_share() -> None:
    assert fee_floor(EUR, 250_000, 10_000) == 25_000_000  # a 0.25 fee within 1 %: payouts of 25.00 at least
    assert fee_floor(EUR, 200_000, 30_000) == 6_670_000  # 6.666… rounded up to the cent
    assert fee_floor(EUR, 0, 10_000) == fee_floor(EUR, 250_000, 0) == 0  # not set: no floor
    with pytest.raises(PlatformError) as under:
        payable(EUR, 20_000_000, Terms(minimum=1_000_000), 0, floor=25_000_000)
    assert "minimum payout of 25.00 EUR" in under.value.detail
    assert payable(EUR, 30_000_000, Terms(minimum=1_000_000), 0, floor=25_000_000).amount == 30_000_000
