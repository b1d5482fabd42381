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
from farthing.services.accounts import payment_transfer_id
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


def test_the_transaction_risk_exemption_follows_the_platforms_own_fraud_rate(tmp_path: Path) -> None:
    clock = ManualClock(MID_MONTH_MS)
    platform = open_platform(f"sqlite:///{tmp_path}/ledger.db", ["eu-de"], clock=clock, topup_guard=None)
    operator = Principal("op", "operator", None, "test", frozenset({"parties:write", "read"}))
    shop, _, _ = platform.parties.create(operator, "merchant", "Shop", "DE")

    def payer(name: str) -> Principal:
        cid, key_id, _ = platform.parties.create(operator, "customer", name, "DE")
        p = Principal(key_id, "customer", cid, "test", frozenset({"payments:write", "topups:write", "read"}))
        platform.topups.top_up(p, positive_money("400.00", "EUR"), "4242424242424242")
        return p

    def pay(p: Principal, amount: str, seen_from: SeenFrom = HOME, country: str = "DE"):  # type: ignore[no-untyped-def]
        item = PaymentItem.of(shop, amount, "EUR", evidence=Evidence(ip=country), seen_from=seen_from)
        return platform.payments.pay(p, item, None)

    try:
        for name in ("A", "B", "C"):  # EUR 300 paid within the low-value exemption (4 x EUR 25 each)
            someone = payer(name)
            for _ in range(4):
                assert pay(someone, "25.00").status == "succeeded"
        thief = payer("X")
        stolen = [pay(thief, "0.30").id for _ in range(2)]
        platform.history.catch_up()  # the daily totals the rate reads (the server's projection folds them)
        platform.risk.forget_rates()  # worked out once a minute: the clock stood still
        assert platform.risk.fraud_rate_ppm("EUR", "test") == 0

        reader = payer("P")
        above_low_value = pay(reader, "50.00")  # over EUR 30: exempt only by transaction-risk analysis
        assert above_low_value.policy is not None and above_low_value.policy["sca_exemption"] == "eu.sca.tra"

        platform.risk_labels.label(operator, stolen[0], True)  # EUR 0.30 of EUR 300.60: 0.0998 % <= 0.13 %
        assert platform.risk.fraud_rate_ppm("EUR", "test") == 999  # 998.004, rounded up
        assert pay(reader, "50.00").policy["sca_exemption"] == "eu.sca.tra"  # type: ignore[index]

        platform.risk_labels.label(operator, stolen[1], True)  # EUR 0.60: past the reference rate for EUR 100
        assert platform.risk.fraud_rate_ppm("EUR", "test") == 1_997  # 1,996.008 (the history not folded again)
        with pytest.raises(PlatformError) as stepped:
            pay(reader, "50.00")
        assert stepped.value.code is ErrorCode.authentication_required
        assert "no transaction-risk exemption at this fraud rate" in stepped.value.detail

        mover = payer("Q")  # paid from home in Germany before; now a new device, paying from France
        assert pay(mover, "1.00").risk == {"score": 0, "outcome": "allow", "reasons": []}
        with pytest.raises(PlatformError) as abnormal:
            pay(mover, "50.00", ELSEWHERE, "FR")
        assert "the risk analysis found something abnormal" in abnormal.value.detail
    finally:
        platform.close()


def test_a_charge_under_an_allowance_is_scored_with_its_share_of_the_cap(world: World) -> None:
    """`allowance_use`: a merchant charging 0.30 under a 0.50-a-payment allowance uses 0.6 of it; an
    ordinary payment uses none."""
    p = world.platform
    operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
    shop, key_id, _ = p.parties.create(operator, "merchant", "Newsstand", "US")
    merchant = Principal(key_id, "merchant", shop, "test", frozenset({"payments:write"}))
    a = p.allowances.grant(world.payer, shop, *(positive_money(x, "USD") for x in ("0.50", "1.00", "5.00")), 86_400)
    charged = p.allowances.charge(merchant, a.id, "0.30", "issue 12", "c-1")
    assert charged.within
    feats = p.risk.features_of(payment_transfer_id(charged.payment.id))
    assert feats is not None and feats["allowance_use"] == pytest.approx(0.6)
    plain = world.pay("0.30", shop, HOME, "US")
    assert (p.risk.features_of(payment_transfer_id(plain.id)) or {})["allowance_use"] == 0.0
