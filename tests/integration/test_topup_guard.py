"""The top-up velocity guard on the platform: a customer whose cards keep being declined (card
testing) is paused, with a stable code and the time to wait, and the pause is in its security log."""

from __future__ import annotations

import pytest

from farthing.bootstrap import open_platform
from farthing.domain.principals import Principal
from farthing.domain.risk.velocity import Velocity
from farthing.errors import ErrorCode, PlatformError
from farthing.services.amounts import positive_money

GOOD, DECLINED = "4242424242424242", "4000000000000002"
T0 = 1_795_867_200_000


@pytest.mark.any_date
def test_three_declines_pause_top_ups_for_a_day_and_a_good_card_does_not_lift_it(store_url: str) -> None:
    now = [T0]
    platform = open_platform(store_url, clock=lambda: now[0])
    try:
        assert platform.topups.guard == Velocity()  # on by default
        operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
        tester_id, tester_key, _ = platform.parties.create(operator, "customer", "Tester")
        honest_id, honest_key, _ = platform.parties.create(operator, "customer", "Honest")
        tester = Principal(tester_key, "customer", tester_id, "test", frozenset({"topups:write"}))
        honest = Principal(honest_key, "customer", honest_id, "test", frozenset({"topups:write"}))
        for _ in range(3):
            with pytest.raises(PlatformError) as declined:
                platform.topups.top_up(tester, positive_money("0.50", "USD"), DECLINED)
            assert declined.value.code is ErrorCode.card_declined
            now[0] += 60_000
        with pytest.raises(PlatformError) as paused:
            platform.topups.top_up(tester, positive_money("0.50", "USD"), GOOD)  # a working card does not help now
        assert paused.value.code is ErrorCode.topups_paused and "paused for 1 d" in paused.value.detail
        for _ in range(3):  # every try refused, logged once for the pause
            with pytest.raises(PlatformError):
                platform.topups.top_up(tester, positive_money("0.50", "USD"), GOOD)
        platform.topups.top_up(honest, positive_money("5.00", "USD"), GOOD)  # another customer is not affected
        [event] = platform.db.query(
            "SELECT kind FROM security_events WHERE party_id = ? AND kind = 'topups.paused'", (tester_id,)
        )
        assert event == ("topups.paused",)
        now[0] = T0 + 2 * 60_000 + 24 * 3_600_000  # a day after the third decline
        half = positive_money("0.50", "USD")
        assert platform.topups.top_up(tester, half, GOOD).amount == half.units
        platform.topups.guard = None  # an unguarded flow lets every attempt through to the card network
        for _ in range(5):
            with pytest.raises(PlatformError) as again:
                platform.topups.top_up(tester, positive_money("0.50", "USD"), DECLINED)
            assert again.value.code is ErrorCode.card_declined
    finally:
        platform.close()


def test_attempts_are_kept_only_while_the_guard_may_read_them(store_url: str) -> None:
    now = [T0]
    platform = open_platform(store_url, clock=lambda: now[0])
    try:
        operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
        party, key, _ = platform.parties.create(operator, "customer", "Reader")
        payer = Principal(key, "customer", party, "test", frozenset({"topups:write"}))
        platform.topups.top_up(payer, positive_money("1.00", "USD"), GOOD)
        now[0] += platform.topups.guard.lookback_ms + 1  # type: ignore[union-attr]
        platform.topups.top_up(payer, positive_money("1.00", "USD"), GOOD)
        kept = platform.db.query("SELECT at_ms FROM topup_attempts WHERE party_id = ?", (party,))
        assert kept == [(now[0],)]
    finally:
        platform.close()


@pytest.mark.any_date
def test_an_operator_sees_the_paused_customers_and_lifts_a_pause(store_url: str) -> None:
    now = [T0]
    platform = open_platform(store_url, clock=lambda: now[0])
    try:
        operator = Principal("op", "operator", None, "test", frozenset({"parties:write", "read"}))
        tester_id, tester_key, _ = platform.parties.create(operator, "customer", "Tester")
        slip_id, slip_key, _ = platform.parties.create(operator, "customer", "One slip")
        tester = Principal(tester_key, "customer", tester_id, "test", frozenset({"topups:write"}))
        slip = Principal(slip_key, "customer", slip_id, "test", frozenset({"topups:write"}))
        with pytest.raises(PlatformError):
            platform.topups.top_up(slip, positive_money("0.50", "USD"), DECLINED)  # one decline pauses nothing
        for _ in range(3):
            with pytest.raises(PlatformError):
                platform.topups.top_up(tester, positive_money("0.50", "USD"), DECLINED)
            now[0] += 60_000
        [pause] = platform.topups.paused(operator)
        assert (pause.party_id, pause.until_ms) == (tester_id, T0 + 2 * 60_000 + 24 * 3_600_000)
        assert "3 declined top-ups within 1 h" in pause.reason
        with pytest.raises(PlatformError) as refused:
            platform.topups.paused(slip)
        assert refused.value.code is ErrorCode.forbidden

        platform.topups.resume(operator, tester_id)
        assert platform.topups.paused(operator) == []
        assert platform.topups.top_up(tester, positive_money("0.50", "USD"), GOOD).amount == 500_000
        [event] = platform.db.query(
            "SELECT key_id FROM security_events WHERE party_id = ? AND kind = 'topups.resumed'", (tester_id,)
        )
        assert event == ("op",)
    finally:
        platform.close()
