"""People who sign in: payers, merchant staff and operators; passwords, sessions, lockout and resets.

Passwords are hashed with argon2id (argon2-cffi) at `ARGON2` (RFC 9106's second recommendation: 3
passes, 64 MiB, 4 lanes; about 110 ms here), rehashed at sign-in when the settings change. After
`FAILURES_FREE` wrong passwords the account locks for a minute, doubling with each further failure up
to an hour; a locked account refuses even the right password until then. A session is a random cookie
kept as SHA-256 with a CSRF token that every unsafe request made with the cookie must echo. A password
reset is a one-time token (SHA-256 at rest, 30 minutes) sent by the mailer; using it ends every
session. Emails are kept only sealed and as an HMAC for look-up, like other personal data.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from farthing.clock import Clock
from farthing.domain.principals import SCOPES, Principal, SessionRecord, SignInRecord, User, require
from farthing.errors import ErrorCode, PlatformError
from farthing.services.parties import Parties
from farthing.services.personal_data import PersonalData
from farthing.services.security_log import SecurityLog

ARGON2 = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4)
FAILURES_FREE = 5
LOCK_MS, LOCK_MS_MAX = 60_000, 3_600_000
SESSION_MS = 12 * 3_600_000
SESSION_COOKIE = "farthing_session"
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def session_cookie(token: str, scheme: str, host: str) -> dict[str, Any]:
    """The session cookie as a server sets it (the API's sign-in and the pages' alike): HttpOnly,
    SameSite=Lax, and Secure unless the page is plain HTTP on this machine (a browser would not send a
    Secure cookie back to http://127.0.0.1)."""
    secure = scheme == "https" or host not in _LOCAL_HOSTS
    return {"key": SESSION_COOKIE, "value": token, "max_age": SESSION_MS // 1000, "httponly": True, "secure": secure,
            "samesite": "lax", "path": "/"}  # fmt: skip


RESET_MS = 30 * 60_000
PASSWORD_LENGTH_MIN = 10
ROLES = {"payer": "customer", "merchant_staff": "merchant", "operator": "operator"}
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}$")


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    """The cookie's value: shown once, kept as SHA-256."""
    csrf_token: str
    user: User
    expires_ms: int


class UserRepository(Protocol):
    """Users, their sessions and password resets; SQL in `farthing.adapters.users_sql`. Tokens are kept
    only as their SHA-256 `digest`, emails only as an HMAC."""

    def email_taken(self, email_hmac: bytes) -> bool: ...

    def add(self, user: User, email_hmac: bytes, password_hash: str, created_ms: int) -> None: ...

    def by_email(self, email_hmac: bytes) -> SignInRecord | None: ...

    def set_failures(self, user_id: str, failures: int, locked_until_ms: int) -> None: ...

    def set_password(self, user_id: str, password_hash: str, end_sessions: bool) -> None:
        """A new hash, the lockout cleared; with `end_sessions`, every session ended in the same transaction."""
        ...

    def payer_of(self, party_id: str) -> User | None: ...

    def add_session(
        self, digest: bytes, user_id: str, csrf: str, created_ms: int, expires_ms: int, method: str,
        agent: bytes | None,
    ) -> None: ...  # fmt: skip

    def session(self, digest: bytes) -> SessionRecord | None: ...

    def end_session(self, digest: bytes) -> None: ...

    def add_reset(self, digest: bytes, user_id: str, expires_ms: int) -> None: ...

    def use_reset(self, digest: bytes, now_ms: int) -> str | None:
        """The user of a live, unused reset token, now marked used; None otherwise."""
        ...


def _agent(user_agent: str | None) -> bytes:
    return hashlib.sha256((user_agent or "").encode()).digest()


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class DirMailer:
    """Writes each message as a JSON file into a folder (`FARTHING_MAIL_DIR`): a development mail drop."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    def send(self, to: str, subject: str, body: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{secrets.token_hex(8)}.json"
        (self.folder / name).write_text(json.dumps({"to": to, "subject": subject, "body": body}))


class Users:
    def __init__(
        self, repo: UserRepository, clock: Clock, log: SecurityLog, parties: Parties, personal: PersonalData,
        mailer: DirMailer | None = None,
    ) -> None:  # fmt: skip
        self.repo = repo
        self.clock = clock
        self.log = log
        self.parties = parties
        self.personal = personal
        self.mailer = mailer or DirMailer(os.environ.get("FARTHING_MAIL_DIR", "farthing-mail"))

    @functools.cached_property
    def _lookup_key(self) -> bytes:
        """Read (and unwrapped) once: a rotation re-wraps it, its value never changes."""
        return self.personal.system_key("email-lookup")

    def _lookup(self, email: str) -> bytes:
        key = self._lookup_key
        return hmac.new(key, email.strip().lower().encode(), hashlib.sha256).digest()

    @staticmethod
    def _checked(email: str, password: str) -> None:
        if not _EMAIL.match(email or ""):
            raise PlatformError(ErrorCode.validation_failed, "that is not an email address")
        if not isinstance(password, str) or not PASSWORD_LENGTH_MIN <= len(password) <= 1024:
            raise PlatformError(ErrorCode.validation_failed, f"a password has {PASSWORD_LENGTH_MIN} to 1024 characters")

    # -- accounts --------------------------------------------------------------------------------

    def sign_up(self, email: str, password: str, name: str, mode: str = "test", country: str | None = None) -> User:
        """A payer signs up: a customer of its own (its name and email sealed; `country`, where it lives, is
        its billing country: evidence of where its purchases are taxed) and a user to sign in."""
        self._checked(email, password)
        if country is not None and not re.fullmatch(r"[A-Z]{2}", country):
            raise PlatformError(ErrorCode.validation_failed, f"a country is two capital letters (DE), not {country!r}")
        lookup = self._lookup(email)
        if self.repo.email_taken(lookup):
            raise PlatformError(ErrorCode.validation_failed, "an account with this email exists; sign in")
        operator = Principal("signup", "operator", None, mode, frozenset({"parties:write"}))
        customer, _, _ = self.parties.create(operator, "customer", name, country, personal={"email": email})
        return self._user("payer", customer, mode, email, password, lookup)

    def add(self, principal: Principal, role: str, email: str, password: str, party_id: str | None) -> User:
        """The operator adds merchant staff (for a merchant) or another operator."""
        if principal.kind != "operator":
            raise PlatformError(ErrorCode.forbidden, "only an operator adds users")
        if role not in ("merchant_staff", "operator"):
            raise PlatformError(ErrorCode.validation_failed, "role is merchant_staff or operator")
        self._checked(email, password)
        if role == "merchant_staff":
            self.parties.check(party_id or "", "merchant", principal.mode)
        lookup = self._lookup(email)
        if self.repo.email_taken(lookup):
            raise PlatformError(ErrorCode.validation_failed, "an account with this email exists")
        return self._user(role, party_id if role == "merchant_staff" else None, principal.mode, email, password, lookup)

    def _user(self, role: str, party: str | None, mode: str, email: str, password: str, lookup: bytes) -> User:
        user = User("usr_" + secrets.token_hex(12), role, party, mode)
        self.personal.seal_profile(user.id, {"email": email})
        self.repo.add(user, lookup, ARGON2.hash(password), self.clock())
        self.log.record("user.created", party, None, user=user.id, role=role)
        return user

    # -- sessions --------------------------------------------------------------------------------

    def sign_in(self, email: str, password: str, ip: str | None = None, user_agent: str | None = None) -> Session:
        if not isinstance(email, str) or not isinstance(password, str) or len(password) > 1024:
            raise PlatformError(ErrorCode.validation_failed, "email and password, please")
        found = self.repo.by_email(self._lookup(email))
        now = self.clock()
        if found is None:
            ARGON2.hash(password)  # as slow as a real check: no telling which emails exist
            self.log.record("signin.failed", None, None, {"ip": ip}, reason="unknown")
            raise PlatformError(ErrorCode.authentication_failed, "wrong email or password")
        user, party, stored, locked_until = found.user, found.user.party_id, found.password_hash, found.locked_until_ms
        seen = {"ip": ip, "user_agent": user_agent}
        if now < locked_until:
            self.log.record("signin.locked", party, None, seen, user=user.id)
            seconds = -(-(locked_until - now) // 1000)
            raise PlatformError(ErrorCode.account_locked, f"too many wrong passwords; try again in {seconds} s")
        try:
            ARGON2.verify(stored, password)
        except (VerificationError, InvalidHashError):
            failures = found.failures + 1
            lock = 0 if failures < FAILURES_FREE else now + min(LOCK_MS * 2 ** (failures - FAILURES_FREE), LOCK_MS_MAX)
            self.repo.set_failures(user.id, failures, lock)
            self.log.record("signin.failed", party, None, seen, user=user.id, failures=failures)
            raise PlatformError(ErrorCode.authentication_failed, "wrong email or password") from None
        if ARGON2.check_needs_rehash(stored):
            self.repo.set_password(user.id, ARGON2.hash(password), end_sessions=False)
        elif found.failures or locked_until:
            self.repo.set_failures(user.id, 0, 0)
        self.log.record("signin.succeeded", party, None, seen, user=user.id, method="password")
        return self.open_session(user)

    def open_session(self, user: User, method: str = "password", user_agent: str | None = None) -> Session:
        """A new session; one signed in with a passkey is bound to the user agent that signed in."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        now = self.clock()
        agent = _agent(user_agent) if method == "passkey" else None
        self.repo.add_session(_digest(token), user.id, csrf, now, now + SESSION_MS, method, agent)
        return Session(token, csrf, user, now + SESSION_MS)

    def session_for_party(self, party: str, user_agent: str | None = None) -> Session:
        """A session for the payer who owns `party` (after a passkey proved it), bound to `user_agent`."""
        user = self.repo.payer_of(party)
        if user is None:
            raise PlatformError(ErrorCode.authentication_failed, "this passkey belongs to no one who signs in")
        self.log.record("signin.succeeded", party, None, user=user.id, method="passkey")
        return self.open_session(user, "passkey", user_agent)

    def session(self, token: str, user_agent: str | None) -> tuple[User, str] | None:
        """The session's user and CSRF token, if the cookie names a live session used from the user agent
        it is bound to. A bound cookie shown by another user agent (copied out of the browser) ends the
        session, logged: the person signs in again with the passkey."""
        digest = _digest(token)
        found = self.repo.session(digest)
        if found is None or found.expires_ms <= self.clock():
            return None
        if found.agent_sha256 is not None and not hmac.compare_digest(found.agent_sha256, _agent(user_agent)):
            self.repo.end_session(digest)
            self.log.record("session.agent_changed", found.user.party_id, None, user=found.user.id)
            return None
        return found.user, found.csrf

    def sign_out(self, token: str) -> None:
        self.repo.end_session(_digest(token))

    def principal(self, user: User, session_token: str) -> Principal:
        """What a signed-in person may do: what the API key of their party may."""
        kind = ROLES[user.role]
        key_id = "session:" + _digest(session_token).hex()[:12]
        return Principal(key_id, kind, user.party_id, user.mode, frozenset(SCOPES[kind].split()))

    def party_with_email(self, principal: Principal, email: str) -> str | None:
        """The party whose user signs in with this email (the operator's search; emails are sealed, found by
        their keyed hash only)."""
        require(principal, "operator", "read")
        found = self.repo.by_email(self._lookup(email)) if "@" in email else None
        return found.user.party_id if found is not None else None

    # -- password resets -------------------------------------------------------------------------

    def request_reset(self, email: str) -> None:
        """Mail a one-time token if the account exists (the answer is the same either way)."""
        found = self.repo.by_email(self._lookup(email or ""))
        if found is None:
            return
        token = secrets.token_urlsafe(32)
        self.repo.add_reset(_digest(token), found.user.id, self.clock() + RESET_MS)
        self.mailer.send(email, "Reset your Farthing password", f"Your one-time reset token: {token}")
        self.log.record("password.reset_requested", None, None, user=found.user.id)

    def reset(self, token: str, new_password: str) -> None:
        if not isinstance(new_password, str) or not PASSWORD_LENGTH_MIN <= len(new_password) <= 1024:
            raise PlatformError(ErrorCode.validation_failed, f"a password has {PASSWORD_LENGTH_MIN} to 1024 characters")
        user_id = self.repo.use_reset(_digest(token or ""), self.clock())
        if user_id is None:
            raise PlatformError(ErrorCode.authentication_failed, "this reset token is unknown, used or expired")
        hashed = ARGON2.hash(new_password)  # ~150 ms: not while holding the database's write lock
        self.repo.set_password(user_id, hashed, end_sessions=True)
        self.log.record("password.reset", None, None, user=user_id)
