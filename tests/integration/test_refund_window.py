"""Refunds and withdrawals go through within the policy's window, counted in days of the policy's
calendar as Regulation 1182/71 counts them: the day of payment not counted, day 14 of the EU's 14 days
yes, day 15 no, and a last day that falls on a weekend or a public holiday of the member state moves to
the next working day (Art. 3(4)). A currency without a policy keeps no window. Every date is set on the
platform's one clock: nothing here reads the real date."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from farthing.adapters.rows import int16
from farthing.bootstrap import Platform, open_platform
from farthing.clock import ManualClock
from farthing.domain.policy.evaluate import Evidence
from farthing.domain.principals import MERCHANT_SCOPES, Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.amounts import positive_money
from farthing.services.payments.model import PaymentItem

BERLIN = ZoneInfo("Europe/Berlin")
HERE = Evidence(ip="DE")


def berlin(day: str, hour: int = 12) -> int:
    """Unix ms of `hour`:00 in Berlin on `day` (YYYY-MM-DD)."""
    y, m, d = (int(p) for p in day.split("-"))
    return int(datetime(y, m, d, hour, tzinfo=BERLIN).timestamp()) * 1000


def _shop_and_payer(platform: Platform) -> tuple[str, Principal, Principal]:
    """A German shop and a German payer with EUR 10.00 in its wallet."""
    operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
    merchant_id, merchant_key, _ = platform.parties.create(operator, "merchant", "Shop", "DE")
    merchant = Principal(merchant_key, "merchant", merchant_id, "test", MERCHANT_SCOPES)
    cid, key_id, _ = platform.parties.create(operator, "customer", "Buyer", "DE")
    payer = Principal(key_id, "customer", cid, "test", frozenset({"payments:write", "topups:write"}))
    platform.topups.top_up(payer, positive_money("10.00", "EUR"), "4242424242424242")
    return merchant_id, merchant, payer


@pytest.mark.any_date
def test_refund_on_day_14_but_not_on_day_15(store_url: str) -> None:
    clock = ManualClock(berlin("2026-11-10"))  # a Tuesday: day 14 is Tuesday 24 November, a working day
    platform = open_platform(store_url, ["eu-de"], clock=clock)
    try:
        merchant_id, merchant, payer = _shop_and_payer(platform)
        paid = platform.payments.pay(payer, PaymentItem.of(merchant_id, "2.00", "EUR", evidence=HERE), None)
        clock.set(berlin("2026-11-24", 23))
        assert platform.refunds.refund(merchant, paid.id, "0.50", None).amount == "0.50"
        clock.set(berlin("2026-11-25", 0))
        with pytest.raises(PlatformError) as closed:
            platform.refunds.refund(merchant, paid.id, "0.50", None)
        assert closed.value.code is ErrorCode.refund_window_closed and "day 15" in closed.value.detail
    finally:
        platform.close()


@pytest.mark.parametrize(
    ("paid_on", "last_working_day", "why"),
    [
        ("2026-11-07", "2026-11-23", "day 14 is Saturday 21 November: the period ends on Monday 23"),
        ("2026-12-11", "2026-12-28", "day 14 is Christmas Day (Friday), then a weekend with Boxing Day"),
    ],
)
def test_a_period_ending_on_a_weekend_or_holiday_ends_on_the_next_working_day(
    store_url: str, paid_on: str, last_working_day: str, why: str
) -> None:
    clock = ManualClock(berlin(paid_on))
    platform = open_platform(store_url, ["eu-de"], clock=clock)
    try:
        merchant_id, _, payer = _shop_and_payer(platform)
        first = platform.payments.pay(payer, PaymentItem.of(merchant_id, "2.00", "EUR", evidence=HERE), None)
        second = platform.payments.pay(payer, PaymentItem.of(merchant_id, "1.00", "EUR", evidence=HERE), None)
        clock.set(berlin(last_working_day, 23))
        done = platform.refunds.withdraw(payer, first.id, None)
        assert done.amount == "2.00", why
        clock.set(berlin(last_working_day, 23) + 3_600_000)  # the next day, at midnight: over
        with pytest.raises(PlatformError) as late:
            platform.refunds.withdraw(payer, second.id, None)
        assert late.value.code is ErrorCode.withdrawal_not_allowed, why
        assert "is not a working day" in late.value.detail
    finally:
        platform.close()


@pytest.mark.any_date
def test_the_payer_withdraws_by_right_unless_it_waived_the_right_or_the_period_ended(store_url: str) -> None:
    clock = ManualClock(berlin("2026-11-10"))
    platform = open_platform(store_url, ["eu-de"], clock=clock)
    try:
        merchant_id, merchant, payer = _shop_and_payer(platform)
        kept = platform.payments.pay(payer, PaymentItem.of(merchant_id, "2.00", "EUR", evidence=HERE), None)
        waived_item = PaymentItem.of(merchant_id, "1.00", "EUR", evidence=HERE, withdrawal_waived=True)
        waived = platform.payments.pay(payer, waived_item, None)
        assert waived.policy is not None and waived.policy["withdrawal_waived"] is True
        [wallet] = [w for _, w in platform.accounts.wallets(payer)]
        before = wallet.credits_posted - wallet.debits_posted

        with pytest.raises(PlatformError) as not_merchant:
            platform.refunds.withdraw(merchant, kept.id, None)  # the right is the payer's, not the merchant's
        assert not_merchant.value.code is ErrorCode.forbidden
        clock.set(berlin("2026-11-25"))
        with pytest.raises(PlatformError) as late:
            platform.refunds.withdraw(payer, kept.id, None)
        assert late.value.code is ErrorCode.withdrawal_not_allowed and "day 15" in late.value.detail
        clock.set(berlin("2026-11-11"))
        with pytest.raises(PlatformError) as gave_up:
            platform.refunds.withdraw(payer, waived.id, None)
        assert gave_up.value.code is ErrorCode.withdrawal_not_allowed and "waived" in gave_up.value.detail

        clock.set(berlin("2026-11-24"))
        done = platform.refunds.withdraw(payer, kept.id, "withdraw-1")
        assert (done.amount, done.reason) == ("2.00", "withdrawal")
        assert platform.refunds.withdraw(payer, kept.id, "withdraw-1").replayed  # a retry moves nothing again
        [wallet] = [w for _, w in platform.accounts.wallets(payer)]
        assert wallet.credits_posted - wallet.debits_posted == before + 2_000_000
        with pytest.raises(PlatformError) as twice:
            platform.refunds.withdraw(payer, kept.id, None)
        assert twice.value.code is ErrorCode.refund_exceeds_payment
    finally:
        platform.close()


@pytest.mark.any_date
def test_a_payment_decided_before_midnight_and_committed_after_counts_on_its_decided_day(store_url: str) -> None:
    """The refund window and the tax base follow the payment's decision (kept with it), never the moment
    the ledger committed it: decided at 23:59:59.999 on day 0, committed on day 1."""
    clock = ManualClock(berlin("2026-11-30", 23) + 3_599_999)  # 23:59:59.999 on 30 November, Berlin
    platform = open_platform(store_url, ["eu-de"], clock=clock)
    engine = platform.ledger.engine
    decide_clock = engine.clock_ms
    try:
        merchant_id, _, payer = _shop_and_payer(platform)
        engine.clock_ms = lambda: decide_clock() + 1  # the ledger commits a millisecond later: 1 December
        paid = platform.payments.pay(payer, PaymentItem.of(merchant_id, "2.00", "EUR", evidence=HERE), None)
        platform.payments.pay(
            payer, PaymentItem.of(merchant_id, "1.00", "EUR", evidence=HERE), None
        )  # the refund's funds
        assert paid.policy is not None and (paid.policy["day"], paid.policy["month"]) == ("2026-11-30", "2026-11")
        clock.set(berlin("2026-12-14", 23))  # day 14 after 30 November (a Monday)
        assert platform.refunds.withdraw(payer, paid.id, None).amount == "2.00"
        bases = platform.db.query("SELECT account_id, period FROM tax_bases WHERE merchant = ?", (merchant_id,))
        assert [p for _, p in bases] == ["2026-11"]
        [base] = platform.ledger.accounts([int16(bytes(bases[0][0]))])
        assert base.credits_posted - base.debits_posted == 1_000_000  # the withdrawal left November's base
    finally:
        engine.clock_ms = decide_clock
        platform.close()
