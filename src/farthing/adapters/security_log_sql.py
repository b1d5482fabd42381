"""The `security_events` table: `farthing.services.security_log.SecurityEventRepository` in SQL."""

from __future__ import annotations

from farthing.adapters.platform_db import PlatformDb


class SecurityEventTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def append(
        self, at_ms: int, kind: str, party_id: str | None, key_id: str | None, detail: str, personal: bytes | None
    ) -> None:
        self.db.query(
            "INSERT INTO security_events (at_ms, kind, party_id, key_id, detail, personal) VALUES (?, ?, ?, ?, ?, ?)",
            (at_ms, kind, party_id, key_id, detail, personal),
        )

    def recent(self, limit: int) -> list[tuple[int, str, str | None, str | None, str]]:
        rows = self.db.query(
            "SELECT at_ms, kind, party_id, key_id, detail FROM security_events ORDER BY at_ms DESC LIMIT ?", (limit,)
        )
        return [(int(r[0]), str(r[1]), r[2], r[3], str(r[4])) for r in rows]

    def logged_since(self, party_id: str, kind: str, since_ms: int) -> bool:
        return bool(
            self.db.query(
                "SELECT 1 FROM security_events WHERE party_id = ? AND kind = ? AND at_ms >= ? LIMIT 1",
                (party_id, kind, since_ms),
            )
        )
