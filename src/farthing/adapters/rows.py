"""Row codecs shared by the stores for unsigned 128-bit integers (ids, user data, amounts).

PostgreSQL keeps ids as 16-byte big-endian `bytea` (numeric order under byte comparison) and amounts
as NUMERIC(39,0). SQLite's INTEGER is 64-bit, so there a u128 is stored as an INTEGER when it is
below 2^63 and as a 16-byte big-endian BLOB otherwise (`sql_u128`). The encoding is one-to-one, and
SQLite orders every INTEGER before every BLOB, so indexes, uniqueness and `ORDER BY` stay numeric;
the common small amounts stay cheap to write and readable in the sqlite3 shell.
Zero pending ids and user data are stored as NULL, which keeps the partial indexes small.
"""

from __future__ import annotations

from farthing.domain.ledger_types import PendingInfo, PendingStatus, Transfer

_FROM = int.from_bytes


_I63 = 1 << 63


def sql_u128(value: int) -> int | bytes:
    """SQLite's form of a u128: the int itself below 2^63, else 16 big-endian bytes."""
    return value if value < _I63 else value.to_bytes(16, "big")


def sql_u128_or_none(value: int) -> int | bytes | None:
    if not value:
        return None
    return value if value < _I63 else value.to_bytes(16, "big")


def from_sql_u128(raw: int | bytes | None) -> int:
    if raw is None:
        return 0
    return raw if type(raw) is int else _FROM(raw, "big")  # type: ignore[arg-type]


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
