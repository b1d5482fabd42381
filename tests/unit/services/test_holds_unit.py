"""Holds on fakes: a hold pays nothing until captured, a capture takes the fee on what it captures and
never more than was held, a retry answers the same, a void gives the money back; only its parties see it."""

from __future__ import annotations

import pytest
from fakes import World

from farthing.clock import ManualClock
from farthing.domain.money import currency
from farthing.domain.principals import MERCHANT_SCOPES, Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.payments.model import PaymentItem

USD = currency("USD")


def _held(amount: str = "0.80") -> tuple[World, Principal, Principal, str]:
    w = World(ManualClock(1_800_000_000_000))
    payer, merchant = w.customer("1.00"), w.merchant()
    assert isinstance(payer, Principal)
    held = w.payments.pay(payer, PaymentItem.of(merchant, amount, "USD", capture=False, hold_s=600), None)
    return w, payer, Principal("key_m", "merchant", merchant, "test", MERCHANT_SCOPES), held.id


def _available(w: World, who: Principal) -> int:
    [state] = w.ledger.accounts([w.accounts.wallet_account(who.party_id or "", who.kind, USD)])
    dp, dpo, _, cpo = state.balances()
    return cpo - dpo - dp


def test_a_capture_pays_part_of_a_hold_with_its_fee_and_a_retry_answers_the_same() -> None:
    w, payer, merchant, hold = _held()
    assert w.holds.get(payer, hold).status == "requires_capture" and _available(w, merchant) == 0
    with pytest.raises(PlatformError) as more:
        w.holds.capture(merchant, hold, "0.81")
    assert more.value.code is ErrorCode.amount_exceeds_hold
    done = w.holds.capture(merchant, hold, "0.50")
    assert (done.amount, done.fee, done.replayed) == (USD.parse("0.50"), USD.parse("0.01"), False)
    assert w.holds.capture(merchant, hold, "0.50").replayed
    assert _available(w, payer) == USD.parse("0.50") and _available(w, merchant) == USD.parse("0.49")
    assert w.holds.get(merchant, hold).amount == USD.parse("0.50")
    debits, credits = w.ledger.sums(USD.ledger)
    assert debits == credits


def test_a_void_gives_the_money_back_and_nothing_can_be_captured_after() -> None:
    w, payer, merchant, hold = _held()
    assert w.holds.void(merchant, hold).status == "canceled"
    assert _available(w, payer) == USD.parse("1.00") and w.holds.get(payer, hold).status == "canceled"
    with pytest.raises(PlatformError) as late:
        w.holds.capture(merchant, hold, None)
    assert late.value.code is not None and _available(w, merchant) == 0


def test_only_its_parties_see_a_hold() -> None:
    w, _, _, hold = _held()
    stranger = Principal("k", "merchant", w.merchant(), "test", MERCHANT_SCOPES)
    with pytest.raises(PlatformError) as unseen:
        w.holds.get(stranger, hold)
    assert unseen.value.code is ErrorCode.not_found
