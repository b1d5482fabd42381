"""The ledger writer's frames: what goes in comes out (128-bit ints included), and what is not a frame is
refused as such rather than read as something else."""

from __future__ import annotations

import socket
import struct

import pytest

from farthing.adapters import ledger_wire as wire
from farthing.domain.ledger_types import Account, AccountState, Transfer
from farthing.engine.store import OutboxEvent
from farthing.errors import BatchError, ErrorCode, FarthingError, StoreError, TransferResult


def test_events_results_and_balances_cross_the_wire_unchanged() -> None:
    a, b = socket.socketpair()
    with a, b:
        transfers = [Transfer(2**128 - 2, 1, 2**127, 2**100 + 1, 840, 7, flags=2, pending_id=0, user_data=3,
                              timeout_s=60)]  # fmt: skip
        accounts = [Account(5, 978, 1, flags=2, user_data=2**90)]
        outbox = [(0, OutboxEvent("evt_é", "payment.succeeded", "mer_1", '{"a": "ü"}'))]
        states = [AccountState(5, 978, 1, 2, 0, 1, 2**120, 3, 4, seq=9, timestamp_ms=1_700_000_000_000)]
        wire.send(a, (1, wire.events_out("transfers", transfers), wire.events_out("accounts", accounts),
                      wire.outbox_out(outbox), wire.states_out(states), [int(TransferResult.exists)]))  # fmt: skip
        _, t, acc, out, st, codes = wire.Reader(b).recv()
        assert wire.events_in("transfers", t) == transfers
        assert wire.events_in("accounts", acc) == accounts
        assert wire.outbox_in(out) == outbox
        assert wire.states_in(st) == states
        assert wire.results_in("transfers", codes) == [TransferResult.exists]


def test_a_closed_connection_between_frames_is_none_and_mid_frame_an_error() -> None:
    a, b = socket.socketpair()
    a.close()
    assert wire.Reader(b).recv() is None
    b.close()
    a, b = socket.socketpair()
    a.sendall(struct.pack(">I", 100) + b"\x00" * 10)
    a.close()
    with pytest.raises(wire.WireError, match="middle of a frame"):
        wire.Reader(b).recv()
    b.close()


def test_a_frame_too_large_or_not_a_message_is_refused() -> None:
    a, b = socket.socketpair()
    with a, b:
        a.sendall(struct.pack(">I", wire.FRAME_MAX + 1))
        with pytest.raises(wire.WireError, match="a frame of"):
            wire.Reader(b).recv()
    a, b = socket.socketpair()
    with a, b:
        a.sendall(struct.pack(">I", 3) + b"\xff\xfe\xfd")
        with pytest.raises(wire.WireError, match="not a message"):
            wire.Reader(b).recv()


def test_errors_keep_their_kind_and_code_and_an_unknown_code_is_a_failure_not_a_guess() -> None:
    told = wire.error_in(wire.error_out(StoreError(ErrorCode.outcome_unknown, "retry with the same key")))
    assert type(told) is StoreError and told.code is ErrorCode.outcome_unknown
    assert told.detail == "retry with the same key"
    assert type(wire.error_in(wire.error_out(BatchError(ErrorCode.batch_too_large, "x")))) is BatchError
    odd = wire.error_in(("SomethingElse", "no_such_code", "words"))
    assert type(odd) is FarthingError and odd.code is ErrorCode.engine_failed


def test_frames_sent_together_are_read_one_at_a_time() -> None:
    a, b = socket.socketpair()
    with a, b:
        wire.send(a, (1, "first"), (2, [2**70]), (3, None))
        frames = wire.Reader(b)
        assert [frames.recv(), frames.recv(), frames.recv()] == [(1, "first"), (2, [2**70]), (3, None)]
        a.close()
        assert frames.recv() is None
