"""Refunds on fakes: the merchant that was paid gives back part or all, never more than was paid, a
retry with its key answers the same, and the ledger still sums to zero."""

from __future__ import annotations

import pytest
from fakes import World

from farthing.clock import ManualClock
from farthing.domain.money import currency
from farthing.domain.principals import MERCHANT_SCOPES, Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.payments.model import PaymentItem

USD = currency("USD")


def _paid() -> tuple[World, Principal, Principal, str]:
    w = World(ManualClock(1_800_000_000_000))
    payer, merchant = w.customer("1.00"), w.merchant()
    assert isinstance(payer, Principal)
    paid = w.payments.pay(payer, PaymentItem.of(merchant, "0.60", "USD"), None)
    w.payments.pay(payer, PaymentItem.of(merchant, "0.30", "USD"), None)  # the merchant's wallet holds more
    return w, payer, Principal("key_m", "merchant", merchant, "test", MERCHANT_SCOPES), paid.id


def test_a_merchant_refunds_in_parts_never_more_than_was_paid() -> None:
    w, payer, merchant, paid = _paid()
    first = w.refunds.refund(merchant, paid, "0.25", "r-1")
    assert (first.amount, first.reason, first.replayed) == ("0.25", "merchant", False)
    assert w.refunds.refund(merchant, paid, "0.25", "r-1").replayed  # a retry moves nothing
    with pytest.raises(PlatformError) as more:
        w.refunds.refund(merchant, paid, "0.40", "r-2")
    assert more.value.code is ErrorCode.refund_exceeds_payment
    rest = w.refunds.refund(merchant, paid, None, "r-3")  # all that is left
    assert rest.amount == "0.35"
    [(_, wallet)] = w.accounts.wallets(payer)
    assert wallet.credits_posted - wallet.debits_posted == USD.parse("0.70")  # 1.00 - 0.60 - 0.30 + 0.60
    debits, credits = w.ledger.sums(USD.ledger)
    assert debits == credits


def test_a_refund_the_merchants_wallet_cannot_hold_is_refused() -> None:
    w = World(ManualClock(1_800_000_000_000))
    payer, shop = w.customer("1.00"), w.merchant()
    merchant = Principal("key_m", "merchant", shop, "test", MERCHANT_SCOPES)
    paid = w.payments.pay(payer, PaymentItem.of(shop, "0.60", "USD"), None)  # type: ignore[arg-type]
    with pytest.raises(PlatformError) as poor:
        w.refunds.refund(merchant, paid.id, None, None)  # 0.60 back; its wallet holds 0.588 after the fee
    assert poor.value.code is ErrorCode.insufficient_funds
    assert w.refunds.refund(merchant, paid.id, "0.588", None).amount == "0.588"


def test_only_the_merchant_that_was_paid_refunds() -> None:
    w, payer, _, paid = _paid()
    for who in (payer, Principal("k", "merchant", w.merchant(), "test", MERCHANT_SCOPES)):
        with pytest.raises(PlatformError) as refused:
            w.refunds.refund(who, paid, "0.10", None)
        assert refused.value.code in (ErrorCode.forbidden, ErrorCode.not_found)
