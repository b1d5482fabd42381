"""The `wallets` table: `farthing.services.accounts.WalletRepository` in SQL."""

from __future__ import annotations

from farthing.adapters.platform_db import PlatformDb
from farthing.adapters.rows import b16, int16


class WalletTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def add(self, party_id: str, currency_code: str, account_id: int) -> None:
        self.db.query(
            "INSERT INTO wallets (party_id, currency, account_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (party_id, currency_code, b16(account_id)),
        )

    def of_party(self, party_id: str) -> list[tuple[str, int]]:
        rows = self.db.query(
            "SELECT currency, account_id FROM wallets WHERE party_id = ? ORDER BY currency", (party_id,)
        )
        return [(str(code), int16(bytes(account))) for code, account in rows]

    def find(self, party_id: str, currency_code: str) -> int | None:
        rows = self.db.query(
            "SELECT account_id FROM wallets WHERE party_id = ? AND currency = ?", (party_id, currency_code)
        )
        return int16(bytes(rows[0][0])) if rows else None

    def owners(self, account_ids: list[int]) -> dict[int, str]:
        if not account_ids:
            return {}
        marks = ", ".join("?" * len(account_ids))
        rows = self.db.query(
            f"SELECT account_id, party_id FROM wallets WHERE account_id IN ({marks})",
            tuple(b16(i) for i in account_ids),
        )
        return {int16(bytes(a)): str(p) for a, p in rows}
