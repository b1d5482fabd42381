"""The `allowances` table: `farthing.services.allowances.AllowanceRepository` in SQL."""

from __future__ import annotations

import json

from farthing.adapters.platform_db import PlatformDb
from farthing.domain.allowances import Allowance
from farthing.domain.policy.inputs import Evidence

_COLUMNS = "id, customer, merchant, currency, per_payment, per_day, total, evidence, created_ms, expires_ms, revoked_ms"


class AllowanceTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def add(self, a: Allowance) -> None:
        e = a.evidence
        self.db.query(
            f"INSERT INTO allowances ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (a.id, a.customer, a.merchant, a.currency, str(a.per_payment), str(a.per_day), str(a.total),
             json.dumps({"ip": e.ip, "phone": e.phone, "instrument": e.instrument, "region": e.region}),
             a.created_ms, a.expires_ms, a.revoked_ms),
        )  # fmt: skip

    def get(self, allowance_id: str) -> Allowance | None:
        rows = self.db.query(f"SELECT {_COLUMNS} FROM allowances WHERE id = ?", (allowance_id,))
        return _allowance(rows[0]) if rows else None

    def of_party(self, party_id: str, limit: int) -> list[Allowance]:
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM allowances WHERE customer = ? OR merchant = ? ORDER BY created_ms DESC LIMIT ?",
            (party_id, party_id, limit),
        )
        return [_allowance(r) for r in rows]

    def revoke(self, allowance_id: str, now_ms: int) -> None:
        self.db.query(
            "UPDATE allowances SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL", (now_ms, allowance_id)
        )


def _allowance(r: tuple[object, ...]) -> Allowance:
    e = json.loads(str(r[7]))
    return Allowance(str(r[0]), str(r[1]), str(r[2]), str(r[3]), int(str(r[4])), int(str(r[5])), int(str(r[6])),
                     Evidence(ip=e["ip"], phone=e["phone"], instrument=e["instrument"], region=e["region"]),
                     int(r[8]), int(r[9]), None if r[10] is None else int(r[10]))  # type: ignore[call-overload]  # fmt: skip
