"""Dispute rules: how much the merchant's balance holds and the platform covers, what may be disputed,
evidence once and in time, a decision that does not change its mind, and the reserve spent first."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from farthing.domain.disputes import DAY_MS, Dispute, check_evidence, check_opening, check_outcome, split
from farthing.domain.money import currency
from farthing.domain.payouts import Terms, payable
from farthing.errors import ErrorCode, PlatformError

T0 = 1_795_867_200_000
OPENED = Dispute("dp_1", "pay_1", "cus", "mer", "EUR", "test", 5_000, 5_000, 0, "fraudulent", "needs_response", None,
                 T0, T0 + 7 * DAY_MS, None)  # fmt: skip


@given(st.integers(1, 10**12), st.integers(-(10**12), 10**12))
def test_the_merchant_holds_what_it_can_and_the_platform_the_rest(amount: int, available: int) -> None:
    mine, covered = split(amount, available)
    assert mine + covered == amount and 0 <= mine <= max(available, 0) and covered >= 0
    assert covered == 0 or mine == max(available, 0)  # the platform only for what the balance cannot


def test_a_dispute_is_within_what_is_left_and_for_a_known_reason() -> None:
    check_opening(7, 7, "duplicate")
    for amount, left, reason, code in ((8, 7, "duplicate", ErrorCode.dispute_exceeds_payment),
                                       (1, 0, "duplicate", ErrorCode.dispute_exceeds_payment),
                                       (1, 7, "bored", ErrorCode.validation_failed)):  # fmt: skip
        with pytest.raises(PlatformError) as refused:
            check_opening(amount, left, reason)
        assert refused.value.code is code


def test_evidence_is_taken_once_and_until_the_due_date() -> None:
    assert check_evidence(OPENED, "  read in full  ", OPENED.due_ms) == "read in full"
    for d, text, at in ((OPENED, "late", OPENED.due_ms + 1), (OPENED, "   ", T0), (OPENED, "a\x00b", T0),
                        (replace(OPENED, status="under_review", evidence="x"), "again", T0)):  # fmt: skip
        with pytest.raises(PlatformError):
            check_evidence(d, text, at)


def test_a_decision_stands() -> None:
    assert check_outcome(OPENED, "lost") is True
    lost = replace(OPENED, status="lost", closed_ms=T0 + 1)
    assert check_outcome(lost, "lost") is False  # said again: nothing to do
    with pytest.raises(PlatformError) as turned:
        check_outcome(lost, "won")
    assert turned.value.code is ErrorCode.dispute_closed


def test_open_disputes_spend_the_reserve_first() -> None:
    eur, terms = currency("EUR"), Terms(reserve_ppm=300_000, reserve_days=30)  # 30 % of 10.00 received: 3.00
    assert payable(eur, 8_800_000, terms, 10_000_000, disputed=1_000_000).reserve == 2_000_000
    assert payable(eur, 8_800_000, terms, 10_000_000, disputed=5_000_000).reserve == 0  # never below zero
    assert payable(eur, 8_800_000, terms, 10_000_000).reserve == 3_000_000
