"""Top-ups on fakes: the card's fee booked beside the top-up, retries charge once, the guard pauses."""

from __future__ import annotations

import pytest
from fakes import World

from farthing.clock import ManualClock
from farthing.domain.money import currency
from farthing.domain.principals import Principal
from farthing.domain.risk.velocity import Velocity
from farthing.errors import ErrorCode, PlatformError
from farthing.services.amounts import positive_money

USD = currency("USD")
DECLINED = "4000000000000002"


def test_a_top_up_books_the_wallet_and_the_card_fee_and_a_retry_books_nothing_again() -> None:
    w = World(ManualClock(1_800_000_000_000))
    payer: Principal = w.customer(funds="0")  # type: ignore[assignment]
    done = w.topups.top_up(payer, positive_money("5.00", "USD"), "4242424242424242", "t-1")
    again = w.topups.top_up(payer, positive_money("5.00", "USD"), "4242424242424242", "t-1")
    assert again == type(done)(done.id, done.amount, done.processor_fee, done.currency, True)
    [(_, wallet)] = w.accounts.wallets(payer)
    assert wallet.credits_posted == USD.parse("5.00")
    assert w.ledger.sums(USD.ledger)[0] == w.ledger.sums(USD.ledger)[1]  # the ledger sums to zero
    with pytest.raises(PlatformError) as other:
        w.topups.top_up(payer, positive_money("6.00", "USD"), "4242424242424242", "t-1")
    assert other.value.code is ErrorCode.idempotency_key_reused


@pytest.mark.parametrize(("amount", "code"), [(5, ErrorCode.amount_float_not_allowed),
                                              ("0.001", ErrorCode.amount_too_precise),
                                              ("0", ErrorCode.amount_invalid)])  # fmt: skip
def test_a_top_up_the_card_cannot_carry_is_refused_and_moves_nothing(amount: object, code: ErrorCode) -> None:
    w = World(ManualClock(1_800_000_000_000))
    payer: Principal = w.customer(funds="0")  # type: ignore[assignment]
    with pytest.raises(PlatformError) as refused:
        w.topups.top_up(payer, positive_money(amount, "USD"), "4242424242424242")
    assert refused.value.code is code and w.ledger.transfers == {}


def test_declines_pause_the_customers_top_ups_once_logged() -> None:
    clock = ManualClock(1_800_000_000_000)
    w = World(clock)
    w.topups.guard = Velocity(max_declines=2)
    payer: Principal = w.customer(funds="0")  # type: ignore[assignment]
    for _ in range(2):
        with pytest.raises(PlatformError) as declined:
            w.topups.top_up(payer, positive_money("1.00", "USD"), DECLINED)
        assert declined.value.code is ErrorCode.card_declined
    for _ in range(2):
        with pytest.raises(PlatformError) as paused:
            w.topups.top_up(payer, positive_money("1.00", "USD"), "4242424242424242")
        assert paused.value.code is ErrorCode.topups_paused
    assert w.events.kinds() == ["topups.paused"]
    clock.advance(Velocity().pause_ms)
    assert w.topups.top_up(payer, positive_money("1.00", "USD"), "4242424242424242").amount == USD.parse("1.00")
