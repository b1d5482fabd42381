"""The tamper-evident journal: a canonical encoding of each committed batch and a SHA-256 chain.

Each batch's record hashes the previous record's hash, a header (batch number, the range of
sequence numbers it holds, its time and event count) and the canonical bytes of every event in
sequence order. Anyone holding the rows can recompute the chain; a changed, deleted or inserted row
breaks it from that batch on. The encoding is fixed-width big-endian so that it never depends on
the store, the Python version or the platform.

Event encodings (after a one-byte tag):
- account  `A`: seq u64, id u128, user_data u128, ledger u32, code u16, flags u16
- transfer `T`: seq u64, id, debit_account_id, credit_account_id, amount, pending_id, user_data
  (u128 each), ledger u32, code u16, flags u16, timeout_s u32
- expiry   `X`: seq u64, pending_id u128
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from farthing.domain.ledger_types import AccountState, Transfer

GENESIS_HASH = bytes(32)
JOURNAL_VERSION = 1

_HEADER = struct.Struct("!BQQQQI")
_ACCOUNT = struct.Struct("!cQ16s16sIHH")
_TRANSFER = struct.Struct("!cQ16s16s16s16s16s16sIHHI")
_EXPIRY = struct.Struct("!cQ16s")


@dataclass(frozen=True, slots=True)
class JournalRecord:
    batch_no: int
    first_seq: int
    last_seq: int
    timestamp_ms: int
    event_count: int
    prev_hash: bytes
    hash: bytes


def u128(value: int) -> bytes:
    return value.to_bytes(16, "big")


def encode_account(seq: int, a: AccountState) -> bytes:
    return _ACCOUNT.pack(b"A", seq, u128(a.id), u128(a.user_data), a.ledger, a.code, a.flags)


def encode_transfer(seq: int, t: Transfer, _pack: Callable[..., bytes] = _TRANSFER.pack) -> bytes:
    return _pack(
        b"T",
        seq,
        t.id.to_bytes(16, "big"),
        t.debit_account_id.to_bytes(16, "big"),
        t.credit_account_id.to_bytes(16, "big"),
        t.amount.to_bytes(16, "big"),
        t.pending_id.to_bytes(16, "big"),
        t.user_data.to_bytes(16, "big"),
        t.ledger,
        t.code,
        t.flags,
        t.timeout_s,
    )


def encode_expiry(seq: int, pending_id: int) -> bytes:
    return _EXPIRY.pack(b"X", seq, u128(pending_id))


def seal(
    prev_hash: bytes, batch_no: int, first_seq: int, last_seq: int, timestamp_ms: int, events: Iterable[bytes]
) -> JournalRecord:
    """The journal record of a batch whose events, in sequence order, encode to `events`."""
    encoded = list(events)
    body = hashlib.sha256(b"".join(encoded)).digest()
    digest = hashlib.sha256(prev_hash)
    digest.update(_HEADER.pack(JOURNAL_VERSION, batch_no, first_seq, last_seq, timestamp_ms, len(encoded)))
    digest.update(body)
    return JournalRecord(batch_no, first_seq, last_seq, timestamp_ms, len(encoded), prev_hash, digest.digest())
