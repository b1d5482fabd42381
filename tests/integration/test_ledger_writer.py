"""The ledger writer over its socket (`farthing serve --workers` on SQLite): a worker's requests apply as
they would in process, a refusal is told with its code, a payment in flight counts once in the worker's
policy counters, and when the writer goes away the worker says so (nothing sent: `ledger_unavailable`;
sent and not answered: `outcome_unknown`) and carries on once it is back."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from test_counts_in_flight import _wait_for
from test_engine import Clock, GatedStore

from farthing.adapters.open_store import open_store
from farthing.domain.ledger_types import Account, AccountFlags, Transfer
from farthing.engine.committer import GroupCommitter
from farthing.engine.engine import LedgerEngine
from farthing.engine.store import OutboxEvent
from farthing.errors import BatchError, ErrorCode, FarthingError, StoreError, TransferResult
from farthing.services.counts_in_flight import CountsInFlight
from farthing.services.ledger_remote import RemoteLedger
from farthing.services.ledger_writer import WriterServer

L = 840
WALLET = int(AccountFlags.debits_must_not_exceed_credits)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/ledger.db"


@pytest.fixture
def socket_path(tmp_path: Path) -> str:
    return str(tmp_path / "writer" / "ledger.sock")


@pytest.fixture
def served(url: str, socket_path: str) -> Iterator[tuple[GroupCommitter, WriterServer]]:
    ledger = GroupCommitter(LedgerEngine(open_store(url), Clock()), wait_ms=0)
    server = WriterServer(ledger, socket_path)
    yield ledger, server
    server.close()
    ledger.close()


class Gated:
    """A writer on a store whose next write the test holds (`store.armed`, then `store.gate`), and a worker."""

    def __init__(self, url: str, socket_path: str) -> None:
        self.store = GatedStore(open_store(url))
        self.ledger = GroupCommitter(LedgerEngine(self.store, Clock()), wait_ms=0)  # type: ignore[arg-type]
        self.path = socket_path
        self.server = WriterServer(self.ledger, socket_path)
        self.remote = RemoteLedger(socket_path, open_store(url))

    def submit_held(self, transfer: Transfer) -> Future[Any]:
        """`transfer` sent, validated by the writer, its write held."""
        self.store.armed = True
        answer = self.remote.submit("transfers", [transfer])
        _wait_for(lambda: not self.store.armed, "the batch never reached the store")
        return answer


@pytest.fixture
def gated(url: str, socket_path: str) -> Iterator[Gated]:
    g = Gated(url, socket_path)
    yield g
    g.store.gate.set()
    g.remote.close()
    g.server.close()
    g.ledger.close()


def test_requests_sent_to_the_writer_apply_as_in_process(
    served: tuple[GroupCommitter, WriterServer], url: str, socket_path: str
) -> None:
    ledger, _ = served
    remote = RemoteLedger(socket_path, open_store(url))
    try:
        big = 2**127 + 5  # ids and amounts are 128-bit on the wire
        assert remote.create_accounts([Account(1, L, 1), Account(big, L, 1, flags=WALLET)]) == [0, 0]
        event = OutboxEvent("evt_1", "payment.succeeded", "mer_1", '{"amount": "0.01"}')
        answer = remote.submit("transfers", [Transfer(10, 1, big, 2**100, L, 1)], [(0, event)])
        assert answer.result(10) == [TransferResult.ok]
        again = remote.create_transfers([Transfer(10, 1, big, 2**100, L, 1), Transfer(11, big, 1, 2**101, L, 1)])
        assert again == [TransferResult.exists, TransferResult.exceeds_credits]
        assert {a.id: a.credits_posted for a in remote.accounts([big])} == {big: 2**100}
        assert remote.balances_now([1])[1].debits_posted == 2**100
        assert [a.credits_posted for a in ledger.accounts([big])] == [2**100]  # the writer's own memory
        with pytest.raises(BatchError) as empty:  # refused before anything is sent, as in process
            remote.create_transfers([])
        assert empty.value.code is ErrorCode.batch_must_not_be_empty
        remote.drain()
        kept = open_store(url)
        try:
            assert any(e.transfer is not None and e.transfer.id == 10 for e in kept.events())
        finally:
            kept.close()
    finally:
        remote.close()


def test_a_payment_counts_once_while_the_writer_writes_its_batch(gated: Gated) -> None:
    counts = CountsInFlight(gated.remote)  # type: ignore[arg-type]
    gated.remote.create_accounts([Account(1, L, 1), Account(3, L, 1)])
    counts.add([(10, 3, 100)])  # decided here: counted before it is sent
    assert counts.spent([3]) == {3: 100}
    answer = gated.submit_held(Transfer(10, 1, 3, 100, L, 1))
    assert counts.spent([3]) == {3: 100}  # validated in the writer, not yet written: once, not twice
    assert not counts  # the writer said it holds it: no longer in flight here
    gated.store.gate.set()
    assert answer.result(30) == [TransferResult.ok]
    counts.settled([(10, 3, 100)])
    assert counts.spent([3]) == {3: 100}


def test_the_writer_gone_is_said_and_the_worker_carries_on_when_it_is_back(gated: Gated) -> None:
    remote = gated.remote
    remote.create_accounts([Account(1, L, 1), Account(2, L, 1)])
    sent = gated.submit_held(Transfer(20, 1, 2, 5, L, 1))
    gated.server.close()  # as when the writer's process ends: its connections end with it
    with pytest.raises(StoreError) as unknown:
        sent.result(10)
    assert unknown.value.code is ErrorCode.outcome_unknown
    with pytest.raises(FarthingError) as away:
        remote.create_transfers([Transfer(21, 1, 2, 5, L, 1)])
    assert away.value.code is ErrorCode.ledger_unavailable
    gated.store.gate.set()
    gated.ledger.drain()
    gated.server = WriterServer(gated.ledger, gated.path)  # back
    # The retry of the unknown one is answered `exists` (it was applied); the new one applies.
    retried = remote.create_transfers([Transfer(20, 1, 2, 5, L, 1), Transfer(21, 1, 2, 5, L, 1)])
    assert retried == [TransferResult.exists, TransferResult.ok]
    assert remote.accounts([2])[0].credits_posted == 10


def test_many_threads_of_two_workers_apply_each_request_once(
    served: tuple[GroupCommitter, WriterServer], url: str, socket_path: str
) -> None:
    workers = [RemoteLedger(socket_path, open_store(url)) for _ in range(2)]
    try:
        workers[0].create_accounts([Account(1, L, 1), Account(2, L, 1)])

        def pay(worker: RemoteLedger, start: int) -> None:
            for i in range(start, start + 200, 4):
                assert worker.create_transfers([Transfer(i + k, 1, 2, 1, L, 1) for k in range(4)]) == [0] * 4

        threads = [threading.Thread(target=pay, args=(workers[n % 2], 1_000 + n * 200)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert workers[1].accounts([2])[0].credits_posted == 1_200
    finally:
        for w in workers:
            w.close()


def test_the_writer_process_stops_by_itself_when_its_supervisor_is_gone(url: str, socket_path: str) -> None:
    import multiprocessing
    import time

    from farthing.services import ledger_writer

    receive, send = multiprocessing.get_context("spawn").Pipe(duplex=False)
    send.close()  # as when the supervisor dies: its end of the pipe closes with it
    started = time.monotonic()
    ledger_writer.run(receive, url, socket_path)
    assert time.monotonic() - started < 10
    assert not Path(socket_path).exists(), "the socket is taken away with the writer"


def test_a_platform_on_the_writer_pays_and_its_readiness_names_the_writer(
    served: tuple[GroupCommitter, WriterServer], url: str, socket_path: str
) -> None:
    from farthing.bootstrap import open_platform
    from farthing.services.payments.model import PaymentItem
    from funded import merchant_and_payer

    ledger, server = served
    platform = open_platform(url, ledger_at=socket_path)
    try:
        platform.webhooks.start()
        merchant, payer = merchant_and_payer(platform)
        platform.payments.pay(payer, PaymentItem.of(merchant, "0.25", "USD"), None)
        assert ledger.engine.batches_committed >= 3, "the writer's engine committed them, not the platform's"
        seen = platform.ledger.engine  # what /metrics reads: the writer's figures
        assert seen.batches_committed == ledger.engine.batches_committed
        assert seen.writes.events.cumulative() == ledger.engine.writes.events.cumulative()
        assert platform.health.readiness().checks["ledger_writer"] == {"ok": True}
        server.close()
        gone = platform.health.readiness()
        assert not gone.ready and gone.checks["ledger_writer"] == {"ok": False}
        server = WriterServer(ledger, socket_path)
        assert platform.health.readiness().checks["ledger_writer"] == {"ok": True}
    finally:
        platform.close()
        server.close()


def test_rows_that_make_no_events_are_refused_and_the_connection_goes_on(
    served: tuple[GroupCommitter, WriterServer], socket_path: str
) -> None:
    import socket

    from farthing.adapters import ledger_wire as wire

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(socket_path)
        frames = wire.Reader(sock)
        good = wire.events_out("accounts", [Account(1, L, 1)])
        wire.send(sock, (1, "submit", "transfers", [("not", "a", "transfer")], [], []))
        wire.send(sock, (2, "submit", "transfers", [], [(0, "evt_only")], []))  # an outbox row cut short
        wire.send(sock, (3, "submit", "accounts", good, [], []))
        answers = {m[0]: m for m in (frames.recv(), frames.recv(), frames.recv())}
        assert answers[1][1:] == ("err", ("BatchError", "event_type_invalid", answers[1][2][2]))
        assert answers[2][1] == "err" and answers[2][2][1] == "event_type_invalid"
        assert answers[3][1:] == ("ok", [0])
