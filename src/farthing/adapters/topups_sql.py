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
