"""The `parties` table: `farthing.services.parties.PartyRepository` in SQL."""

from __future__ import annotations

from farthing.adapters.platform_db import PlatformDb
from farthing.domain.principals import PartyFilters, PartyRow, Profile

_ROW = "id, kind, name, mode, country, age_band, created_ms, closed_ms, erased_ms"


class PartyTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def add(
        self, party_id: str, kind: str, name: str, mode: str, created_ms: int, country: str | None, age_band: str
    ) -> None:
        self.db.query(
            "INSERT INTO parties (id, kind, name, mode, created_ms, country, age_band) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (party_id, kind, name, mode, created_ms, country, age_band),
        )

    def kind_and_mode(self, party_id: str) -> tuple[str, str] | None:
        rows = self.db.query("SELECT kind, mode FROM parties WHERE id = ?", (party_id,))
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    def name(self, party_id: str) -> str | None:
        rows = self.db.query("SELECT name FROM parties WHERE id = ?", (party_id,))
        return str(rows[0][0]) if rows else None

    def profile(self, party_id: str) -> Profile | None:
        rows = self.db.query("SELECT country, age_band FROM parties WHERE id = ?", (party_id,))
        return Profile(rows[0][0], rows[0][1]) if rows else None

    def page(
        self, kind: str, mode: str, filters: PartyFilters, before: tuple[int, str] | None, limit: int
    ) -> list[PartyRow]:
        """Parties of a kind and mode, newest first, older than `before` (created_ms, id) when given."""
        where, params = ["kind = ?", "mode = ?"], [kind, mode]
        if before is not None:
            where.append("(created_ms < ? OR (created_ms = ? AND id < ?))")
            params += [before[0], before[0], before[1]]
        if filters.country is not None:
            where.append("country = ?")
            params.append(filters.country)
        if filters.created_gte_ms is not None:
            where.append("created_ms >= ?")
            params.append(filters.created_gte_ms)
        if filters.created_lte_ms is not None:
            where.append("created_ms <= ?")
            params.append(filters.created_lte_ms)
        rows = self.db.query(
            f"SELECT {_ROW} FROM parties WHERE {' AND '.join(where)} ORDER BY created_ms DESC, id DESC LIMIT ?",
            (*params, limit),
        )
        return [PartyRow(*r) for r in rows]

    def found(self, mode: str, text: str, limit: int) -> list[PartyRow]:
        """The party whose id is `text`, and merchants whose name holds it in any case, newest first (a
        customer's name is sealed: never searched)."""
        pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self.db.query(
            f"SELECT {_ROW} FROM parties WHERE mode = ? AND (id = ? OR (kind = 'merchant' AND LOWER(name) LIKE ? "
            "ESCAPE '\\')) ORDER BY created_ms DESC, id DESC LIMIT ?",
            (mode, text, pattern, limit),
        )
        return [PartyRow(*r) for r in rows]

    def created_ms(self, party_id: str) -> int | None:
        rows = self.db.query("SELECT created_ms FROM parties WHERE id = ?", (party_id,))
        return int(rows[0][0]) if rows else None
