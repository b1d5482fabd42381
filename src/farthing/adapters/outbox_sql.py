"""The outbox's events as services read them back: `farthing.services.payments.events.EventBodies`."""

from __future__ import annotations

from farthing.adapters.platform_db import PlatformDb


class OutboxTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def bodies(self, event_ids: list[str]) -> list[str]:
        if not event_ids:
            return []
        marks = ", ".join("?" * len(event_ids))
        rows = self.db.query(f"SELECT body FROM outbox WHERE event_id IN ({marks}) ORDER BY id", tuple(event_ids))
        return [str(body) for (body,) in rows]
