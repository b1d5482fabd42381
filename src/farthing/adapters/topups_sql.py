"""The `topup_attempts` table: `farthing.services.topups.TopUpAttemptRepository` in SQL."""

from __future__ import annotations

from farthing.adapters.platform_db import PlatformDb


class TopUpAttemptTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def record(self, party_id: str, at_ms: int, declined: bool, forget_before_ms: int) -> None:
        with self.db.transaction() as tx:
            tx.query("DELETE FROM topup_attempts WHERE party_id = ? AND at_ms <= ?", (party_id, forget_before_ms))
            tx.query(
                "INSERT INTO topup_attempts (party_id, at_ms, declined) VALUES (?, ?, ?)",
                (party_id, at_ms, int(declined)),
            )

    def since(self, party_id: str, after_ms: int) -> list[tuple[int, bool]]:
        rows = self.db.query(
            "SELECT at_ms, declined FROM topup_attempts WHERE party_id = ? AND at_ms > ?", (party_id, after_ms)
        )
        return [(int(at), bool(declined)) for at, declined in rows]

    def declined_since(self, after_ms: int, limit: int) -> list[str]:
        rows = self.db.query(
            "SELECT party_id, MAX(at_ms) AS last FROM topup_attempts WHERE declined = 1 AND at_ms > ? "
            "GROUP BY party_id ORDER BY last DESC LIMIT ?",
            (after_ms, limit),
        )
        return [str(r[0]) for r in rows]

    def forget(self, party_id: str) -> None:
        self.db.query("DELETE FROM topup_attempts WHERE party_id = ?", (party_id,))
