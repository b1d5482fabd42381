"""The `channels` table: `farthing.services.channels.ChannelRepository` in SQL."""

from __future__ import annotations

from farthing.adapters.platform_db import PlatformDb
from farthing.domain.channels.channel import Channel
from farthing.domain.channels.rules import Form

COLUMNS = (
    "id, customer, merchant, currency, form, deposit, expires_ms, dispute_ms, public_key, root, unit, length, "
    "created_ms, status, settle_after_ms, redemptions, redeemed, redeemed_sequence, redeemed_proof"
)


class ChannelTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def add(self, ch: Channel) -> None:
        self.db.query(
            f"INSERT INTO channels ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (ch.id, ch.customer, ch.merchant, ch.currency, ch.form.value, str(ch.deposit), ch.expires_ms,
             ch.dispute_ms, ch.public_key or None, ch.root or None, str(ch.unit), ch.length, ch.created_ms, ch.status,
             ch.settle_after_ms, ch.redemptions, str(ch.redeemed), ch.redeemed_sequence, ch.redeemed_proof or None),
        )  # fmt: skip

    def get(self, public_id: str) -> Channel | None:
        rows = self.db.query(f"SELECT {COLUMNS} FROM channels WHERE id = ?", (public_id,))
        return channel_of(rows[0]) if rows else None

    def of_party(self, party_id: str, status: str | None, limit: int) -> list[Channel]:
        where = "(customer = ? OR merchant = ?)" + (" AND status = ?" if status else "")
        params: tuple[object, ...] = (party_id, party_id) + ((status,) if status else ())
        rows = self.db.query(f"SELECT {COLUMNS} FROM channels WHERE {where} ORDER BY created_ms DESC LIMIT ?",
                             (*params, limit))  # fmt: skip
        return [channel_of(r) for r in rows]

    def update(self, ch: Channel) -> None:
        """Where its redemptions stand and its status; never back to fewer redemptions."""
        self.db.query(
            "UPDATE channels SET redemptions = ?, redeemed = ?, redeemed_sequence = ?, redeemed_proof = ?, "
            "status = ?, settle_after_ms = ? WHERE id = ? AND redemptions <= ?",
            (ch.redemptions, str(ch.redeemed), ch.redeemed_sequence, ch.redeemed_proof or None, ch.status,
             ch.settle_after_ms, ch.id, ch.redemptions),
        )  # fmt: skip

    def due_before(self, deadline_ms: int, merchant: str | None, limit: int) -> list[Channel]:
        due = ("((status = 'open' AND expires_ms + dispute_ms <= ?) OR (status = 'closing' AND settle_after_ms <= ?))"
               + (" AND merchant = ?" if merchant else ""))  # fmt: skip
        params: tuple[object, ...] = (deadline_ms, deadline_ms) + ((merchant,) if merchant else ())
        rows = self.db.query(
            f"SELECT {COLUMNS} FROM channels WHERE {due} ORDER BY expires_ms LIMIT ?", (*params, limit)
        )
        return sorted((channel_of(r) for r in rows), key=lambda c: c.deadline_ms)


def channel_of(row: tuple[object, ...]) -> Channel:
    (id_, customer, merchant, cur, form, deposit, expires, dispute, key, root, unit, length, created, status,
     settle, redemptions, redeemed, sequence, proof) = row  # fmt: skip
    return Channel(
        str(id_),
        str(customer),
        str(merchant),
        str(cur),
        Form(str(form)),
        int(str(deposit)),
        int(expires),
        int(dispute),
        bytes(key or b""),
        bytes(root or b""),
        int(str(unit)),  # type: ignore[call-overload, arg-type]
        int(length),
        int(created),
        str(status),
        None if settle is None else int(settle),  # type: ignore[call-overload]
        int(redemptions),
        int(str(redeemed)),
        int(sequence),
        bytes(proof or b""),
    )  # type: ignore[call-overload, arg-type]
