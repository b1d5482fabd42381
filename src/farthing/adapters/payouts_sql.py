"""The payout tables (`payout_accounts`, `payout_terms`, `payouts`): `farthing.services.payouts.PayoutRepository`
in SQL."""

from __future__ import annotations

from farthing.adapters.platform_db import PlatformDb
from farthing.adapters.rows import b16, int16
from farthing.domain.payouts import Payout, Terms

_COLUMNS = ("id, merchant_id, currency, mode, amount, reserve, remainder, transfer_id, status, file_id, reason, "
            "created_ms, settled_ms")  # fmt: skip


_INSERT = f"INSERT INTO payouts ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


def _row(p: Payout) -> tuple[object, ...]:
    return (p.id, p.merchant, p.currency, p.mode, p.amount, p.reserve, p.remainder, b16(p.transfer_id), p.status,
            p.file_id, p.reason, p.created_ms, p.settled_ms)  # fmt: skip


def _payout(r: tuple[object, ...]) -> Payout:
    return Payout(str(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4]), int(r[5]), int(r[6]),  # type: ignore[call-overload]
                  int16(bytes(r[7])), str(r[8]), r[9], r[10], int(r[11]), r[12])  # type: ignore[arg-type]  # fmt: skip


class PayoutTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def set_account(self, merchant: str, country: str, last4: str, now_ms: int) -> None:
        self.db.query(
            "INSERT INTO payout_accounts (merchant_id, country, last4, updated_ms) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (merchant_id) DO UPDATE SET country = excluded.country, last4 = excluded.last4, "
            "updated_ms = excluded.updated_ms",
            (merchant, country, last4, now_ms),
        )

    def account(self, merchant: str) -> tuple[str, str] | None:
        rows = self.db.query("SELECT country, last4 FROM payout_accounts WHERE merchant_id = ?", (merchant,))
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    def set_terms(self, merchant: str, currency: str, t: Terms) -> None:
        self.db.query(
            "INSERT INTO payout_terms (merchant_id, currency, schedule, minimum, threshold, reserve_ppm, reserve_days) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (merchant_id, currency) DO UPDATE SET "
            "schedule = excluded.schedule, minimum = excluded.minimum, threshold = excluded.threshold, "
            "reserve_ppm = excluded.reserve_ppm, reserve_days = excluded.reserve_days",
            (merchant, currency, t.schedule, t.minimum, t.threshold, t.reserve_ppm, t.reserve_days),
        )

    def terms(self, merchant: str, currency: str) -> Terms | None:
        rows = self.db.query(
            "SELECT schedule, minimum, threshold, reserve_ppm, reserve_days FROM payout_terms "
            "WHERE merchant_id = ? AND currency = ?",
            (merchant, currency),
        )
        return Terms(str(rows[0][0]), *(int(v) for v in rows[0][1:])) if rows else None

    def scheduled(self, mode: str) -> list[tuple[str, str, Terms]]:
        rows = self.db.query(
            "SELECT t.merchant_id, t.currency, t.schedule, t.minimum, t.threshold, t.reserve_ppm, t.reserve_days "
            "FROM payout_terms t JOIN payout_accounts a ON a.merchant_id = t.merchant_id "
            "JOIN parties p ON p.id = t.merchant_id WHERE t.schedule <> 'manual' AND p.mode = ? "
            "ORDER BY t.merchant_id, t.currency",
            (mode,),
        )
        return [(str(r[0]), str(r[1]), Terms(str(r[2]), *(int(v) for v in r[3:]))) for r in rows]

    def last_created(self) -> dict[tuple[str, str], int]:
        rows = self.db.query(
            "SELECT merchant_id, currency, MAX(created_ms) FROM payouts WHERE status <> 'returned' "
            "GROUP BY merchant_id, currency"
        )
        return {(str(m), str(c)): int(at) for m, c, at in rows}

    def add_many(self, payouts: list[Payout]) -> None:
        with self.db.transaction() as tx:
            tx.executemany(_INSERT, [_row(p) for p in payouts])

    def add(self, p: Payout) -> None:
        self.db.query(_INSERT, _row(p))

    def get(self, payout_id: str) -> Payout | None:
        rows = self.db.query(f"SELECT {_COLUMNS} FROM payouts WHERE id = ?", (payout_id,))
        return _payout(rows[0]) if rows else None

    def of_merchant(self, merchant: str, limit: int) -> list[Payout]:
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM payouts WHERE merchant_id = ? ORDER BY created_ms DESC, id DESC LIMIT ?",
            (merchant, limit),
        )
        return [_payout(r) for r in rows]

    def last_ms(self, merchant: str, currency: str) -> int | None:
        rows = self.db.query(
            "SELECT MAX(created_ms) FROM payouts WHERE merchant_id = ? AND currency = ? AND status <> 'returned'",
            (merchant, currency),
        )
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def unsent(self, currency: str, mode: str) -> list[Payout]:
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM payouts WHERE status = 'created' AND currency = ? AND mode = ? ORDER BY id",
            (currency, mode),
        )
        return [_payout(r) for r in rows]

    def mark_sent(self, payout_ids: list[str], file_id: str) -> None:
        with self.db.transaction() as tx:
            tx.executemany(
                "UPDATE payouts SET status = 'sent', file_id = ? WHERE id = ? AND status = 'created'",
                [(file_id, pid) for pid in payout_ids],
            )

    def settle(self, payout_id: str, status: str, reason: str | None, now_ms: int) -> bool:
        """Mark a sent (or created) payout paid or returned; False when it was settled already."""
        with self.db.transaction() as tx:
            rows = tx.query("SELECT status FROM payouts WHERE id = ?", (payout_id,))
            if not rows or rows[0][0] not in ("created", "sent"):
                return False
            tx.query(
                "UPDATE payouts SET status = ?, reason = ?, settled_ms = ? WHERE id = ?",
                (status, reason, now_ms, payout_id),
            )
        return True

    def reverse(self, payout_id: str, reason: str | None, now_ms: int) -> bool:
        with self.db.transaction() as tx:
            if not tx.query("SELECT 1 FROM payouts WHERE id = ? AND status = 'paid'", (payout_id,)):
                return False
            tx.query(
                "UPDATE payouts SET status = 'returned', reason = ?, settled_ms = ? WHERE id = ?",
                (reason, now_ms, payout_id),
            )
        return True

    def disputed(self, mode: str) -> dict[tuple[str, str], int]:
        rows = self.db.query(
            "SELECT merchant, currency, SUM(from_merchant) FROM disputes WHERE mode = ? "
            "AND status IN ('needs_response', 'under_review') GROUP BY merchant, currency",
            (mode,),
        )
        return {(str(m), str(c)): int(held) for m, c, held in rows}

    def unrecorded(self) -> list[tuple[str, str, str, int]]:
        """(merchant, its mode, the event's body, when) of each payout.created event without its payout row."""
        rows = self.db.query(
            "SELECT o.party_id, p.mode, o.body, o.created_ms FROM outbox o JOIN parties p ON p.id = o.party_id "
            "WHERE o.type = 'payout.created' AND NOT EXISTS "
            "(SELECT 1 FROM payouts x WHERE x.id = 'po_' || substr(o.event_id, 5, 24)) ORDER BY o.id"
        )
        return [(str(m), str(mode), str(body), int(at)) for m, mode, body, at in rows]
