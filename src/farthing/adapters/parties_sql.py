"""The `parties` table: `farthing.services.parties.PartyRepository` in SQL."""

from __future__ import annotations

from farthing.adapters.platform_db import PlatformDb
from farthing.domain.principals import Profile


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

    def profile(self, party_id: str) -> Profile | None:
        rows = self.db.query("SELECT country, age_band FROM parties WHERE id = ?", (party_id,))
        return Profile(rows[0][0], rows[0][1]) if rows else None
