"""The `challenges` table: `farthing.services.stepup.ChallengeRepository` in SQL."""

from __future__ import annotations

from typing import Protocol

from farthing.adapters.platform_db import PlatformDb
from farthing.domain.challenges import Challenge


class _Payment(Protocol):
    id: str
    customer: str
    currency: str


class ChallengeTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def find(self, payment_id: str) -> Challenge | None:
        rows = self.db.query(
            "SELECT payment_id, party_id, webauthn_challenge, expires_ms, attempts, status FROM challenges "
            "WHERE payment_id = ?",
            (payment_id,),
        )
        if not rows:
            return None
        r = rows[0]
        return Challenge(str(r[0]), str(r[1]), bytes(r[2]), int(r[3]), int(r[4]), str(r[5]))

    def pending(self, payment_id: str) -> bool:
        found = self.find(payment_id)
        return found is not None and found.status == "pending"

    def open(self, payment: _Payment, webauthn_challenge: bytes, now_ms: int, expires_ms: int) -> None:
        self.db.query(
            "INSERT INTO challenges (payment_id, party_id, currency, webauthn_challenge, created_ms, expires_ms, "
            "attempts, status) VALUES (?, ?, ?, ?, ?, ?, 0, 'pending') ON CONFLICT DO NOTHING",
            (payment.id, payment.customer, payment.currency, webauthn_challenge, now_ms, expires_ms),
        )

    def wrong(self, payment_id: str) -> None:
        self.db.query("UPDATE challenges SET attempts = attempts + 1 WHERE payment_id = ?", (payment_id,))

    def close(self, payment_id: str, status: str) -> None:
        self.db.query(
            "UPDATE challenges SET status = ? WHERE payment_id = ? AND status = 'pending'", (status, payment_id)
        )

    def waiting(self, party_id: str, now_ms: int, limit: int) -> list[str]:
        rows = self.db.query(
            "SELECT payment_id FROM challenges WHERE party_id = ? AND status = 'pending' AND expires_ms > ? "
            "ORDER BY expires_ms LIMIT ?",
            (party_id, now_ms, limit),
        )
        return [str(r[0]) for r in rows]

    def recent(self, limit: int) -> list[tuple[Challenge, str, int]]:
        rows = self.db.query(
            "SELECT payment_id, party_id, webauthn_challenge, expires_ms, attempts, status, currency, created_ms "
            "FROM challenges ORDER BY created_ms DESC LIMIT ?",
            (limit,),
        )
        return [(Challenge(str(r[0]), str(r[1]), bytes(r[2]), int(r[3]), int(r[4]), str(r[5])), str(r[6]), int(r[7]))
                for r in rows]  # fmt: skip
