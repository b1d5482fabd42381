"""Risk on the live payment path, in process: every payment carries its score and reasons; a payment
that looks like an account takeover (a new device, network and merchant, far above the payer's usual)
steps up where the payer has a second factor and is refused where it has none, moving nothing; card
testing on top of a jump in location is refused outright without a second factor."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest

from conftest import MID_MONTH_MS
from farthing.bootstrap import Platform, open_platform
from farthing.clock import ManualClock
from farthing.domain.money import currency
from farthing.domain.policy.evaluate import Evidence
from farthing.domain.principals import Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.amounts import positive_money
from farthing.services.payments.model import PaymentItem, SeenFrom

USD = currency("USD")
HOME = SeenFrom("laptop", "203.0.113.0/24")
ELSEWHERE = SeenFrom("unknown-phone", "198.51.100.0/24")


@dataclass
class World:
    platform: Platform
    clock: ManualClock
    payer: Principal
    shop: str
    other_shop: str

    def pay(self, amount: str, merchant: str, seen_from: SeenFrom, country: str | None = None):  # type: ignore[no-untyped-def]
        evidence = Evidence(ip=country) if country else None
        item = PaymentItem.of(merchant, amount, "USD", seen_from=seen_from, evidence=evidence)
        return self.platform.payments.pay(self.payer, item, None)

    def available(self) -> int:
        wallet = self.platform.accounts.wallet_account(self.payer.party_id or "", "customer", USD)
        [state] = self.platform.ledger.accounts([wallet])
        dp, dpo, _, cpo = state.balances()
        return cpo - dpo - dp

    def usual_month(self) -> None:
        """Thirty ordinary payments of about ten cents at the usual shop, from home, an hour apart."""
        for i in range(30):
            paid = self.pay(f"0.{10 + i % 3}", self.shop, HOME, "US")
            assert paid.risk == {"score": 0, "outcome": "allow", "reasons": []}
            self.clock.advance(3_600_000)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    clock = ManualClock(MID_MONTH_MS)
    platform = open_platform(f"sqlite:///{tmp_path}/ledger.db", clock=clock, topup_guard=None)
    operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
    shop, _, _ = platform.parties.create(operator, "merchant", "Usual Shop", "US")
    other, _, _ = platform.parties.create(operator, "merchant", "Far Shop", "US")
    cid, key_id, _ = platform.parties.create(operator, "customer", "Payer", "US")
    payer = Principal(key_id, "customer", cid, "test", frozenset({"payments:write", "topups:write", "read"}))
    platform.topups.top_up(payer, positive_money("100.00", "USD"), "4242424242424242")
    try:
        yield World(platform, clock, payer, shop, other)
    finally:
        platform.close()


def test_a_takeover_without_a_second_factor_is_refused_and_moves_nothing(world: World) -> None:
    w = world
    w.usual_month()
    before = w.available()
    with pytest.raises(PlatformError) as refused:
        w.pay("40.00", w.other_shop, ELSEWHERE, "US")
    assert refused.value.code is ErrorCode.authentication_required
    assert "the risk analysis scored this payment 75 of 100" in refused.value.detail
    assert "a new device, network and merchant at once" in refused.value.detail
    assert "enrol a second factor" in refused.value.detail
    assert w.available() == before
    assert w.pay("0.11", w.shop, HOME, "US").risk == {"score": 0, "outcome": "allow", "reasons": []}


def test_a_takeover_steps_up_a_payer_with_a_second_factor_and_says_why(world: World) -> None:
    w = world
    factors = w.platform.identity.factors
    enrolment = factors.enrol_totp(w.payer)
    factors.confirm_totp(w.payer, enrolment.factor_id, pyotp.TOTP(enrolment.secret).at(w.clock() // 1000))
    w.usual_month()
    waiting = w.pay("40.00", w.other_shop, ELSEWHERE, "US")
    assert waiting.status == "requires_authentication"
    assert waiting.risk is not None and (waiting.risk["score"], waiting.risk["outcome"]) == (75, "step_up")
    rules = [r["rule"] for r in waiting.risk["reasons"]]  # type: ignore[index, union-attr]
    assert rules == ["risk.takeover", "risk.amount_outlier"]
    answered = w.platform.step_ups.authenticate(
        w.payer, waiting.id, code=pyotp.TOTP(enrolment.secret).at(w.clock() // 1000 + 30)
    )
    assert answered.status == "succeeded"


def test_card_testing_from_another_country_is_refused_without_a_second_factor(world: World) -> None:
    w = world
    w.usual_month()
    for _ in range(3):
        with pytest.raises(PlatformError):
            w.platform.topups.top_up(w.payer, positive_money("5.00", "USD"), "4000000000000002")
    before = w.available()
    with pytest.raises(PlatformError) as refused:
        w.pay("0.12", w.shop, ELSEWHERE, "FR")
    assert refused.value.code is ErrorCode.policy_denied
    assert "scored this payment 90 of 100: card testing: 3 declined top-ups within a day" in refused.value.detail
    assert w.available() == before
