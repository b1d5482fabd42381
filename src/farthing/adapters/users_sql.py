"""The `users`, `sessions` and `password_resets` tables: `farthing.services.users.UserRepository` in SQL."""

from __future__ import annotations

from farthing.adapters.platform_db import PlatformDb
from farthing.domain.principals import SessionRecord, SignInRecord, User


class UserTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def email_taken(self, email_hmac: bytes) -> bool:
        return bool(self.db.query("SELECT 1 FROM users WHERE email_hmac = ?", (email_hmac,)))

    def add(self, user: User, email_hmac: bytes, password_hash: str, created_ms: int) -> None:
        self.db.query(
            "INSERT INTO users (id, role, party_id, mode, email_hmac, password_hash, created_ms) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (user.id, user.role, user.party_id, user.mode, email_hmac, password_hash, created_ms),
        )

    def by_email(self, email_hmac: bytes) -> SignInRecord | None:
        rows = self.db.query(  # a closed account's user signs in no more
            "SELECT u.id, u.role, u.party_id, u.mode, u.password_hash, u.failures, u.locked_until_ms FROM users u "
            "LEFT JOIN parties p ON p.id = u.party_id WHERE u.email_hmac = ? AND p.closed_ms IS NULL",
            (email_hmac,),
        )
        if not rows:
            return None
        user_id, role, party, mode, stored, failures, locked_until = rows[0]
        return SignInRecord(User(str(user_id), str(role), party, str(mode)), str(stored), int(failures),
                            int(locked_until))  # fmt: skip

    def set_failures(self, user_id: str, failures: int, locked_until_ms: int) -> None:
        self.db.query(
            "UPDATE users SET failures = ?, locked_until_ms = ? WHERE id = ?", (failures, locked_until_ms, user_id)
        )

    def set_password(self, user_id: str, password_hash: str, end_sessions: bool) -> None:
        """A new hash (the lockout cleared); with `end_sessions`, in one transaction with ending them."""
        with self.db.transaction() as tx:
            tx.query(
                "UPDATE users SET password_hash = ?, failures = 0, locked_until_ms = 0 WHERE id = ?",
                (password_hash, user_id),
            )
            if end_sessions:
                tx.query("DELETE FROM sessions WHERE user_id = ?", (user_id,))

    def payer_of(self, party_id: str) -> User | None:
        rows = self.db.query(
            "SELECT u.id, u.role, u.party_id, u.mode FROM users u JOIN parties p ON p.id = u.party_id "
            "WHERE u.party_id = ? AND u.role = 'payer' AND p.closed_ms IS NULL",
            (party_id,),
        )
        return User(str(rows[0][0]), str(rows[0][1]), rows[0][2], str(rows[0][3])) if rows else None

    def add_session(
        self, digest: bytes, user_id: str, csrf: str, created_ms: int, expires_ms: int, method: str,
        agent: bytes | None,
    ) -> None:  # fmt: skip
        self.db.query(
            "INSERT INTO sessions (id_sha256, user_id, csrf_token, created_ms, expires_ms, method, agent_sha256) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (digest, user_id, csrf, created_ms, expires_ms, method, agent),
        )

    def session(self, digest: bytes) -> SessionRecord | None:
        rows = self.db.query(
            "SELECT u.id, u.role, u.party_id, u.mode, s.csrf_token, s.expires_ms, s.method, s.agent_sha256 "
            "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_sha256 = ?",
            (digest,),
        )
        if not rows:
            return None
        r = rows[0]
        user = User(str(r[0]), str(r[1]), r[2], str(r[3]))
        return SessionRecord(user, str(r[4]), int(r[5]), str(r[6]), bytes(r[7]) if r[7] is not None else None)

    def end_session(self, digest: bytes) -> None:
        self.db.query("DELETE FROM sessions WHERE id_sha256 = ?", (digest,))

    def add_reset(self, digest: bytes, user_id: str, expires_ms: int) -> None:
        self.db.query(
            "INSERT INTO password_resets (token_sha256, user_id, expires_ms) VALUES (?, ?, ?)",
            (digest, user_id, expires_ms),
        )

    def use_reset(self, digest: bytes, now_ms: int) -> str | None:
        """The user of a reset token not used and not expired, marking it used; None otherwise."""
        used = self.db.query(
            "UPDATE password_resets SET used_ms = ? WHERE token_sha256 = ? AND used_ms IS NULL AND expires_ms > ? "
            "RETURNING user_id",
            (now_ms, digest, now_ms),
        )
        return str(used[0][0]) if used else None
