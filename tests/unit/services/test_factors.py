"""TOTP factors on a fake repository: confirmed by a first code, each step's code used once, one step
of drift either side, recovery codes that work once."""

from __future__ import annotations

import pyotp
import pytest
from fakes import FakeFactors, FakeSecurityEvents

from farthing.clock import ManualClock
from farthing.domain.principals import Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.factors import RECOVERY_CODES, TOTP_STEP_S, Factors
from farthing.services.security_log import SecurityLog

PAYER = Principal("key_c", "customer", "cus_1", "test", frozenset({"payments:write"}))


def _factors() -> tuple[Factors, FakeFactors, FakeSecurityEvents, ManualClock]:
    clock, repo, events = ManualClock(1_800_000_000_000), FakeFactors(), FakeSecurityEvents()
    return Factors(repo, clock, SecurityLog(events, clock, lambda s, p: None)), repo, events, clock


def _code(totp: pyotp.TOTP, clock: ManualClock, steps: int = 0) -> str:
    return totp.at(clock() // 1000 + steps * TOTP_STEP_S)


def test_a_factor_counts_once_confirmed_and_answers_its_recovery_codes() -> None:
    factors, _, events, clock = _factors()
    enrolled = factors.enrol_totp(PAYER, qr=False)
    totp = pyotp.TOTP(enrolled.secret)
    assert not factors.has_factor("cus_1")
    with pytest.raises(PlatformError) as wrong:
        factors.confirm_totp(PAYER, enrolled.factor_id, "000000" if _code(totp, clock) != "000000" else "111111")
    assert wrong.value.code is ErrorCode.authentication_failed
    codes = factors.confirm_totp(PAYER, enrolled.factor_id, _code(totp, clock))
    assert len(set(codes)) == RECOVERY_CODES and factors.has_factor("cus_1")
    with pytest.raises(PlatformError) as again:
        factors.confirm_totp(PAYER, enrolled.factor_id, _code(totp, clock, 1))
    assert again.value.code is ErrorCode.factor_already_confirmed
    assert events.kinds() == ["factor.enrolled", "factor.confirm_failed", "factor.confirmed"]


def test_a_code_works_once_within_a_step_of_drift() -> None:
    factors, _, _, clock = _factors()
    enrolled = factors.enrol_totp(PAYER, qr=False)
    totp = pyotp.TOTP(enrolled.secret)
    factors.confirm_totp(PAYER, enrolled.factor_id, _code(totp, clock))
    clock.advance(TOTP_STEP_S * 1000)
    assert factors.verify("cus_1", _code(totp, clock)) == enrolled.factor_id
    assert factors.verify("cus_1", _code(totp, clock)) is None  # replayed
    clock.advance(TOTP_STEP_S * 1000)
    assert factors.verify("cus_1", _code(totp, clock, 1)) == enrolled.factor_id  # the phone runs a step ahead
    clock.advance(4 * TOTP_STEP_S * 1000)
    assert factors.verify("cus_1", _code(totp, clock, -2)) is None  # too old
    with pytest.raises(PlatformError) as shape:
        factors.verify("cus_1", "12345")
    assert shape.value.code is ErrorCode.validation_failed


def test_a_recovery_code_works_once_and_only_for_its_party() -> None:
    factors, _, _, clock = _factors()
    enrolled = factors.enrol_totp(PAYER, qr=False)
    [first, *_] = factors.confirm_totp(PAYER, enrolled.factor_id, _code(pyotp.TOTP(enrolled.secret), clock))
    assert factors.verify("cus_2", recovery_code=first) is None
    assert factors.verify("cus_1", recovery_code=first.lower()) == "recovery_code"
    assert factors.verify("cus_1", recovery_code=first) is None


def test_factors_are_a_customers() -> None:
    factors, _, _, _ = _factors()
    with pytest.raises(PlatformError) as merchant:
        factors.enrol_totp(Principal("k", "merchant", "mer_1", "test", frozenset()))
    assert merchant.value.code is ErrorCode.forbidden
