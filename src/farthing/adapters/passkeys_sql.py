"""Passkeys in the `factors` table and `webauthn_ceremonies`: `farthing.services.passkeys.PasskeyRepository`
in SQL."""

from __future__ import annotations

from farthing.adapters.platform_db import PlatformDb
from farthing.domain.factors import StoredPasskey


class PasskeyTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def open_ceremony(
        self, ceremony: str, party: str, kind: str, challenge: bytes, now_ms: int, expires_ms: int
    ) -> None:
        self.db.query(
            "INSERT INTO webauthn_ceremonies (id, party_id, kind, challenge, created_ms, expires_ms) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (ceremony, party, kind, challenge, now_ms, expires_ms),
        )

    def take_ceremony(self, ceremony: str, party: str | None, kind: str, now_ms: int) -> tuple[bytes, int] | None:
        """A waiting ceremony's challenge and expiry, now used; `party` None matches any party."""
        taken = self.db.query(
            "UPDATE webauthn_ceremonies SET used_ms = ? WHERE id = ? AND kind = ? AND used_ms IS NULL "
            + ("AND party_id = ? " if party is not None else "")
            + "RETURNING challenge, expires_ms",
            (now_ms, ceremony, kind) + ((party,) if party is not None else ()),
        )
        return (bytes(taken[0][0]), int(taken[0][1])) if taken else None

    def offered(self, party: str) -> list[bytes]:
        rows = self.db.query(
            "SELECT credential_id FROM factors WHERE party_id = ? AND kind = 'passkey' AND revoked_ms IS NULL "
            "AND flagged_ms IS NULL",
            (party,),
        )
        return [bytes(r[0]) for r in rows]

    def add(
        self, factor: str, party: str, credential_id: bytes, public_key: bytes, sign_count: int, now_ms: int
    ) -> bool:
        """False if this credential is registered already."""
        return bool(
            self.db.query(
                "INSERT INTO factors (id, party_id, kind, credential_id, public_key, sign_count, created_ms, "
                "confirmed_ms) VALUES (?, ?, 'passkey', ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
                (factor, party, credential_id, public_key, sign_count, now_ms, now_ms),
            )
        )

    def owner(self, credential_id: bytes) -> str | None:
        rows = self.db.query(
            "SELECT party_id FROM factors WHERE kind = 'passkey' AND credential_id = ? AND revoked_ms IS NULL",
            (credential_id,),
        )
        return str(rows[0][0]) if rows else None

    def find(self, party: str, credential_id: bytes) -> StoredPasskey | None:
        rows = self.db.query(
            "SELECT id, public_key, sign_count, flagged_ms FROM factors WHERE party_id = ? AND kind = 'passkey' "
            "AND credential_id = ? AND revoked_ms IS NULL",
            (party, credential_id),
        )
        if not rows:
            return None
        r = rows[0]
        return StoredPasskey(str(r[0]), bytes(r[1]), int(r[2]), r[3] is not None)

    def flag(self, factor: str, now_ms: int) -> None:
        self.db.query("UPDATE factors SET flagged_ms = ? WHERE id = ?", (now_ms, factor))

    def count_up(self, factor: str, sign_count: int) -> None:
        self.db.query(
            "UPDATE factors SET sign_count = ? WHERE id = ? AND sign_count <= ?", (sign_count, factor, sign_count)
        )
