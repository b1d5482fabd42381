"""Accounts on a fake ledger: wallets opened once, the same id every time, public ids that round-trip."""

from __future__ import annotations

import pytest
from fakes import FakeLedger, FakeWallets

from farthing.clock import ManualClock
from farthing.domain.ledger_types import AccountFlags
from farthing.domain.money import currency
from farthing.domain.principals import Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.accounts import CODE_CARD_FEES, CODE_CUSTOMER, Accounts, payment_transfer_id, public_id_of

USD = currency("USD")


def test_a_wallet_is_opened_once_recorded_and_found() -> None:
    ledger, wallets = FakeLedger(ManualClock(0)), FakeWallets()
    accounts = Accounts(ledger, wallets)  # type: ignore[arg-type]
    first = accounts.wallet_account("cus_1", "customer", USD)
    trips = ledger.round_trips
    assert accounts.wallet_account("cus_1", "customer", USD) == first and ledger.round_trips == trips
    again = Accounts(ledger, wallets)  # another process: derives the same id, the ledger says it exists
    assert again.wallet_account("cus_1", "customer", USD) == first
    state = ledger.state.accounts[first]
    assert state.code == CODE_CUSTOMER and state.flags & AccountFlags.debits_must_not_exceed_credits
    payer = Principal("k", "customer", "cus_1", "test", frozenset())
    assert accounts.wallet_of(payer, "usd") == (first, USD)
    assert [code for code, _ in accounts.wallets(payer)] == ["USD"]
    assert accounts.owners(first, 12345) == {first: "cus_1"}


def test_no_wallet_and_an_operators_wallets_are_refused() -> None:
    accounts = Accounts(FakeLedger(ManualClock(0)), FakeWallets())  # type: ignore[arg-type]
    with pytest.raises(PlatformError) as missing:
        accounts.wallet_of(Principal("k", "customer", "cus_1", "test", frozenset()), "EUR")
    assert missing.value.code is ErrorCode.not_found
    with pytest.raises(PlatformError) as operator:
        accounts.wallets(Principal("k", "operator", None, "test", frozenset()))
    assert operator.value.code is ErrorCode.forbidden


def test_the_card_fee_account_may_only_be_debited() -> None:
    ledger = FakeLedger(ManualClock(0))
    fees = Accounts(ledger, FakeWallets()).platform_account(CODE_CARD_FEES, USD, "test")  # type: ignore[arg-type]
    assert ledger.state.accounts[fees].flags & AccountFlags.credits_must_not_exceed_debits


@pytest.mark.parametrize("value", [0, 1, 2**64 + 7, 2**128 - 1])
def test_a_public_payment_id_round_trips(value: int) -> None:
    public = public_id_of("pay_", value)
    assert len(public) == 30 and payment_transfer_id(public) == value


@pytest.mark.parametrize("bad", ["pay_", "ref_" + "a" * 26, "pay_" + "1" * 26, "pay_" + "a" * 25])
def test_what_cannot_be_a_payment_id_is_not_found(bad: str) -> None:
    with pytest.raises(PlatformError) as missing:
        payment_transfer_id(bad)
    assert missing.value.code is ErrorCode.not_found
