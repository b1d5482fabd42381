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
from collections.abc import Iterable
from dataclasses import dataclass

from farthing.domain.ledger_types import AccountState, Transfer

GENESIS_HASH = bytes(32)
JOURNAL_VERSION = 1

_HEADER = struct.Struct("!BQQQQI")
_ACCOUNT_TAIL = struct.Struct("!IHH")
_TRANSFER_TAIL = struct.Struct("!IHHI")
_SEQ = struct.Struct("!Q")


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
    return b"".join(
        (b"A", _SEQ.pack(seq), u128(a.id), u128(a.user_data), _ACCOUNT_TAIL.pack(a.ledger, a.code, a.flags))
    )


def encode_transfer(seq: int, t: Transfer) -> bytes:
    return b"".join(
        (
            b"T",
            _SEQ.pack(seq),
            t.id.to_bytes(16, "big"),
            t.debit_account_id.to_bytes(16, "big"),
            t.credit_account_id.to_bytes(16, "big"),
            t.amount.to_bytes(16, "big"),
            t.pending_id.to_bytes(16, "big"),
            t.user_data.to_bytes(16, "big"),
            _TRANSFER_TAIL.pack(t.ledger, t.code, t.flags, t.timeout_s),
        )
    )


def encode_expiry(seq: int, pending_id: int) -> bytes:
    return b"X" + _SEQ.pack(seq) + u128(pending_id)


def seal(
    prev_hash: bytes, batch_no: int, first_seq: int, last_seq: int, timestamp_ms: int, events: Iterable[bytes]
) -> JournalRecord:
    """The journal record of a batch whose events, in sequence order, encode to `events`."""
    digest = hashlib.sha256(prev_hash)
    count = 0
    body = hashlib.sha256()
    for event in events:
        body.update(event)
        count += 1
    digest.update(_HEADER.pack(JOURNAL_VERSION, batch_no, first_seq, last_seq, timestamp_ms, count))
    digest.update(body.digest())
    return JournalRecord(batch_no, first_seq, last_seq, timestamp_ms, count, prev_hash, digest.digest())
