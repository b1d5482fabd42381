"""Allowances held by the ledger: concurrent charges never pass the day's room or the total, whichever
thread gets there first; a new day opens new room, the total does not grow."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from farthing.bootstrap import open_platform
from farthing.clock import ManualClock
from farthing.domain.money import currency
from farthing.domain.principals import MERCHANT_SCOPES, Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services import payment_policy
from farthing.services.allowances import DAY_MS
from farthing.services.amounts import positive_money


@pytest.mark.any_date
def test_concurrent_charges_stay_within_the_day_and_the_total(store_url: str) -> None:
    clock = ManualClock(1_797_166_800_000)  # 2026-12-14T12:00:00Z: no midnight while the test runs
    platform = open_platform(store_url, clock=clock)
    try:
        allowances = platform.allowances
        operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
        m, mk, _ = platform.parties.create(operator, "merchant", "Shop")
        c, ck, _ = platform.parties.create(operator, "customer", "Buyer")
        merchant = Principal(mk, "merchant", m, "test", MERCHANT_SCOPES)
        payer = Principal(ck, "customer", c, "test", frozenset({"payments:write", "topups:write"}))
        platform.topups.top_up(payer, positive_money("100.00", "USD"), "4242424242424242")
        each, day, whole = (positive_money(v, "USD") for v in ("1.00", "20.00", "30.00"))
        a = allowances.grant(payer, m, each, day, whole, 10 * 86_400)

        def charge(i: int) -> str:
            try:
                done = allowances.charge(merchant, a.id, "1.00", None, f"k{i}")
            except PlatformError as exc:  # outside, and the payer has no second factor to step up with
                return exc.code.value
            return "within" if done.within else "waiting"

        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(charge, range(30)))
        assert outcomes.count("within") == 20 and outcomes.count(ErrorCode.authentication_required.value) == 10
        clock.advance(DAY_MS)  # the next day: room again, but only 10.00 of the total is left
        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(charge, range(100, 130)))
        assert outcomes.count("within") == 10
        wallet = platform.accounts.wallet_account(c, "customer", currency("USD"))
        [state] = platform.ledger.accounts([wallet])
        assert state.debits_posted == 30_000_000  # 30 charges of 1.00, never more
    finally:
        platform.close()


@pytest.mark.any_date
def test_caps_hold_after_the_policy_forgets_which_accounts_it_opened(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-running server forgets the counter and headroom accounts it knew open past a bound (a fleet
    adds two a device a day); opening or funding one again changes nothing: the room is as it was."""
    monkeypatch.setattr(payment_policy, "KNOWN_ACCOUNTS_MAX", 2)
    clock = ManualClock(1_797_166_800_000)
    platform = open_platform(store_url, clock=clock)
    try:
        operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
        m, mk, _ = platform.parties.create(operator, "merchant", "Shop")
        merchant = Principal(mk, "merchant", m, "test", MERCHANT_SCOPES)
        grants = []
        for i in range(3):  # three payers: six rooms, more than the policy remembers
            c, ck, _ = platform.parties.create(operator, "customer", f"Buyer {i}")
            payer = Principal(ck, "customer", c, "test", frozenset({"payments:write", "topups:write"}))
            platform.topups.top_up(payer, positive_money("10.00", "USD"), "4242424242424242")
            each, day, whole = (positive_money(v, "USD") for v in ("1.00", "2.00", "5.00"))
            grants.append(platform.allowances.grant(payer, m, each, day, whole, 10 * 86_400).id)
        for k in range(3):  # round robin: each payer's rooms forgotten between its charges
            for a in grants:
                try:
                    assert platform.allowances.charge(merchant, a, "1.00", None, f"{a}-{k}").within
                except PlatformError as exc:
                    assert k == 2 and exc.code is ErrorCode.authentication_required  # the day's 2.00 is full
        assert len(platform.policy._funded) <= 2 + 2  # at most the bound, and what the last call added
        spent = [platform.allowances.spent(platform.allowances.get(merchant, a)) for a in grants]
        assert spent == [(2_000_000, 2_000_000)] * 3  # (today, in all): 2.00 each, never more
    finally:
        platform.close()
