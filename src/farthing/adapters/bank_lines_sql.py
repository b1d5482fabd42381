"""The `bank_statements` and `bank_lines` tables: `farthing.services.reconciliation.BankLineRepository` in SQL."""

from __future__ import annotations

from farthing.adapters.bank_reports import BankLine
from farthing.adapters.platform_db import PlatformDb


class BankLineTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def add(self, statement_id: str, lines: list[BankLine], matched: dict[str, str], now_ms: int) -> bool:
        """Keep a statement and its lines (`matched`: line ref → payout) in one transaction; False when
        that statement was imported before (nothing is kept twice)."""
        with self.db.transaction() as tx:
            if tx.query("SELECT 1 FROM bank_statements WHERE id = ?", (statement_id,)):
                return False
            tx.query("INSERT INTO bank_statements (id, imported_ms) VALUES (?, ?)", (statement_id, now_ms))
            tx.executemany(
                "INSERT INTO bank_lines (ref, statement_id, booked, amount_minor, currency, end_to_end, info, "
                "payout_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(b.ref, statement_id, b.booked, b.amount_minor, b.currency, b.end_to_end, b.info, matched.get(b.ref))
                 for b in lines],
            )  # fmt: skip
        return True

    def matched_payouts(self, payout_ids: list[str]) -> set[str]:
        """Those of `payout_ids` a line of an earlier statement matched already."""
        found: set[str] = set()
        for start in range(0, len(payout_ids), 500):
            chunk = payout_ids[start : start + 500]
            rows = self.db.query(
                f"SELECT payout_id FROM bank_lines WHERE payout_id IN ({', '.join('?' * len(chunk))})", tuple(chunk)
            )
            found |= {str(r[0]) for r in rows}
        return found

    def unmatched(self, limit: int) -> list[BankLine]:
        rows = self.db.query(
            "SELECT ref, booked, amount_minor, currency, end_to_end, info FROM bank_lines WHERE payout_id IS NULL "
            "ORDER BY booked DESC, ref LIMIT ?",
            (limit,),
        )
        return [BankLine(str(r[0]), str(r[1]), int(r[2]), str(r[3]), r[4], str(r[5])) for r in rows]
