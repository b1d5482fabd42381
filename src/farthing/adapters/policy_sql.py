"""The policy's own rows: merchants' overrides with the epoch every change bumps, payers' SCA epochs, and
the tax bases a return closes (`farthing.services.overrides.OverrideRepository`,
`farthing.services.policy_repositories.ScaEpochRepository` and `.TaxBaseRepository`)."""

from __future__ import annotations

from typing import Any

from farthing.adapters.platform_db import PlatformDb
from farthing.adapters.rows import b16, int16
from farthing.domain.tax_base import TaxBase


class OverrideTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def get(self, merchant: str, currency: str) -> tuple[str, int] | None:
        rows = self.db.query(
            "SELECT source, updated_ms FROM merchant_policies WHERE merchant = ? AND currency = ?", (merchant, currency)
        )
        return (str(rows[0][0]), int(rows[0][1])) if rows else None

    def epoch(self) -> int:
        return int(self.db.query("SELECT n FROM policy_epoch WHERE id = 1")[0][0])

    def put(self, merchant: str, currency: str, source: str, version: str, now_ms: int) -> None:
        with self.db.transaction() as tx:
            tx.query(
                "INSERT INTO merchant_policies (merchant, currency, source, version, updated_ms) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (merchant, currency) DO UPDATE SET source = excluded.source, "
                "version = excluded.version, updated_ms = excluded.updated_ms",
                (merchant, currency, source, version, now_ms),
            )
            tx.query("UPDATE policy_epoch SET n = n + 1 WHERE id = 1")

    def drop(self, merchant: str, currency: str) -> bool:
        with self.db.transaction() as tx:
            rows = tx.query(
                "DELETE FROM merchant_policies WHERE merchant = ? AND currency = ? RETURNING merchant",
                (merchant, currency),
            )
            tx.query("UPDATE policy_epoch SET n = n + 1 WHERE id = 1")
        return bool(rows)


class ScaEpochTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def epoch(self, payer: str) -> str | None:
        rows = self.db.query("SELECT epoch FROM sca_epochs WHERE party_id = ?", (payer,))
        return str(rows[0][0]) if rows else None

    def bump(self, payer: str, now_ms: int) -> str:
        rows = self.db.query(
            "INSERT INTO sca_epochs (party_id, epoch, authenticated_ms) VALUES (?, 1, ?) ON CONFLICT (party_id) "
            "DO UPDATE SET epoch = sca_epochs.epoch + 1, authenticated_ms = excluded.authenticated_ms RETURNING epoch",
            (payer, now_ms),
        )
        return str(rows[0][0])


_BASE = "account_id, merchant, place, kind, rate_ppm, inclusive, period, currency, closed_ms"


def _base(r: tuple[Any, ...]) -> TaxBase:
    closed = None if r[8] is None else int(r[8])
    return TaxBase(int16(bytes(r[0])), str(r[1]), str(r[2]), str(r[3]), int(r[4]), bool(r[5]), str(r[6]), str(r[7]),
                   closed)  # fmt: skip


class TaxBaseTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def add(self, base: TaxBase) -> None:
        b = base
        self.db.query(
            "INSERT INTO tax_bases (account_id, merchant, place, kind, rate_ppm, inclusive, period, currency) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (b16(b.account_id), b.merchant, b.place, b.kind, b.rate_ppm, int(b.inclusive), b.period, b.currency),
        )

    def of_merchant(self, merchant: str, place: str, period: str, currency: str) -> list[TaxBase]:
        rows = self.db.query(
            f"SELECT {_BASE} FROM tax_bases WHERE merchant = ? AND place = ? AND period = ? AND currency = ?",
            (merchant, place, period, currency),
        )
        return [_base(r) for r in rows]

    def of_period(self, period: str) -> list[TaxBase]:
        rows = self.db.query(
            f"SELECT {_BASE} FROM tax_bases WHERE period = ? ORDER BY merchant, place, rate_ppm", (period,)
        )
        return [_base(r) for r in rows]

    def close(self, account_id: int, now_ms: int) -> None:
        self.db.query(
            "UPDATE tax_bases SET closed_ms = ? WHERE account_id = ? AND closed_ms IS NULL", (now_ms, b16(account_id))
        )
