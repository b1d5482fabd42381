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

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from farthing.adapters.platform_db import PlatformDb
from farthing.clock import Clock
from farthing.domain.principals import SCOPES, Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.parties import Parties
from farthing.services.personal_data import PersonalData
from farthing.services.security_log import SecurityLog

ARGON2 = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4)
FAILURES_FREE = 5
LOCK_MS, LOCK_MS_MAX = 60_000, 3_600_000
SESSION_MS = 12 * 3_600_000
RESET_MS = 30 * 60_000
PASSWORD_LENGTH_MIN = 10
ROLES = {"payer": "customer", "merchant_staff": "merchant", "operator": "operator"}
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}$")


@dataclass(frozen=True, slots=True)
class User:
    id: str
    role: str
    party_id: str | None
    mode: str


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    """The cookie's value: shown once, kept as SHA-256."""
    csrf_token: str
    user: User
    expires_ms: int


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
        self, db: PlatformDb, clock: Clock, log: SecurityLog, parties: Parties, personal: PersonalData,
        mailer: DirMailer | None = None,
    ) -> None:  # fmt: skip
        self.db = db
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

    def sign_up(self, email: str, password: str, name: str, mode: str = "test") -> User:
        """A payer signs up: a customer of its own (its name and email sealed) and a user to sign in."""
        self._checked(email, password)
        lookup = self._lookup(email)
        if self.db.query("SELECT 1 FROM users WHERE email_hmac = ?", (lookup,)):
            raise PlatformError(ErrorCode.validation_failed, "an account with this email exists; sign in")
        operator = Principal("signup", "operator", None, mode, frozenset({"parties:write"}))
        customer, _, _ = self.parties.create(operator, "customer", name, personal={"email": email})
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
        if self.db.query("SELECT 1 FROM users WHERE email_hmac = ?", (lookup,)):
            raise PlatformError(ErrorCode.validation_failed, "an account with this email exists")
        return self._user(role, party_id if role == "merchant_staff" else None, principal.mode, email, password, lookup)

    def _user(self, role: str, party: str | None, mode: str, email: str, password: str, lookup: bytes) -> User:
        user = User("usr_" + secrets.token_hex(12), role, party, mode)
        self.personal.seal_profile(user.id, {"email": email})
        self.db.query(
            "INSERT INTO users (id, role, party_id, mode, email_hmac, password_hash, created_ms) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (user.id, role, party, mode, lookup, ARGON2.hash(password), self.clock()),
        )
        self.log.record("user.created", party, None, user=user.id, role=role)
        return user

    # -- sessions --------------------------------------------------------------------------------

    def sign_in(self, email: str, password: str, ip: str | None = None, user_agent: str | None = None) -> Session:
        if not isinstance(email, str) or not isinstance(password, str) or len(password) > 1024:
            raise PlatformError(ErrorCode.validation_failed, "email and password, please")
        rows = self.db.query(
            "SELECT id, role, party_id, mode, password_hash, failures, locked_until_ms FROM users WHERE email_hmac = ?",
            (self._lookup(email),),
        )
        now = self.clock()
        if not rows:
            ARGON2.hash(password)  # as slow as a real check: no telling which emails exist
            self.log.record("signin.failed", None, None, {"ip": ip}, reason="unknown")
            raise PlatformError(ErrorCode.authentication_failed, "wrong email or password")
        user_id, role, party, mode, stored, failures, locked_until = rows[0]
        seen = {"ip": ip, "user_agent": user_agent}
        user = User(str(user_id), str(role), party, str(mode))
        if now < int(locked_until):
            self.log.record("signin.locked", party, None, seen, user=user.id)
            seconds = -(-(int(locked_until) - now) // 1000)
            raise PlatformError(ErrorCode.account_locked, f"too many wrong passwords; try again in {seconds} s")
        try:
            ARGON2.verify(str(stored), password)
        except (VerificationError, InvalidHashError):
            failures = int(failures) + 1
            lock = 0 if failures < FAILURES_FREE else now + min(LOCK_MS * 2 ** (failures - FAILURES_FREE), LOCK_MS_MAX)
            self.db.query("UPDATE users SET failures = ?, locked_until_ms = ? WHERE id = ?", (failures, lock, user.id))
            self.log.record("signin.failed", party, None, seen, user=user.id, failures=failures)
            raise PlatformError(ErrorCode.authentication_failed, "wrong email or password") from None
        if ARGON2.check_needs_rehash(str(stored)):
            self.db.query("UPDATE users SET password_hash = ? WHERE id = ?", (ARGON2.hash(password), user.id))
        self.db.query("UPDATE users SET failures = 0, locked_until_ms = 0 WHERE id = ?", (user.id,))
        self.log.record("signin.succeeded", party, None, seen, user=user.id, method="password")
        return self.open_session(user)

    def open_session(self, user: User) -> Session:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        now = self.clock()
        self.db.query(
            "INSERT INTO sessions (id_sha256, user_id, csrf_token, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?)",
            (hashlib.sha256(token.encode()).digest(), user.id, csrf, now, now + SESSION_MS),
        )
        return Session(token, csrf, user, now + SESSION_MS)

    def session_for_party(self, party: str) -> Session:
        """A session for the payer who owns `party` (after a passkey proved it)."""
        rows = self.db.query(
            "SELECT id, role, party_id, mode FROM users WHERE party_id = ? AND role = 'payer'", (party,)
        )
        if not rows:
            raise PlatformError(ErrorCode.authentication_failed, "this passkey belongs to no one who signs in")
        user = User(str(rows[0][0]), str(rows[0][1]), rows[0][2], str(rows[0][3]))
        self.log.record("signin.succeeded", party, None, user=user.id, method="passkey")
        return self.open_session(user)

    def session(self, token: str) -> tuple[User, str] | None:
        """The session's user and CSRF token, if the cookie names a live session."""
        rows = self.db.query(
            "SELECT u.id, u.role, u.party_id, u.mode, s.csrf_token, s.expires_ms FROM sessions s "
            "JOIN users u ON u.id = s.user_id WHERE s.id_sha256 = ?",
            (hashlib.sha256(token.encode()).digest(),),
        )
        if not rows or int(rows[0][5]) <= self.clock():
            return None
        r = rows[0]
        return User(str(r[0]), str(r[1]), r[2], str(r[3])), str(r[4])

    def sign_out(self, token: str) -> None:
        self.db.query("DELETE FROM sessions WHERE id_sha256 = ?", (hashlib.sha256(token.encode()).digest(),))

    def principal(self, user: User, session_token: str) -> Principal:
        """What a signed-in person may do: what the API key of their party may."""
        kind = ROLES[user.role]
        key_id = "session:" + hashlib.sha256(session_token.encode()).hexdigest()[:12]
        return Principal(key_id, kind, user.party_id, user.mode, frozenset(SCOPES[kind].split()))

    # -- password resets -------------------------------------------------------------------------

    def request_reset(self, email: str) -> None:
        """Mail a one-time token if the account exists (the answer is the same either way)."""
        rows = self.db.query("SELECT id FROM users WHERE email_hmac = ?", (self._lookup(email or ""),))
        if not rows:
            return
        token = secrets.token_urlsafe(32)
        self.db.query(
            "INSERT INTO password_resets (token_sha256, user_id, expires_ms) VALUES (?, ?, ?)",
            (hashlib.sha256(token.encode()).digest(), rows[0][0], self.clock() + RESET_MS),
        )
        self.mailer.send(email, "Reset your Farthing password", f"Your one-time reset token: {token}")
        self.log.record("password.reset_requested", None, None, user=str(rows[0][0]))

    def reset(self, token: str, new_password: str) -> None:
        if not isinstance(new_password, str) or not PASSWORD_LENGTH_MIN <= len(new_password) <= 1024:
            raise PlatformError(ErrorCode.validation_failed, f"a password has {PASSWORD_LENGTH_MIN} to 1024 characters")
        now = self.clock()
        used = self.db.query(
            "UPDATE password_resets SET used_ms = ? WHERE token_sha256 = ? AND used_ms IS NULL AND expires_ms > ? "
            "RETURNING user_id",
            (now, hashlib.sha256((token or "").encode()).digest(), now),
        )
        if not used:
            raise PlatformError(ErrorCode.authentication_failed, "this reset token is unknown, used or expired")
        user_id = str(used[0][0])
        hashed = ARGON2.hash(new_password)  # ~150 ms: not while holding the database's write lock
        with self.db.transaction() as tx:
            tx.query(
                "UPDATE users SET password_hash = ?, failures = 0, locked_until_ms = 0 WHERE id = ?",
                (hashed, user_id),
            )
            tx.query("DELETE FROM sessions WHERE user_id = ?", (user_id,))
        self.log.record("password.reset", None, None, user=user_id)
