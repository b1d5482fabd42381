"""Step-up in-process: an unanswered challenge releases its hold; wrong answers lock it and void it;
a TOTP code is accepted once even when two answers race; the epoch restarts the SCA counters."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

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
from farthing.services.factors import Factors
from farthing.services.payments.model import PaymentItem
from farthing.services.stepup import ATTEMPTS_MAX, StepUps

EUR = currency("EUR")


@dataclass
class World:
    platform: Platform
    step_ups: StepUps
    factors: Factors
    payer: Principal
    merchant: str
    totp: pyotp.TOTP
    clock: ManualClock

    def code(self, offset_s: int = 0) -> str:
        """The payer's TOTP code on the platform's clock (never the machine's)."""
        return self.totp.at(self.clock() // 1000 + offset_s)

    def available(self) -> int:
        wallet = self.platform.accounts.wallet_account(self.payer.party_id or "", "customer", EUR)
        [state] = self.platform.ledger.accounts([wallet])
        dp, dpo, _, cpo = state.balances()
        return cpo - dpo - dp

    def pay(self, amount: str) -> str:
        item = PaymentItem.of(self.merchant, amount, "EUR", evidence=Evidence(ip="DE"))
        paid = self.platform.payments.pay(self.payer, item, None)
        assert paid.status == "requires_authentication", paid
        return paid.id


@pytest.fixture
def world(store_url: str) -> Iterator[World]:
    clock = ManualClock(MID_MONTH_MS)
    platform = open_platform(store_url, ["eu-de"], clock=clock)
    factors = platform.identity.factors
    step_ups = platform.step_ups
    operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
    merchant, _, _ = platform.parties.create(operator, "merchant", "Shop", "DE")
    cid, key_id, _ = platform.parties.create(operator, "customer", "Buyer", "DE")
    payer = Principal(key_id, "customer", cid, "test", frozenset({"payments:write", "topups:write", "read"}))
    platform.topups.top_up(payer, positive_money("500.00", "EUR"), "4242424242424242")
    enrolment = factors.enrol_totp(payer)
    totp = pyotp.TOTP(enrolment.secret)
    factors.confirm_totp(payer, enrolment.factor_id, totp.at(clock() // 1000 - 30))
    try:
        yield World(platform, step_ups, factors, payer, merchant, totp, clock)
    finally:
        platform.close()


@pytest.mark.any_date
def test_an_unanswered_challenge_expires_and_the_hold_comes_back(world: World) -> None:
    w = world
    w.step_ups.challenge_s = 1
    start = w.available()
    payment = w.pay("40.00")
    assert w.available() == start - 40_000_000
    w.clock.advance(2_500)
    time.sleep(1.5)  # the ledger's idle tick (every second) releases the hold on its own
    with pytest.raises(PlatformError) as late:
        w.step_ups.authenticate(w.payer, payment, code=w.code())
    assert late.value.code is ErrorCode.challenge_expired
    assert w.available() == start


def test_wrong_answers_lock_the_challenge_and_void_the_hold(world: World) -> None:
    w = world
    start = w.available()
    payment = w.pay("40.00")
    valid = {w.code(d) for d in (-30, 0, 30, 60)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)
    for i in range(ATTEMPTS_MAX):
        with pytest.raises(PlatformError) as refused:
            w.step_ups.authenticate(w.payer, payment, code=wrong)
        expected = ErrorCode.challenge_locked if i == ATTEMPTS_MAX - 1 else ErrorCode.authentication_failed
        assert refused.value.code is expected
    assert w.available() == start  # voided at once
    with pytest.raises(PlatformError) as locked:  # even the right code is too late now
        w.step_ups.authenticate(w.payer, payment, code=w.code())
    assert locked.value.code is ErrorCode.challenge_locked


@pytest.mark.any_date
def test_the_payment_answered_after_a_step_up_carries_its_policy_decision(world: World) -> None:
    w = world
    payment = w.pay("40.00")
    done = w.step_ups.authenticate(w.payer, payment, code=w.code())
    assert done.status == "succeeded" and done.policy is not None, done
    assert len(str(done.policy["version"])) == 64 and done.policy["sca_exemption"] is None  # strongly authenticated
    assert done.policy["tax"] == {"place": "DE", "kind": "vat", "amount": "6.386555", "inclusive": True}
    assert isinstance(done.policy["decided_ms"], int) and str(done.policy["month"]) in str(done.policy["day"])
    again = w.step_ups.authenticate(w.payer, payment, code=w.code())  # a retry answers the same decision
    assert again.replayed and again.policy == done.policy


def test_one_code_answers_once_even_when_two_answers_race(world: World) -> None:
    w = world
    first, second = w.pay("40.00"), w.pay("41.00")
    code = w.code()

    def answer(payment: str) -> str:
        try:
            return w.step_ups.authenticate(w.payer, payment, code=code).status
        except PlatformError as exc:
            return exc.code.value

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(answer, [first, second]))
    assert outcomes == ["authentication_failed", "succeeded"]


def test_a_capture_after_strong_authentication_neither_reads_nor_opens_sca_counters(tmp_path: object) -> None:
    """Strongly authenticated, a payment's SCA counters start again: its capture decides without them
    (no counter account of the new epoch is opened for it), and the payer's next payment counts from zero."""
    from farthing.engine.ids import derive_id
    from farthing.services.payment_policy import Profile

    platform = open_platform(f"sqlite:///{tmp_path}/ledger.db", ["eu-de"])
    try:
        pp, cur = platform.policy, currency("EUR")
        policy = pp.policies["EUR"]
        pp.strongly_authenticated("cus_x", 1_764_000_000_000)
        epoch = pp._epoch_name("cus_x", 1_764_000_000_000)
        sca_ids = [derive_id(name, "cus_x", "EUR", epoch) for name in ("sca-amount", "sca-count")]
        gate = pp.gate(policy, "cus_x", "mer_y", Profile("DE"), Evidence("DE", "DE"), cur, 50, 1_764_000_000_000,
                       payment_id=1, stage="capture")  # fmt: skip
        assert gate.decision.outcome == "allow" and gate.decision.sca_exemption is None
        assert not [t for t in gate.legs if t.credit_account_id in sca_ids]
        assert not set(sca_ids) & {a.id for a in platform.ledger.accounts(sca_ids)}
        after = pp.gate(policy, "cus_x", "mer_y", Profile("DE"), Evidence("DE", "DE"), cur, 50, 1_764_000_000_000,
                        payment_id=2)  # fmt: skip
        assert after.decision.sca_exemption is not None and after.decision.counters_after is not None
        assert after.decision.counters_after.since_sca_count == 1  # the next payment counts from zero
        pp.settled(gate)
        pp.settled(after)
    finally:
        platform.close()


def test_another_process_that_authenticated_the_payer_moves_the_epoch_here_at_once(tmp_path: object) -> None:
    """Two server processes on one ledger: one strongly authenticates the payer; the other's next decision
    counts into the new epoch at once, not into the old one it read a moment before (the payer's exempt
    payments split over two counters would pass the exemption's limit of five)."""
    url = f"sqlite:///{tmp_path}/ledger.db"
    here, there = open_platform(url, ["eu-de"]), open_platform(url, ["eu-de"])
    try:
        for platform in (here, there):
            platform.ledger.shared = True  # as `farthing serve --workers` says
        now = 1_764_000_000_000
        before = here.policy._epoch_name("cus_x", now)
        there.policy.strongly_authenticated("cus_x", now + 1)
        assert here.policy._epoch_name("cus_x", now + 2) != before
        assert here.policy._epoch_name("cus_x", now + 2) == there.policy._epoch_name("cus_x", now + 2)
    finally:
        here.close()
        there.close()
