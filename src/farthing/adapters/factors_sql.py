"""The TOTP side of the `factors` table and `recovery_codes`: `farthing.services.factors.FactorRepository` in SQL."""

from __future__ import annotations

from farthing.adapters.platform_db import PlatformDb
from farthing.domain.factors import FactorView


class FactorTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def add_totp(self, factor_id: str, party: str, secret: bytes, created_ms: int) -> None:
        self.db.query(
            "INSERT INTO factors (id, party_id, kind, secret, created_ms) VALUES (?, ?, 'totp', ?, ?)",
            (factor_id, party, secret, created_ms),
        )

    def totp_confirmed_ms(self, factor_id: str, party: str) -> int | bool | None:
        rows = self.db.query(
            "SELECT confirmed_ms FROM factors WHERE id = ? AND party_id = ? AND kind = 'totp' AND revoked_ms IS NULL",
            (factor_id, party),
        )
        return False if not rows else None if rows[0][0] is None else int(rows[0][0])

    def confirm(self, factor_id: str, party: str, now_ms: int, recovery_digests: list[bytes]) -> None:
        with self.db.transaction() as tx:
            tx.query("UPDATE factors SET confirmed_ms = ? WHERE id = ?", (now_ms, factor_id))
            tx.executemany(
                "INSERT INTO recovery_codes (party_id, code_sha256, created_ms) VALUES (?, ?, ?)",
                [(party, digest, now_ms) for digest in recovery_digests],
            )

    def use_recovery(self, party: str, digest: bytes, now_ms: int) -> bool:
        return bool(
            self.db.query(
                "UPDATE recovery_codes SET used_ms = ? WHERE party_id = ? AND code_sha256 = ? AND used_ms IS NULL "
                "RETURNING party_id",
                (now_ms, party, digest),
            )
        )

    def confirmed_totps(self, party: str) -> list[str]:
        rows = self.db.query(
            "SELECT id FROM factors WHERE party_id = ? AND kind = 'totp' AND confirmed_ms IS NOT NULL "
            "AND revoked_ms IS NULL ORDER BY created_ms",
            (party,),
        )
        return [str(factor_id) for (factor_id,) in rows]

    def totp_secret(self, factor_id: str) -> tuple[bytes, int] | None:
        rows = self.db.query("SELECT secret, last_step FROM factors WHERE id = ?", (factor_id,))
        return (bytes(rows[0][0]), int(rows[0][1])) if rows else None

    def take_step(self, factor_id: str, step: int) -> bool:
        return bool(
            self.db.query(
                "UPDATE factors SET last_step = ? WHERE id = ? AND last_step < ? RETURNING id", (step, factor_id, step)
            )
        )

    def of_party(self, party: str) -> list[FactorView]:
        rows = self.db.query(
            "SELECT id, kind, created_ms, confirmed_ms, flagged_ms FROM factors WHERE party_id = ? "
            "AND revoked_ms IS NULL ORDER BY created_ms",
            (party,),
        )
        return [FactorView(str(r[0]), str(r[1]), int(r[2]), r[3], r[4]) for r in rows]

    def has_factor(self, party: str) -> bool:
        return bool(
            self.db.query(
                "SELECT 1 FROM factors WHERE party_id = ? AND confirmed_ms IS NOT NULL AND revoked_ms IS NULL "
                "AND flagged_ms IS NULL LIMIT 1",
                (party,),
            )
        )
