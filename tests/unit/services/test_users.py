"""People who sign in, on fake repositories: sign-up, lockout that doubles, sessions that expire and
end, a reset token that works once and ends every session, emails kept only as an HMAC."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from fakes import FakeKeys, FakeParties, FakePersonal, FakeSecurityEvents
from fakes_people import FakeUsers

from farthing.adapters.key_vault import KeyVault
from farthing.clock import ManualClock
from farthing.errors import ErrorCode, PlatformError
from farthing.services.keys import Keys
from farthing.services.parties import Parties
from farthing.services.personal_data import PersonalData
from farthing.services.security_log import SecurityLog
from farthing.services.users import FAILURES_FREE, LOCK_MS, SESSION_MS, DirMailer, Users

EMAIL, PASSWORD = "ada@example.test", "correct horse battery"


def _users(tmp_path: Path) -> tuple[Users, FakeUsers, FakeSecurityEvents, ManualClock]:
    clock, repo, events = ManualClock(1_800_000_000_000), FakeUsers(), FakeSecurityEvents()
    personal = PersonalData(FakePersonal(), KeyVault.parse("k1:" + base64.b64encode(b"1" * 32).decode()), clock)
    log = SecurityLog(events, clock, personal.seal_event)
    parties = Parties(FakeParties(), clock, Keys(FakeKeys(), clock, log), personal)
    return Users(repo, clock, log, parties, personal, DirMailer(str(tmp_path))), repo, events, clock


def test_a_payer_signs_up_once_per_email_and_the_email_is_kept_only_as_an_hmac(tmp_path: Path) -> None:
    users, repo, _, _ = _users(tmp_path)
    user = users.sign_up(EMAIL, PASSWORD, "Ada")
    assert user.role == "payer" and user.party_id is not None and user.party_id.startswith("cus_")
    assert all(EMAIL.encode() not in h for h in repo.emails)
    with pytest.raises(PlatformError) as again:
        users.sign_up(" ADA@example.test", PASSWORD, "Ada again")
    assert again.value.code is ErrorCode.validation_failed
    for email, password in (("not-an-email", PASSWORD), (EMAIL + "x", "short")):
        with pytest.raises(PlatformError) as bad:
            users.sign_up(email, password, "X")
        assert bad.value.code is ErrorCode.validation_failed


def test_wrong_passwords_lock_the_account_for_a_time_that_doubles(tmp_path: Path) -> None:
    users, _, events, clock = _users(tmp_path)
    users.sign_up(EMAIL, PASSWORD, "Ada")
    for _ in range(FAILURES_FREE):
        with pytest.raises(PlatformError) as wrong:
            users.sign_in(EMAIL, "wrong password!")
        assert wrong.value.code is ErrorCode.authentication_failed
    with pytest.raises(PlatformError) as locked:
        users.sign_in(EMAIL, PASSWORD)  # the right one, while locked
    assert locked.value.code is ErrorCode.account_locked and "60 s" in locked.value.detail
    clock.advance(LOCK_MS)
    with pytest.raises(PlatformError):
        users.sign_in(EMAIL, "wrong password!")
    with pytest.raises(PlatformError) as longer:
        users.sign_in(EMAIL, PASSWORD)
    assert "120 s" in longer.value.detail
    clock.advance(2 * LOCK_MS)
    assert users.sign_in(EMAIL, PASSWORD).user.role == "payer"
    with pytest.raises(PlatformError) as fresh:  # the count started again
        users.sign_in(EMAIL, "wrong password!")
    assert fresh.value.code is ErrorCode.authentication_failed
    assert events.kinds().count("signin.locked") == 2


def test_an_unknown_email_fails_as_a_wrong_password_does(tmp_path: Path) -> None:
    users, _, events, _ = _users(tmp_path)
    with pytest.raises(PlatformError) as unknown:
        users.sign_in("nobody@example.test", PASSWORD)
    assert unknown.value.code is ErrorCode.authentication_failed and unknown.value.detail == "wrong email or password"
    assert events.kinds() == ["signin.failed"]


def test_a_session_lives_its_time_and_ends_at_sign_out(tmp_path: Path) -> None:
    users, _, _, clock = _users(tmp_path)
    users.sign_up(EMAIL, PASSWORD, "Ada")
    session = users.sign_in(EMAIL, PASSWORD, "203.0.113.7", "Mozilla/5.0")
    assert users.session(session.token, None) == (session.user, session.csrf_token)
    assert users.session(session.token + "x", None) is None
    principal = users.principal(session.user, session.token)
    assert principal.kind == "customer" and "payments:write" in principal.scopes
    clock.advance(SESSION_MS)
    assert users.session(session.token, None) is None
    other = users.sign_in(EMAIL, PASSWORD)
    users.sign_out(other.token)
    assert users.session(other.token, None) is None


def test_a_reset_token_works_once_within_its_time_and_ends_every_session(tmp_path: Path) -> None:
    users, _, _, clock = _users(tmp_path)
    users.sign_up(EMAIL, PASSWORD, "Ada")
    session = users.sign_in(EMAIL, PASSWORD)
    users.request_reset("nobody@example.test")  # no mail, no telling
    users.request_reset(EMAIL)
    [mail] = [json.loads(p.read_text()) for p in tmp_path.iterdir()]
    token = mail["body"].rsplit(" ", 1)[1]
    users.reset(token, "a new long password")
    assert users.session(session.token, None) is None
    with pytest.raises(PlatformError) as twice:
        users.reset(token, "another long password")
    assert twice.value.code is ErrorCode.authentication_failed
    with pytest.raises(PlatformError):
        users.sign_in(EMAIL, PASSWORD)
    assert users.sign_in(EMAIL, "a new long password").user.role == "payer"
    users.request_reset(EMAIL)
    late = max(tmp_path.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    clock.advance(31 * 60_000)
    with pytest.raises(PlatformError):
        users.reset(json.loads(late.read_text())["body"].rsplit(" ", 1)[1], "too late password")


def test_a_passkey_opens_a_session_only_for_a_payer(tmp_path: Path) -> None:
    users, _, _, _ = _users(tmp_path)
    user = users.sign_up(EMAIL, PASSWORD, "Ada")
    assert users.session_for_party(user.party_id or "", "Chromium/1").user == user
    with pytest.raises(PlatformError) as nobody:
        users.session_for_party("cus_nobody")
    assert nobody.value.code is ErrorCode.authentication_failed


def test_a_passkey_session_works_from_the_user_agent_that_signed_in_and_ends_when_another_shows_it(
    tmp_path: Path,
) -> None:
    users, _, events, _ = _users(tmp_path)
    user = users.sign_up(EMAIL, PASSWORD, "Ada")
    session = users.session_for_party(user.party_id or "", "Chromium/1 (X11)")
    assert users.session(session.token, "Chromium/1 (X11)") == (user, session.csrf_token)
    assert users.session(session.token, "curl/8.5") is None  # the cookie copied elsewhere
    assert events.kinds()[-1] == "session.agent_changed"
    assert users.session(session.token, "Chromium/1 (X11)") is None  # and the session is over
    by_password = users.sign_in(EMAIL, PASSWORD, None, "Chromium/1 (X11)")
    assert users.session(by_password.token, "curl/8.5") == (user, by_password.csrf_token)  # not bound
