"""A customer's rights in SQL: erasure and closure as one transaction each, the sweep's due list, what an
export gathers (`farthing.services.privacy.PrivacyRepository`)."""

from __future__ import annotations

from typing import Any

from farthing.adapters.platform_db import PlatformDb
from farthing.domain.principals import PartyRecord

HELD = {
    "factors": ("factors", "party_id", "id, kind, created_ms, confirmed_ms, flagged_ms, revoked_ms"),
    "allowances": ("allowances", "customer",
                   "id, merchant, currency, per_payment, per_day, total, created_ms, expires_ms, revoked_ms"),
    "channels": ("channels", "customer", "id, merchant, currency, form, deposit, status, created_ms"),
    "api_keys": ("api_keys", "party_id", "id, kind, mode, scopes, created_ms, revoked_ms"),
    "security_events": ("security_events", "party_id", "at_ms, kind, key_id, detail, personal"),
}  # fmt: skip
"""What an export lists of each table, by the column naming its owner."""


class PrivacyTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def party(self, party_id: str) -> PartyRecord | None:
        rows = self.db.query(
            "SELECT kind, mode, country, age_band, created_ms, erased_ms, closed_ms FROM parties WHERE id = ?",
            (party_id,),
        )
        if not rows:
            return None
        kind, mode, country, age_band, created_ms, erased_ms, closed_ms = rows[0]
        erased, closed = (None if ms is None else int(ms) for ms in (erased_ms, closed_ms))
        return PartyRecord(party_id, str(kind), str(mode), country, str(age_band), int(created_ms), erased, closed)

    def erase(self, customer: str, now_ms: int) -> None:
        with self.db.transaction() as tx:
            tx.query("DELETE FROM personal_data WHERE subject = ?", (customer,))
            tx.query("DELETE FROM data_keys WHERE subject = ?", (customer,))
            tx.query("UPDATE parties SET erased_ms = ? WHERE id = ? AND erased_ms IS NULL", (now_ms, customer))

    def close(self, customer: str, now_ms: int) -> int:
        with self.db.transaction() as tx:
            tx.query("UPDATE parties SET closed_ms = ? WHERE id = ? AND closed_ms IS NULL", (now_ms, customer))
            tx.query("UPDATE api_keys SET revoked_ms = ? WHERE party_id = ? AND revoked_ms IS NULL", (now_ms, customer))
            tx.query("DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE party_id = ?)", (customer,))
        return int(self.db.query("SELECT closed_ms FROM parties WHERE id = ?", (customer,))[0][0])

    def closed_before(self, cutoff_ms: int) -> list[str]:
        rows = self.db.query(
            "SELECT id FROM parties WHERE kind = 'customer' AND closed_ms IS NOT NULL AND closed_ms <= ? "
            "AND erased_ms IS NULL ORDER BY closed_ms",
            (cutoff_ms,),
        )
        return [str(c) for (c,) in rows]

    def held(self, customer: str) -> dict[str, list[dict[str, Any]]]:
        found = {}
        for name, (table, owner, columns) in HELD.items():
            names = [c.strip() for c in columns.split(",")]
            rows = self.db.query(f"SELECT {columns} FROM {table} WHERE {owner} = ?", (customer,))
            found[name] = [dict(zip(names, r, strict=True)) for r in rows]
        return found
