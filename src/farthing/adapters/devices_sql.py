"""The `devices` table: `farthing.services.devices.DeviceRepository` in SQL."""

from __future__ import annotations

import json
from collections.abc import Sequence

from farthing.adapters.platform_db import PlatformDb
from farthing.domain.devices import Device, public_key
from farthing.domain.receipts import b64url

_COLUMNS = (
    "id, owner, name, kind, public_key, currency, per_payment, per_day, per_month, merchants, status, mode, "
    "created_ms, country"
)


class DeviceTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def add(self, d: Device) -> None:
        self.db.query(
            f"INSERT INTO devices ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (d.id, d.owner, d.name, d.kind, b64url(d.public_key), d.currency, str(d.per_payment), str(d.per_day),
             str(d.per_month), json.dumps(list(d.merchants)), d.status, d.mode, d.created_ms, d.country),
        )  # fmt: skip

    def get(self, device_id: str) -> Device | None:
        rows = self.db.query(f"SELECT {_COLUMNS} FROM devices WHERE id = ?", (device_id,))
        return _device(rows[0]) if rows else None

    def get_many(self, device_ids: Sequence[str]) -> dict[str, Device]:
        found: dict[str, Device] = {}
        for at in range(0, len(device_ids), 500):
            some = device_ids[at : at + 500]
            marks = ", ".join("?" * len(some))
            for r in self.db.query(f"SELECT {_COLUMNS} FROM devices WHERE id IN ({marks})", tuple(some)):
                found[str(r[0])] = _device(r)
        return found

    def of_owner(self, owner: str, limit: int) -> list[Device]:
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM devices WHERE owner = ? ORDER BY created_ms DESC, id LIMIT ?", (owner, limit)
        )
        return [_device(r) for r in rows]

    def set_status(self, device_id: str, status: str) -> None:
        """A revoked device stays revoked."""
        self.db.query("UPDATE devices SET status = ? WHERE id = ? AND status <> 'revoked'", (status, device_id))


def _device(r: tuple[object, ...]) -> Device:
    return Device(str(r[0]), str(r[1]), str(r[2]), str(r[3]), public_key(str(r[4])), str(r[5]), int(str(r[6])),
                  int(str(r[7])), int(str(r[8])), tuple(json.loads(str(r[9]))), str(r[10]), str(r[11]),
                  int(str(r[12])), None if r[13] is None else str(r[13]))  # fmt: skip
