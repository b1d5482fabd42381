"""Step-up on fakes: a payment the policy steps up waits as a hold with a challenge; the payer's TOTP code
captures it, wrong answers count down and then cancel it, a late answer finds the hold released."""

from __future__ import annotations

import pyotp
import pytest
from fakes import World

from farthing.clock import ManualClock
from farthing.domain.money import currency
from farthing.domain.policy.evaluate import Evidence
from farthing.domain.principals import Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.payments.model import PaymentItem
from farthing.services.policies import load
from farthing.services.stepup import ATTEMPTS_MAX, CHALLENGE_S

EUR = currency("EUR")


def _waiting() -> tuple[World, Principal, pyotp.TOTP, str]:
    w = World(ManualClock(1_800_000_000_000), {"EUR": load("eu-de")})
    payer, merchant = w.customer("100.00", "EUR"), w.merchant()
    assert isinstance(payer, Principal)
    enrolled = w.factors.enrol_totp(payer, qr=False)
    totp = pyotp.TOTP(enrolled.secret)
    w.factors.confirm_totp(payer, enrolled.factor_id, totp.at(w.clock() // 1000))
    w.clock.advance(30_000)
    item = PaymentItem.of(merchant, "40.00", "EUR", evidence=Evidence(ip="DE", billing="DE"))  # over €30: SCA
    paid = w.payments.pay(payer, item, None)
    assert paid.status == "requires_authentication" and paid.authentication is not None
    assert paid.authentication["methods"] == ["totp", "recovery_code"]
    return w, payer, totp, paid.id


def test_the_payers_code_captures_the_payment_that_waited() -> None:
    w, payer, totp, payment = _waiting()
    done = w.step_ups.authenticate(payer, payment, code=totp.at(w.clock() // 1000))
    assert done.status == "succeeded" and done.amount == EUR.parse("40.00") and done.fee
    again = w.step_ups.authenticate(payer, payment, code="000000")
    assert again.replayed and again.status == "succeeded"
    assert "step_up.succeeded" in w.events.kinds()


def test_wrong_answers_count_down_then_cancel_the_payment() -> None:
    w, payer, totp, payment = _waiting()
    right = totp.at(w.clock() // 1000)
    wrong = "000000" if right != "000000" else "111111"
    for left in range(ATTEMPTS_MAX - 1, 0, -1):
        with pytest.raises(PlatformError) as no:
            w.step_ups.authenticate(payer, payment, code=wrong)
        assert no.value.code is ErrorCode.authentication_failed and f"{left} attempts left" in no.value.detail
    with pytest.raises(PlatformError) as locked:
        w.step_ups.authenticate(payer, payment, code=wrong)
    assert locked.value.code is ErrorCode.challenge_locked
    assert w.holds.get(payer, payment).status == "canceled"


def test_an_answer_after_the_challenge_expired_is_refused() -> None:
    w, payer, totp, payment = _waiting()
    w.clock.advance(CHALLENGE_S * 1000)
    with pytest.raises(PlatformError) as late:
        w.step_ups.authenticate(payer, payment, code=totp.at(w.clock() // 1000))
    assert late.value.code is ErrorCode.challenge_expired
