"""The `personal_data` and `data_keys` tables: `farthing.services.personal_data.PersonalRepository` in SQL."""

from __future__ import annotations

from farthing.adapters.platform_db import PlatformDb


class PersonalTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def put_fields(self, subject: str, sealed: list[tuple[str, bytes]]) -> None:
        with self.db.transaction() as tx:
            tx.executemany(
                "INSERT INTO personal_data (subject, field, sealed) VALUES (?, ?, ?) "
                "ON CONFLICT (subject, field) DO UPDATE SET sealed = excluded.sealed",
                [(subject, field, value) for field, value in sealed],
            )

    def fields(self, subject: str) -> list[tuple[str, bytes]]:
        rows = self.db.query("SELECT field, sealed FROM personal_data WHERE subject = ?", (subject,))
        return [(str(field), bytes(value)) for field, value in rows]

    def data_key(self, subject: str) -> tuple[str, bytes] | None:
        rows = self.db.query("SELECT master_key_id, sealed FROM data_keys WHERE subject = ?", (subject,))
        return (str(rows[0][0]), bytes(rows[0][1])) if rows else None

    def add_data_key(self, subject: str, master_key_id: str, sealed: bytes, created_ms: int) -> None:
        self.db.query(
            "INSERT INTO data_keys (subject, master_key_id, sealed, created_ms) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (subject, master_key_id, sealed, created_ms),
        )

    def data_keys(self) -> list[tuple[str, str, bytes]]:
        rows = self.db.query("SELECT subject, master_key_id, sealed FROM data_keys")
        return [(str(subject), str(key_id), bytes(sealed)) for subject, key_id, sealed in rows]

    def rewrap(self, subject: str, old_master_key_id: str, master_key_id: str, sealed: bytes) -> None:
        self.db.query(
            "UPDATE data_keys SET master_key_id = ?, sealed = ? WHERE subject = ? AND master_key_id = ?",
            (master_key_id, sealed, subject, old_master_key_id),
        )

    def erased(self, subject: str) -> bool:
        rows = self.db.query("SELECT erased_ms FROM parties WHERE id = ?", (subject,))
        return bool(rows) and rows[0][0] is not None
