"""The `api_keys` table: `farthing.services.keys.KeyRepository` in SQL."""

from __future__ import annotations

from typing import Any

from farthing.adapters.platform_db import PlatformDb
from farthing.domain.principals import StoredKey

_COLUMNS = "id, kind, party_id, mode, scopes, created_ms, prefix, revoked_ms, last_used_ms, expires_ms"


def _key(row: tuple[Any, ...]) -> StoredKey:
    return StoredKey(*row)


class KeyTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def add(self, key: StoredKey, digest: bytes) -> None:
        self.db.query(
            "INSERT INTO api_keys (id, secret_sha256, kind, party_id, mode, scopes, created_ms, prefix) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (key.id, digest, key.kind, key.party_id, key.mode, key.scopes, key.created_ms, key.prefix),
        )

    def get(self, key_id: str) -> StoredKey | None:
        rows = self.db.query(f"SELECT {_COLUMNS} FROM api_keys WHERE id = ?", (key_id,))
        return _key(rows[0]) if rows else None

    def of_party(self, party_id: str | None) -> list[StoredKey]:
        if party_id is None:
            rows = self.db.query(f"SELECT {_COLUMNS} FROM api_keys WHERE kind = 'operator' ORDER BY created_ms")
        else:
            rows = self.db.query(f"SELECT {_COLUMNS} FROM api_keys WHERE party_id = ? ORDER BY created_ms", (party_id,))
        return [_key(r) for r in rows]

    def by_digest(self, digest: bytes, now_ms: int) -> StoredKey | None:
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM api_keys WHERE secret_sha256 = ? AND revoked_ms IS NULL "
            "AND (expires_ms IS NULL OR expires_ms > ?)",
            (digest, now_ms),
        )
        return _key(rows[0]) if rows else None

    def expire(self, key_id: str, ends_ms: int) -> None:
        self.db.query(
            "UPDATE api_keys SET expires_ms = ? WHERE id = ? AND (expires_ms IS NULL OR expires_ms > ?)",
            (ends_ms, key_id, ends_ms),
        )

    def revoke(self, key_id: str, now_ms: int) -> None:
        self.db.query("UPDATE api_keys SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL", (now_ms, key_id))

    def touch(self, key_id: str, now_ms: int) -> None:
        self.db.query("UPDATE api_keys SET last_used_ms = ? WHERE id = ?", (now_ms, key_id))

    def has_operator_key(self) -> bool:
        return bool(self.db.query("SELECT 1 FROM api_keys WHERE kind = 'operator' AND revoked_ms IS NULL LIMIT 1"))
