"""The `idempotency_records` table: `farthing.services.idempotency.AnswerRepository` in SQL."""

from __future__ import annotations

import json
from typing import Any

from farthing.adapters.platform_db import PlatformDb


class AnswerTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def find(self, owner: str, key: str, since_ms: int) -> tuple[bytes, int, dict[str, Any]] | None:
        rows = self.db.query(
            "SELECT request_sha256, status, body FROM idempotency_records WHERE owner = ? AND key = ? "
            "AND created_ms >= ?",
            (owner, key, since_ms),
        )
        return (bytes(rows[0][0]), int(rows[0][1]), json.loads(rows[0][2])) if rows else None

    def keep(
        self, owner: str, key: str, route: str, digest: bytes, status: int, body: dict[str, Any], now_ms: int
    ) -> None:
        self.db.query(
            "INSERT INTO idempotency_records (owner, key, route, request_sha256, status, body, created_ms) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (owner, key) DO UPDATE SET route = excluded.route, "
            "request_sha256 = excluded.request_sha256, status = excluded.status, body = excluded.body, "
            "created_ms = excluded.created_ms",
            (owner, key, route, digest, status, json.dumps(body), now_ms),
        )

    def forget_before(self, ms: int) -> None:
        self.db.query("DELETE FROM idempotency_records WHERE created_ms < ?", (ms,))
