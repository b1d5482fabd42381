"""The `disputes` table: `farthing.services.disputes.DisputeRepository` in SQL."""

from __future__ import annotations

from farthing.adapters.platform_db import PlatformDb
from farthing.domain.disputes import Dispute

_COLUMNS = ("id, payment, customer, merchant, currency, mode, amount, from_merchant, from_platform, reason, status, "
            "evidence, opened_ms, due_ms, closed_ms")  # fmt: skip
_OPEN = "status IN ('needs_response', 'under_review')"


def _dispute(r: tuple[object, ...]) -> Dispute:
    return Dispute(str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), int(r[6]), int(r[7]),  # type: ignore[call-overload]
                   int(r[8]), str(r[9]), str(r[10]), r[11], int(r[12]), int(r[13]), r[14])  # type: ignore[arg-type]  # fmt: skip


class DisputeTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def add(self, d: Dispute) -> None:
        """Keep a dispute opened (nothing when it is kept already: a retry)."""
        self.db.query(
            f"INSERT INTO disputes ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO NOTHING",
            (d.id, d.payment, d.customer, d.merchant, d.currency, d.mode, d.amount, d.from_merchant, d.from_platform,
             d.reason, d.status, d.evidence, d.opened_ms, d.due_ms, d.closed_ms),
        )  # fmt: skip

    def get(self, dispute_id: str) -> Dispute | None:
        rows = self.db.query(f"SELECT {_COLUMNS} FROM disputes WHERE id = ?", (dispute_id,))
        return _dispute(rows[0]) if rows else None

    def of_party(self, column: str, party: str, limit: int) -> list[Dispute]:
        assert column in ("merchant", "customer")
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM disputes WHERE {column} = ? ORDER BY opened_ms DESC, id LIMIT ?", (party, limit)
        )
        return [_dispute(r) for r in rows]

    def open_of_mode(self, mode: str, limit: int) -> list[Dispute]:
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM disputes WHERE mode = ? AND {_OPEN} ORDER BY opened_ms DESC, id LIMIT ?",
            (mode, limit),
        )
        return [_dispute(r) for r in rows]

    def answer(self, dispute_id: str, evidence: str) -> bool:
        """Keep the merchant's evidence; False if the dispute no longer waits for it."""
        with self.db.transaction() as tx:
            if not tx.query("SELECT 1 FROM disputes WHERE id = ? AND status = 'needs_response'", (dispute_id,)):
                return False
            tx.query("UPDATE disputes SET status = 'under_review', evidence = ? WHERE id = ?", (evidence, dispute_id))
        return True

    def decide(self, dispute_id: str, outcome: str, now_ms: int) -> None:
        self.db.query(
            f"UPDATE disputes SET status = ?, closed_ms = ? WHERE id = ? AND {_OPEN}", (outcome, now_ms, dispute_id)
        )

    def unrecorded(self) -> list[tuple[str, str, str, int]]:
        """(merchant, its mode, the event's body, when) of each dispute.opened event without its dispute row."""
        rows = self.db.query(
            "SELECT o.party_id, p.mode, o.body, o.created_ms FROM outbox o JOIN parties p ON p.id = o.party_id "
            "WHERE o.type = 'dispute.opened' AND NOT EXISTS "
            "(SELECT 1 FROM disputes x WHERE x.id = 'dp_' || substr(o.event_id, 5, 24)) ORDER BY o.id"
        )
        return [(str(m), str(mode), str(body), int(at)) for m, mode, body, at in rows]
