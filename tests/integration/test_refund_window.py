"""Refunds go through within the policy's window, counted in days of the policy's calendar: day 14 of
the EU's 14 days yes, day 15 no; a currency without a policy keeps no window."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from farthing.domain.policy.evaluate import Evidence
from farthing.errors import ErrorCode
from farthing.services.holds import Holds, payment_transfer_id
from farthing.services.platform import MERCHANT_SCOPES, PaymentItem, Platform, PlatformError, Principal, open_platform
from farthing.services.refunds import refund, withdraw

BERLIN = ZoneInfo("Europe/Berlin")


def _noon_days_after(ms: int, days: int) -> int:
    """12:00 in Berlin, `days` calendar days after the Berlin day of `ms`."""
    day = datetime.fromtimestamp(ms / 1000, BERLIN).date() + timedelta(days=days)
    return int(datetime(day.year, day.month, day.day, 12, tzinfo=BERLIN).timestamp()) * 1000


def _shop_and_payer(platform: Platform) -> tuple[str, Principal, Principal]:
    """A German shop and a German payer with EUR 10.00 in its wallet."""
    operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
    merchant_id, merchant_key, _ = platform.create_party(operator, "merchant", "Shop", "DE")
    merchant = Principal(merchant_key, "merchant", merchant_id, "test", MERCHANT_SCOPES)
    cid, key_id, _ = platform.create_party(operator, "customer", "Buyer", "DE")
    payer = Principal(key_id, "customer", cid, "test", frozenset({"payments:write", "topups:write"}))
    platform.top_up(payer, "10.00", "EUR", "4242424242424242")
    return merchant_id, merchant, payer


def test_refund_on_day_14_but_not_on_day_15(store_url: str) -> None:
    platform = open_platform(store_url, ["eu-de"])
    holds = Holds.open(platform)
    real_clock = platform.clock_ms
    try:
        merchant_id, merchant, payer = _shop_and_payer(platform)
        paid = platform.pay(payer, PaymentItem(merchant_id, "2.00", "EUR", evidence=Evidence(ip="DE")), None)
        paid_at = holds.committed_at(payment_transfer_id(paid.id))
        platform.clock_ms = lambda: _noon_days_after(paid_at, 14)
        assert refund(holds, merchant, paid.id, "0.50", None).amount == "0.50"
        platform.clock_ms = lambda: _noon_days_after(paid_at, 15)
        with pytest.raises(PlatformError) as closed:
            refund(holds, merchant, paid.id, "0.50", None)
        assert closed.value.code is ErrorCode.refund_window_closed and "day 15" in closed.value.detail
    finally:
        platform.clock_ms = real_clock
        holds.close()
        platform.close()


def test_the_payer_withdraws_by_right_unless_it_waived_the_right_or_the_period_ended(store_url: str) -> None:
    platform = open_platform(store_url, ["eu-de"])
    holds = Holds.open(platform)
    real_clock = platform.clock_ms
    try:
        merchant_id, merchant, payer = _shop_and_payer(platform)
        here = Evidence(ip="DE")
        kept = platform.pay(payer, PaymentItem(merchant_id, "2.00", "EUR", evidence=here), None)
        waived = platform.pay(payer, PaymentItem(merchant_id, "1.00", "EUR", evidence=here, withdrawal_waived=True),
                              None)  # fmt: skip
        assert waived.policy is not None and waived.policy["withdrawal_waived"] is True
        [wallet] = [w for _, w in platform.wallets(payer)]
        before = wallet.credits_posted - wallet.debits_posted
        paid_at = holds.committed_at(payment_transfer_id(kept.id))

        with pytest.raises(PlatformError) as not_merchant:
            withdraw(holds, merchant, kept.id, None)  # the right is the payer's, not the merchant's
        assert not_merchant.value.code is ErrorCode.forbidden
        platform.clock_ms = lambda: _noon_days_after(paid_at, 15)
        with pytest.raises(PlatformError) as late:
            withdraw(holds, payer, kept.id, None)
        assert late.value.code is ErrorCode.withdrawal_not_allowed and "day 15" in late.value.detail
        platform.clock_ms = lambda: _noon_days_after(paid_at, 1)
        with pytest.raises(PlatformError) as gave_up:
            withdraw(holds, payer, waived.id, None)
        assert gave_up.value.code is ErrorCode.withdrawal_not_allowed and "waived" in gave_up.value.detail

        platform.clock_ms = lambda: _noon_days_after(paid_at, 14)
        done = withdraw(holds, payer, kept.id, "withdraw-1")
        assert (done.amount, done.reason) == ("2.00", "withdrawal")
        assert withdraw(holds, payer, kept.id, "withdraw-1").replayed  # a retry moves nothing again
        [wallet] = [w for _, w in platform.wallets(payer)]
        assert wallet.credits_posted - wallet.debits_posted == before + 2_000_000
        with pytest.raises(PlatformError) as twice:
            withdraw(holds, payer, kept.id, None)
        assert twice.value.code is ErrorCode.refund_exceeds_payment
    finally:
        platform.clock_ms = real_clock
        holds.close()
        platform.close()
