"""Passkeys on a fake repository, with a software authenticator answering the real WebAuthn options:
registered once, a ceremony used once and only in its time, user verification required, a cloned
authenticator (its sign count going back) flagged and no longer offered."""

from __future__ import annotations

import pytest
from fakes import FakeSecurityEvents
from fakes_people import FakePasskeys

from farthing.clock import ManualClock
from farthing.domain.principals import Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.passkeys import CEREMONY_S, Passkeys, RelyingParty
from farthing.services.security_log import SecurityLog
from softauthn import SoftAuthenticator

ORIGIN = "https://pay.example.test"
PAYER = Principal("key_c", "customer", "cus_1", "test", frozenset({"payments:write"}))


def _passkeys() -> tuple[Passkeys, FakePasskeys, FakeSecurityEvents, ManualClock]:
    clock, repo, events = ManualClock(1_800_000_000_000), FakePasskeys(), FakeSecurityEvents()
    log = SecurityLog(events, clock, lambda subject, personal: b"sealed")
    return Passkeys(repo, clock, log, RelyingParty("pay.example.test", ORIGIN)), repo, events, clock


def _register(passkeys: Passkeys, device: SoftAuthenticator) -> str:
    ceremony, options = passkeys.registration_options(PAYER)
    return passkeys.register(PAYER, ceremony, device.create(options))


def test_a_registered_passkey_signs_in_and_signs_challenges() -> None:
    passkeys, repo, _, _ = _passkeys()
    device = SoftAuthenticator(ORIGIN)
    factor = _register(passkeys, device)
    ceremony, options = passkeys.signin_options()
    [credential] = device.credentials.values()
    assert passkeys.sign_in(ceremony, device.get(options, credential=credential)) == "cus_1"
    options = passkeys.request_options("cus_1", b"c" * 32)
    assert passkeys.verify("cus_1", b"c" * 32, device.get(options)) == factor
    assert repo.find("cus_1", credential.id).sign_count == 2  # type: ignore[union-attr]
    assert passkeys.verify("cus_2", b"c" * 32, device.get(options)) is None  # another party's


def test_a_ceremony_is_used_once_and_only_in_its_time() -> None:
    passkeys, _, _, clock = _passkeys()
    device = SoftAuthenticator(ORIGIN)
    ceremony, options = passkeys.registration_options(PAYER)
    answer = device.create(options)
    passkeys.register(PAYER, ceremony, answer)
    with pytest.raises(PlatformError) as again:
        passkeys.register(PAYER, ceremony, answer)
    assert again.value.code is ErrorCode.not_found
    ceremony, options = passkeys.registration_options(PAYER)
    clock.advance(CEREMONY_S * 1000)
    with pytest.raises(PlatformError) as late:
        passkeys.register(PAYER, ceremony, device.create(options))
    assert late.value.code is ErrorCode.challenge_expired


def test_no_user_verification_no_passkey() -> None:
    passkeys, _, events, _ = _passkeys()
    with pytest.raises(PlatformError) as unverified:
        _register(passkeys, SoftAuthenticator(ORIGIN, user_verified=False))
    assert unverified.value.code is ErrorCode.authentication_failed
    assert events.kinds() == ["passkey.registration_failed"]


def test_a_cloned_authenticator_is_flagged_and_no_longer_offered() -> None:
    passkeys, _, events, _ = _passkeys()
    device = SoftAuthenticator(ORIGIN)
    _register(passkeys, device)
    [credential] = device.credentials.values()
    thief = device.clone(credential.id)
    options = passkeys.request_options("cus_1", b"a" * 32)
    assert passkeys.verify("cus_1", b"a" * 32, device.get(options)) is not None
    assert passkeys.verify("cus_1", b"a" * 32, device.get(options)) is not None
    assert passkeys.verify("cus_1", b"a" * 32, thief.get(options)) is None  # its count went back
    assert "passkey.flagged" in events.kinds()
    assert passkeys.request_options("cus_1", b"b" * 32).get("allowCredentials") == []
    assert passkeys.verify("cus_1", b"b" * 32, device.get(options)) is None


def test_passkeys_are_a_customers() -> None:
    passkeys, _, _, _ = _passkeys()
    with pytest.raises(PlatformError) as merchant:
        passkeys.registration_options(Principal("k", "merchant", "mer_1", "test", frozenset()))
    assert merchant.value.code is ErrorCode.forbidden
