"""The ledger writer's wire: frames between API workers and the one process that owns the ledger.

A frame is a 4-byte big-endian length and a `marshal` payload of tuples, lists, ints, strings and None
only. marshal is the interpreter's own binary form: written and read at C speed, whatever an int's size
(ids and amounts are 128-bit), with no JSON per item and no new dependency. It is not meant to read
data from an adversary, so the socket lives in a folder only its owner may enter and the writer serves
peers of its own user only (`farthing.adapters.ledger_writer`).

What crosses the wire: accounts and transfers as the tuples of their fields (in `Account`'s and
`Transfer`'s field order), outbox events as tuples, results as their integer codes, balances as the
tuples of `AccountState`'s fields, and a refusal as the error's class, code and words.
"""

from __future__ import annotations

import marshal
import socket
import struct
from collections.abc import Sequence
from dataclasses import fields
from operator import attrgetter
from typing import Any

from farthing.domain.ledger_types import Account, AccountState, Transfer
from farthing.engine.store import OutboxEvent
from farthing.errors import AccountResult, BatchError, ErrorCode, FarthingError, StoreError, TransferResult

FRAME_MAX = 64 << 20
"""The largest frame either side accepts (a batch of 8,190 transfers with events is about 4 MB)."""
_LEN = struct.Struct(">I")

_ACCOUNT = attrgetter(*(f.name for f in fields(Account)))
_TRANSFER = attrgetter(*(f.name for f in fields(Transfer)))
_STATE = attrgetter(*(f.name for f in fields(AccountState)))
_ERRORS: dict[str, type[FarthingError]] = {c.__name__: c for c in (FarthingError, BatchError, StoreError)}


class WireError(ConnectionError):
    """The other side sent what is not a frame, or closed mid-frame."""


def send(sock: socket.socket, *messages: object) -> None:
    """The messages as frames, in one write (a sender with several answers ready sends them together)."""
    frames = []
    for message in messages:
        body = marshal.dumps(message)
        frames += (_LEN.pack(len(body)), body)
    sock.sendall(b"".join(frames))


class Reader:
    """The frames coming in on a socket, read ahead in chunks: one system call brings in every frame sent
    so far, rather than two calls a frame."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = bytearray()

    def recv(self) -> Any:
        """The next message, or None when the other side closed between frames."""
        buf = self._buf
        while True:
            if len(buf) >= _LEN.size:
                (size,) = _LEN.unpack_from(buf)
                if size > FRAME_MAX:
                    raise WireError(f"a frame of {size} bytes (the most is {FRAME_MAX})")
                end = _LEN.size + size
                if len(buf) >= end:
                    body = bytes(buf[_LEN.size : end])
                    del buf[:end]
                    try:
                        return marshal.loads(body)
                    except (EOFError, ValueError, TypeError) as exc:
                        raise WireError(f"a frame that is not a message ({exc})") from exc
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                if not buf:
                    return None
                raise WireError("the other side closed in the middle of a frame")
            buf += chunk


def events_out(kind: str, events: Sequence[Account] | Sequence[Transfer]) -> list[tuple[Any, ...]]:
    get = _ACCOUNT if kind == "accounts" else _TRANSFER
    return [get(e) for e in events]


def events_in(kind: str, rows: Sequence[Sequence[Any]]) -> list[Account] | list[Transfer]:
    """The events back as the domain's objects (which check their fields' types as they are made)."""
    if kind == "accounts":
        return [Account(*r) for r in rows]
    return [Transfer(*r) for r in rows]


def outbox_out(outbox: Sequence[tuple[int, OutboxEvent]]) -> list[tuple[int, str, str, str, str]]:
    return [(i, e.event_id, e.type, e.party_id, e.body) for i, e in outbox]


def outbox_in(rows: Sequence[Sequence[Any]]) -> list[tuple[int, OutboxEvent]]:
    return [(r[0], OutboxEvent(r[1], r[2], r[3], r[4])) for r in rows]


def results_in(kind: str, codes: Sequence[int]) -> list[AccountResult] | list[TransferResult]:
    if kind == "accounts":
        return [AccountResult(c) for c in codes]
    return [TransferResult(c) for c in codes]


def states_out(states: Sequence[AccountState]) -> list[tuple[Any, ...]]:
    return [_STATE(s) for s in states]


def states_in(rows: Sequence[Sequence[Any]]) -> list[AccountState]:
    return [AccountState(*r) for r in rows]


def error_out(exc: FarthingError) -> tuple[str, str, str]:
    return (type(exc).__name__ if type(exc).__name__ in _ERRORS else "FarthingError", exc.code.value, exc.detail)


def error_in(raw: Sequence[str]) -> FarthingError:
    kind, code, detail = raw
    try:
        known = ErrorCode(code)
    except ValueError:
        known = ErrorCode.engine_failed
    return _ERRORS.get(kind, FarthingError)(known, detail)
