"""Test and live on fakes: each mode's money lands in its own platform accounts, parties of one mode never
meet the other's, and the test card gateway takes no live money."""

from __future__ import annotations

import pytest
from fakes import World

from farthing.clock import ManualClock
from farthing.domain.money import currency
from farthing.domain.principals import SCOPES, Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.accounts import CODE_CARD_FEES, CODE_FEE_REVENUE, CODE_FUNDING_CLEARING
from farthing.services.amounts import positive_money
from farthing.services.funding import TestGateway
from farthing.services.payments.model import PaymentItem

USD = currency("USD")


class LiveCapableGateway(TestGateway):
    """The test cards, taken in both modes: how a real processor's gateway would stand in here."""

    modes = frozenset({"test", "live"})


def _party(w: World, operator: Principal, kind: str) -> tuple[str, Principal]:
    party, key, _ = w.parties.create(operator, kind, kind.title(), "DE")
    return party, Principal(key, kind, party, operator.mode, frozenset(SCOPES[kind].split()))


def _balances(w: World, mode: str) -> dict[int, tuple[int, int]]:
    ids = {code: w.accounts.platform_account(code, USD, mode) for code in (CODE_FUNDING_CLEARING, CODE_CARD_FEES,
                                                                             CODE_FEE_REVENUE)}  # fmt: skip
    states = {a.id: a for a in w.ledger.accounts(list(ids.values()))}
    return {code: (states[i].debits_posted, states[i].credits_posted) for code, i in ids.items()}


def test_live_money_lands_in_the_live_platform_accounts_only() -> None:
    w = World(ManualClock(1_800_000_000_000))
    w.topups.gateway = LiveCapableGateway()
    live_operator = Principal("key_live", "operator", None, "live", w.operator.scopes)
    merchant, _ = _party(w, live_operator, "merchant")
    _, payer = _party(w, live_operator, "customer")
    w.topups.top_up(payer, positive_money("1.00", "USD"), "4242424242424242")
    paid = w.payments.pay(payer, PaymentItem.of(merchant, "0.50", "USD"), None)
    assert paid.fee > 0

    live, test = _balances(w, "live"), _balances(w, "test")
    assert live[CODE_FEE_REVENUE] == (0, paid.fee)  # the fee was earned in live mode
    assert live[CODE_FUNDING_CLEARING][0] == USD.parse("1.00")  # the card money came in live
    assert live[CODE_CARD_FEES][0] > 0
    assert all(moved == (0, 0) for moved in test.values()), test  # test mode's accounts never moved
    assert w.accounts.platform_account(CODE_FEE_REVENUE, USD, "live") != w.accounts.platform_account(
        CODE_FEE_REVENUE, USD, "test"
    )
    debits, credits = w.ledger.sums(USD.ledger)
    assert debits == credits


def test_a_party_of_one_mode_cannot_pay_or_be_paid_by_the_other() -> None:
    w = World(ManualClock(1_800_000_000_000))
    live_operator = Principal("key_live", "operator", None, "live", w.operator.scopes)
    live_merchant, _ = _party(w, live_operator, "merchant")
    test_payer = w.customer("1.00")
    with pytest.raises(PlatformError) as crossed:
        w.payments.pay(test_payer, PaymentItem.of(live_merchant, "0.10", "USD"), None)  # type: ignore[arg-type]
    assert crossed.value.code is ErrorCode.not_found
    assert w.parties.mode_of(live_merchant) == "live"


def test_the_test_gateway_takes_no_live_top_up_and_books_nothing() -> None:
    w = World(ManualClock(1_800_000_000_000))
    live_operator = Principal("key_live", "operator", None, "live", w.operator.scopes)
    _, payer = _party(w, live_operator, "customer")
    moved = dict(w.ledger.transfers)
    with pytest.raises(PlatformError) as refused:
        w.topups.top_up(payer, positive_money("1.00", "USD"), "4242424242424242")
    assert refused.value.code is ErrorCode.live_mode_unavailable and "no live top-up" in refused.value.detail
    assert w.ledger.transfers == moved
