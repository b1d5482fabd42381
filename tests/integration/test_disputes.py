"""Disputes on both stores: the amount is held from the merchant at once (the platform covers what its
balance cannot), the merchant answers once before the due date, and the dispute is won (the hold goes
back to the merchant) or lost (the payer is paid back). Refunds and disputes together never give back
more than was paid; a payout keeps back only what of the reserve open disputes do not already hold;
each step sends its webhook; every ledger sums to zero."""

from __future__ import annotations

import json

import pytest

from farthing.adapters.disputes_sql import DisputeTable
from farthing.bootstrap import Platform, open_platform
from farthing.domain.chart import CODE_DISPUTE_CLEARING, CODE_DISPUTE_LOSSES
from farthing.domain.disputes import DAY_MS, EVIDENCE_DAYS
from farthing.domain.money import currency
from farthing.domain.payouts import Terms
from farthing.domain.principals import MERCHANT_SCOPES, Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.accounts import platform_account_id
from farthing.services.amounts import positive_money
from farthing.services.payments.model import PaymentItem
from ledger_sums import assert_every_ledger_sums_to_zero

T0 = 1_795_867_200_000
OPERATOR = Principal("op", "operator", None, "test", frozenset({"parties:write", "read"}))
EUR = currency("EUR")


def _balances(platform: Platform, account: int) -> tuple[int, int]:
    """(available, pending debits) of an account."""
    [state] = platform.ledger.accounts([account])
    dp, dpo, _, cpo = state.balances()
    return cpo - dpo - dp, dp


def _world(platform: Platform) -> tuple[str, Principal, Principal, str]:
    merchant, key, _ = platform.parties.create(OPERATOR, "merchant", "Zeitung")
    customer, ckey, _ = platform.parties.create(OPERATOR, "customer", "Leser")
    payer = Principal(ckey, "customer", customer, "test", frozenset({"payments:write", "topups:write", "read"}))
    platform.topups.top_up(payer, positive_money("50.00", "EUR"), "4242424242424242")
    paid = platform.payments.pay(payer, PaymentItem.of(merchant, "10.00", "EUR"), None)  # 2 % fee: 9.80 left
    return merchant, Principal(key, "merchant", merchant, "test", MERCHANT_SCOPES), payer, paid.id


def _events(platform: Platform) -> list[str]:
    rows = platform.db.query("SELECT body FROM outbox ORDER BY id")
    return [json.loads(str(b))["type"] for (b,) in rows if "dispute." in str(b)]


@pytest.mark.any_date
def test_a_dispute_holds_from_the_merchant_and_is_won_or_lost(store_url: str) -> None:
    now = [T0]
    platform = open_platform(store_url, clock=lambda: now[0])
    try:
        merchant, shop, payer, paid = _world(platform)
        wallet, _ = platform.accounts.wallet_of_party(merchant, "EUR")
        payer_wallet, _ = platform.accounts.wallet_of_party(payer.party_id or "", "EUR")
        disputes = platform.disputes
        won = disputes.open(payer, paid, "3.00", "not_received", key="d1")
        assert (won.amount, won.from_merchant, won.from_platform, won.status) == (
            3_000_000,
            3_000_000,
            0,
            "needs_response",
        )
        assert won.due_ms == T0 + EVIDENCE_DAYS * DAY_MS
        assert disputes.open(payer, paid, "3.00", "not_received", key="d1") == won  # a retry: the same dispute
        assert _balances(platform, wallet) == (6_800_000, 3_000_000)  # 9.80 less the 3.00 held
        with pytest.raises(PlatformError) as over:  # 10.00 paid, 3.00 disputed: 7.00 left to refund or dispute
            platform.refunds.refund(shop, paid, "7.01", None)
        assert over.value.code is ErrorCode.refund_exceeds_payment
        with pytest.raises(PlatformError) as too_much:
            disputes.open(payer, paid, "7.01", "duplicate")
        assert too_much.value.code is ErrorCode.dispute_exceeds_payment
        answered = disputes.answer(shop, won.id, "  The reader opened the article twice.  ")
        assert (answered.status, answered.evidence) == ("under_review", "The reader opened the article twice.")
        with pytest.raises(PlatformError) as twice:
            disputes.answer(shop, won.id, "more")
        assert twice.value.code is ErrorCode.dispute_closed
        assert disputes.decide(OPERATOR, won.id, "won").status == "won"
        assert disputes.decide(OPERATOR, won.id, "won").status == "won"  # said twice: nothing moves twice
        with pytest.raises(PlatformError) as other_way:
            disputes.decide(OPERATOR, won.id, "lost")
        assert other_way.value.code is ErrorCode.dispute_closed
        assert _balances(platform, wallet) == (9_800_000, 0)  # the hold released
        now[0] += 60_000
        lost = disputes.open(OPERATOR, paid, "2.50", "fraudulent")  # the card processor's, through the operator
        now[0] += (EVIDENCE_DAYS + 1) * DAY_MS
        with pytest.raises(PlatformError) as late:
            disputes.answer(shop, lost.id, "too late")
        assert late.value.code is ErrorCode.dispute_closed and "passed" in late.value.detail
        before, _ = _balances(platform, payer_wallet)
        assert disputes.decide(OPERATOR, lost.id, "lost").status == "lost"
        assert _balances(platform, wallet) == (7_300_000, 0)
        assert _balances(platform, payer_wallet)[0] == before + 2_500_000
        platform.refunds.refund(shop, paid, "7.30", None)  # all the balance holds (the 0.20 fee is not in it)
        rest = disputes.open(payer, paid, None, "duplicate")  # what is left of the 10.00: 0.20
        assert (rest.amount, rest.from_merchant, rest.from_platform) == (200_000, 0, 200_000)
        with pytest.raises(PlatformError) as nothing_left:
            disputes.open(payer, paid, None, "duplicate")
        assert nothing_left.value.code is ErrorCode.dispute_exceeds_payment
        assert [d.status for d in disputes.list(shop)] == ["needs_response", "lost", "won"]
        assert disputes.list(OPERATOR) == [rest]  # the open ones
        assert _events(platform) == ["dispute.opened", "dispute.evidence_submitted", "dispute.won",
                                     "dispute.opened", "dispute.lost", "dispute.opened"]  # fmt: skip
        assert_every_ledger_sums_to_zero(platform)
    finally:
        platform.close()


@pytest.mark.any_date
def test_what_the_merchant_cannot_cover_the_platform_holds_and_loses(store_url: str) -> None:
    platform = open_platform(store_url, clock=lambda: T0)
    try:
        _, shop, payer, paid = _world(platform)
        platform.payouts.set_account(shop, "Zeitung GmbH", "DE89 3704 0044 0532 0130 00")
        platform.payouts.create(shop, "EUR")  # 9.80 on its way to the bank: nothing left in the balance
        d = platform.disputes.open(payer, paid, "4.00", "fraudulent")
        assert (d.from_merchant, d.from_platform) == (0, 4_000_000)
        platform.disputes.decide(OPERATOR, d.id, "lost")
        losses = platform_account_id(CODE_DISPUTE_LOSSES, EUR, "test")
        clearing = platform_account_id(CODE_DISPUTE_CLEARING, EUR, "test")
        [loss] = platform.ledger.accounts([losses])
        [cleared] = platform.ledger.accounts([clearing])
        assert (loss.debits_posted, loss.credits_posted) == (4_000_000, 0)
        assert cleared.credits_posted == cleared.debits_posted == 4_000_000
        assert_every_ledger_sums_to_zero(platform)
    finally:
        platform.close()


@pytest.mark.any_date
def test_a_payout_keeps_back_only_the_reserve_open_disputes_do_not_hold(store_url: str) -> None:
    platform = open_platform(store_url, clock=lambda: T0)
    try:
        _, shop, payer, paid = _world(platform)  # received 10.00 today, 9.80 in the balance
        platform.payouts.set_account(shop, "Zeitung GmbH", "DE89 3704 0044 0532 0130 00")
        platform.payouts.set_terms(shop, "EUR", Terms(reserve_ppm=300_000, reserve_days=30))  # 3.00 kept back
        platform.disputes.open(payer, paid, "1.00", "not_received")  # held from the balance: 8.80 left
        payout = platform.payouts.create(shop, "EUR")
        assert (payout.amount, payout.reserve) == (6_800_000, 2_000_000)  # the reserve less the 1.00 held
    finally:
        platform.close()


def test_only_the_payer_or_the_operator_disputes(tmp_path: object) -> None:
    platform = open_platform(f"sqlite:///{tmp_path}/ledger.db", clock=lambda: T0)
    try:
        _, shop, payer, paid = _world(platform)
        with pytest.raises(PlatformError) as merchant_tries:
            platform.disputes.open(shop, paid, None, "other")
        assert merchant_tries.value.code is ErrorCode.forbidden
        with pytest.raises(PlatformError) as bad_reason:
            platform.disputes.open(payer, paid, None, "bored")
        assert bad_reason.value.code is ErrorCode.validation_failed
        assert platform.disputes.list(payer) == []  # nothing was opened
    finally:
        platform.close()


def test_a_row_lost_between_the_ledger_and_the_table_is_made_again(store_url: str) -> None:
    """A crash after the ledger's commit and before the row's insert: the payout and the dispute are in the
    ledger with their events, and `recover` (run as `farthing serve` starts) makes their rows again."""
    platform = open_platform(store_url, clock=lambda: T0)
    try:
        _, shop, payer, paid = _world(platform)
        platform.payouts.set_account(shop, "Zeitung GmbH", "DE89 3704 0044 0532 0130 00")
        real_payout_add, real_dispute_add = platform.payouts.repo.add, DisputeTable.add

        def crash(*_: object) -> None:
            raise OSError("the process died here")

        platform.payouts.repo.add = crash  # type: ignore[method-assign]
        with pytest.raises(OSError):
            platform.payouts.create(shop, "EUR")
        DisputeTable.add = crash  # type: ignore[method-assign]
        try:
            with pytest.raises(OSError):
                platform.disputes.open(payer, paid, "1.00", "fraudulent")
        finally:
            DisputeTable.add = real_dispute_add  # type: ignore[method-assign]
        platform.payouts.repo.add = real_payout_add  # type: ignore[method-assign]
        assert platform.payouts.list(shop) == [] and platform.disputes.list(shop) == []
        assert platform.recover() == {"payouts": 1, "disputes": 1}
        [payout] = platform.payouts.list(shop)
        [dispute] = platform.disputes.list(shop)
        assert (payout.amount, payout.status) == (9_800_000, "created")
        assert (dispute.amount, dispute.from_merchant, dispute.status) == (1_000_000, 0, "needs_response")
        assert platform.recover() == {"payouts": 0, "disputes": 0}  # once
        platform.disputes.decide(OPERATOR, dispute.id, "won")  # and they go on as any other
        platform.payouts.settle(OPERATOR, payout.id, paid=True)
        assert_every_ledger_sums_to_zero(platform)
    finally:
        platform.close()
