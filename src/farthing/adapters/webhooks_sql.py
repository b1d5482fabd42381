"""Webhook endpoints, their cursors into the outbox, redelivery requests and the attempt log:
`farthing.services.webhooks.WebhookRepository` in SQL."""

from __future__ import annotations

from typing import Any

from farthing.adapters.platform_db import PlatformDb
from farthing.domain.webhooks import Attempt, Endpoint, Redelivery

_ENDPOINT = "e.id, e.party_id, e.url, e.secret, e.cursor, e.attempt, e.attempts_max, e.events"
_LIVE = "e.deleted_ms IS NULL"


def _endpoint(r: tuple[Any, ...]) -> Endpoint:
    events = tuple(t for t in str(r[7]).split(",") if t)
    return Endpoint(str(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4]), int(r[5]), int(r[6]), events)


class WebhookTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def outbox_head(self) -> int:
        return int(self.db.query("SELECT coalesce(max(id), 0) FROM outbox")[0][0])

    def add(self, endpoint: Endpoint, created_ms: int) -> None:
        e = endpoint
        self.db.query(
            "INSERT INTO webhook_endpoints (id, party_id, url, secret, cursor, attempts_max, created_ms, events) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (e.id, e.party_id, e.url, e.secret, e.cursor, e.attempts_max, created_ms, ",".join(e.events)),
        )

    def owner(self, endpoint_id: str) -> str | None:
        rows = self.db.query(f"SELECT party_id FROM webhook_endpoints e WHERE id = ? AND {_LIVE}", (endpoint_id,))
        return str(rows[0][0]) if rows else None

    def of_party(self, party_id: str) -> list[Endpoint]:
        rows = self.db.query(
            f"SELECT {_ENDPOINT} FROM webhook_endpoints e WHERE e.party_id = ? AND {_LIVE} ORDER BY e.created_ms, e.id",
            (party_id,),
        )
        return [_endpoint(r) for r in rows]

    def change(self, endpoint_id: str, url: str, events: tuple[str, ...]) -> None:
        self.db.query(
            "UPDATE webhook_endpoints SET url = ?, events = ? WHERE id = ?", (url, ",".join(events), endpoint_id)
        )

    def delete(self, endpoint_id: str, now_ms: int) -> None:
        self.db.query("UPDATE webhook_endpoints SET deleted_ms = ? WHERE id = ?", (now_ms, endpoint_id))

    def attempts(self, endpoint_id: str) -> list[Attempt]:
        rows = self.db.query(
            "SELECT event_id, attempt, status_code, error, at_ms, manual FROM webhook_attempts WHERE endpoint_id = ? "
            "ORDER BY id",
            (endpoint_id,),
        )
        return [Attempt(*row[:5], manual=bool(row[5])) for row in rows]

    def has_event(self, event_id: str, party_id: str) -> bool:
        return bool(self.db.query("SELECT 1 FROM outbox WHERE event_id = ? AND party_id = ?", (event_id, party_id)))

    def request_redelivery(self, endpoint_id: str, event_id: str, now_ms: int) -> None:
        self.db.query(
            "INSERT INTO webhook_redeliveries (endpoint_id, event_id, requested_ms) VALUES (?, ?, ?)",
            (endpoint_id, event_id, now_ms),
        )

    def due(self, now_ms: int) -> list[Endpoint]:
        rows = self.db.query(
            f"SELECT {_ENDPOINT} FROM webhook_endpoints e WHERE e.next_attempt_ms <= ? AND {_LIVE}", (now_ms,)
        )
        return [_endpoint(r) for r in rows]

    def events_after(self, party_id: str, cursor: int, limit: int) -> list[tuple[int, str, str, str]]:
        rows = self.db.query(
            "SELECT id, event_id, type, body FROM outbox WHERE party_id = ? AND id > ? ORDER BY id LIMIT ?",
            (party_id, cursor, limit),
        )
        return [(int(i), str(e), str(t), str(b)) for i, e, t, b in rows]

    def back_off(self, endpoint_id: str, attempt: int, next_attempt_ms: int) -> None:
        self.db.query(
            "UPDATE webhook_endpoints SET attempt = ?, next_attempt_ms = ? WHERE id = ?",
            (attempt, next_attempt_ms, endpoint_id),
        )

    def advance(self, endpoint_id: str, outbox_id: int) -> None:
        self.db.query(
            "UPDATE webhook_endpoints SET cursor = ?, attempt = 0, next_attempt_ms = 0 WHERE id = ?",
            (outbox_id, endpoint_id),
        )

    def redeliveries(self, limit: int) -> list[Redelivery]:
        rows = self.db.query(
            f"SELECT r.id, {_ENDPOINT}, o.event_id, o.body FROM webhook_redeliveries r "
            "JOIN webhook_endpoints e ON e.id = r.endpoint_id JOIN outbox o ON o.event_id = r.event_id "
            f"WHERE r.attempted_ms IS NULL AND {_LIVE} ORDER BY r.id LIMIT ?",
            (limit,),
        )
        return [Redelivery(int(r[0]), _endpoint(r[1:9]), str(r[9]), str(r[10])) for r in rows]

    def redelivered(self, redelivery_id: int, now_ms: int) -> None:
        self.db.query("UPDATE webhook_redeliveries SET attempted_ms = ? WHERE id = ?", (now_ms, redelivery_id))

    def log(self, endpoint_id: str, a: Attempt) -> None:
        self.db.query(
            "INSERT INTO webhook_attempts (endpoint_id, event_id, attempt, status_code, error, at_ms, manual) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (endpoint_id, a.event_id, a.attempt, a.status_code, a.error, a.at_ms, int(a.manual)),
        )

    def backlog(self) -> int:
        rows = self.db.query(
            "SELECT count(*) FROM webhook_endpoints e JOIN outbox o ON o.party_id = e.party_id AND o.id > e.cursor "
            f"WHERE {_LIVE}"
        )
        return int(rows[0][0])
