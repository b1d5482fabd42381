"""Row codecs shared by the stores: 128-bit integers as 16-byte big-endian strings.

Ids, user data and (on SQLite, whose INTEGER is 64-bit) amounts are unsigned 128-bit integers. As
16-byte big-endian strings they compare in numeric order, so indexes and `ORDER BY` stay meaningful.
Zero pending ids and user data are stored as NULL, which keeps the partial indexes small.
"""

from __future__ import annotations

from farthing.domain.ledger_types import AccountState, PendingInfo, PendingStatus, Transfer

_FROM = int.from_bytes


def b16(value: int) -> bytes:
    return value.to_bytes(16, "big")


def b16_or_none(value: int) -> bytes | None:
    return value.to_bytes(16, "big") if value else None


def int16(raw: bytes | None) -> int:
    return _FROM(raw, "big") if raw is not None else 0


def status_of(resolver_flags: int | None, expired: object) -> PendingStatus:
    """A pending transfer's status from the flags of the transfer that resolved it, or its expiry."""
    if resolver_flags is not None:
        return PendingStatus.posted if resolver_flags & 4 else PendingStatus.voided
    return PendingStatus.expired if expired else PendingStatus.open


def pending_info(t: Transfer, timestamp_ms: int, status: PendingStatus) -> PendingInfo:
    expires = timestamp_ms + t.timeout_s * 1000 if t.timeout_s else 0
    return PendingInfo(t, expires, status)


def account_from(
    id_: bytes, ledger: int, code: int, flags: int, user_data: bytes | None,
    dp: int, dpo: int, cp: int, cpo: int, seq: int, timestamp_ms: int,
) -> AccountState:  # fmt: skip
    return AccountState(int16(id_), ledger, code, flags, int16(user_data), dp, dpo, cp, cpo, seq, timestamp_ms)
