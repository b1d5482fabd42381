"""The `checkout_sessions` and `checkout_origins` tables: `farthing.services.checkout.CheckoutRepository`."""

from __future__ import annotations

from collections.abc import Sequence

from farthing.adapters.platform_db import PlatformDb
from farthing.domain.checkout import CheckoutSession

_COLUMNS = (
    "id, merchant, mode, amount_units, currency, description, return_url, created_ms, expires_ms, customer, "
    "payment_id, allowance"
)


class CheckoutTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def add(self, s: CheckoutSession) -> None:
        self.db.query(
            f"INSERT INTO checkout_sessions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (s.id, s.merchant, s.mode, str(s.amount_units), s.currency, s.description, s.return_url, s.created_ms,
             s.expires_ms, s.customer, s.payment_id, s.allowance),
        )  # fmt: skip

    def get(self, session_id: str) -> CheckoutSession | None:
        rows = self.db.query(f"SELECT {_COLUMNS} FROM checkout_sessions WHERE id = ?", (session_id,))
        if not rows:
            return None
        r = rows[0]
        return CheckoutSession(r[0], r[1], r[2], int(r[3]), r[4], r[5], r[6], int(r[7]), int(r[8]), r[9], r[10], r[11])

    def attach(self, session_id: str, customer: str, payment_id: str) -> bool:
        """Record who pays the session and with which payment, unless someone does already."""
        done = self.db.query(
            "UPDATE checkout_sessions SET customer = ?, payment_id = ? WHERE id = ? AND payment_id IS NULL "
            "RETURNING id",
            (customer, payment_id, session_id),
        )
        return bool(done)

    def set_allowance(self, session_id: str, allowance: str) -> None:
        self.db.query("UPDATE checkout_sessions SET allowance = ? WHERE id = ?", (allowance, session_id))

    def origins(self, merchant: str) -> list[str]:
        rows = self.db.query("SELECT origin FROM checkout_origins WHERE merchant = ? ORDER BY origin", (merchant,))
        return [str(r[0]) for r in rows]

    def every_origin(self) -> set[str]:
        return {str(r[0]) for r in self.db.query("SELECT DISTINCT origin FROM checkout_origins")}

    def set_origins(self, merchant: str, origins: Sequence[str]) -> None:
        with self.db.transaction() as tx:
            tx.query("DELETE FROM checkout_origins WHERE merchant = ?", (merchant,))
            for origin in origins:
                tx.query("INSERT INTO checkout_origins (merchant, origin) VALUES (?, ?)", (merchant, origin))
