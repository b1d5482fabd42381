"""The engine on real stores (SQLite and PostgreSQL): commit, recovery, idempotency, group commit."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator

import pytest

from farthing import limits
from farthing.adapters.open_store import open_store
from farthing.domain.ledger_types import Account, AccountFlags, Transfer, TransferFlags
from farthing.engine.committer import GroupCommitter
from farthing.engine.engine import LedgerEngine, Request
from farthing.errors import AccountResult, BatchError, ErrorCode, StoreError, TransferResult
from farthing.services.audit import verify

R = TransferResult
L = 840
WALLET = int(AccountFlags.debits_must_not_exceed_credits)


class Clock:
    def __init__(self) -> None:
        self.ms = 1_800_000_000_000

    def __call__(self) -> int:
        return self.ms


def start(url: str, clock: Clock | None = None) -> GroupCommitter:
    return GroupCommitter(LedgerEngine(open_store(url), clock or Clock()), wait_ms=1.0)


@pytest.fixture
def ledger(store_url: str) -> Iterator[GroupCommitter]:
    lg = start(store_url)
    assert (
        lg.create_accounts([Account(1, L, 1), Account(2, L, 1, flags=WALLET), Account(3, L, 1, flags=WALLET)])
        == [AccountResult.ok] * 3
    )
    assert lg.create_transfers([Transfer(100, 1, 2, 1_000_000, L, 1)]) == [R.ok]
    yield lg
    lg.close()


def balances(lg: GroupCommitter) -> dict[int, tuple[int, int, int, int]]:
    return {a.id: a.balances() for a in lg.accounts()}


def test_committed_state_survives_a_restart_and_ids_stay_unique(ledger: GroupCommitter, store_url: str) -> None:
    assert ledger.create_transfers([Transfer(101, 2, 3, 250, L, 1), Transfer(102, 2, 3, 5, L, 1)]) == [
        R.ok,
        R.ok,
    ]
    before = balances(ledger)
    ledger.close()
    again = start(store_url)
    try:
        assert balances(again) == before
        assert again.create_transfers([Transfer(101, 2, 3, 250, L, 1)]) == [R.exists]
        assert again.create_transfers([Transfer(102, 2, 3, 6, L, 1)]) == [R.exists_with_different_amount]
        assert balances(again) == before
        assert verify(again.engine.store).ok
    finally:
        again.close()


def test_bad_batches_are_refused_whole_and_change_nothing(ledger: GroupCommitter) -> None:
    head = ledger.engine.head
    with pytest.raises(BatchError) as info:
        ledger.create_transfers([])
    assert info.value.code is ErrorCode.batch_must_not_be_empty
    with pytest.raises(BatchError) as info:
        ledger.create_transfers([Transfer(i + 1_000, 2, 3, 1, L, 1) for i in range(limits.events_per_batch_max + 1)])
    assert info.value.code is ErrorCode.batch_too_large
    with pytest.raises(BatchError) as info:
        ledger.create_transfers([Account(5, L, 1)])  # type: ignore[list-item]
    assert info.value.code is ErrorCode.event_type_invalid
    with pytest.raises(BatchError):
        ledger.create_transfers("not a batch")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Transfer(9, 2, 3, 1.5, L, 1)  # type: ignore[arg-type]
    assert ledger.engine.head == head


def test_bad_events_get_their_codes_and_change_nothing(ledger: GroupCommitter) -> None:
    before = balances(ledger)
    head = ledger.engine.head
    results = ledger.create_transfers(
        [
            Transfer(200, 2, 3, -1, L, 1),
            Transfer(201, 2, 3, 0, L, 1),
            Transfer(202, 2, 3, 2**127, L, 1),
            Transfer(203, 2, 99, 1, L, 1),
            Transfer(204, 2, 3, 1, 978, 1),
            Transfer(205, 2, 3, 10**9, L, 1),
            Transfer(206, 2, 3, 1, L, 1, flags=int(TransferFlags.linked)),
        ]
    )
    assert results == [
        R.amount_must_be_positive,
        R.amount_must_be_positive,
        R.amount_exceeds_max,
        R.credit_account_not_found,
        R.transfer_must_have_the_same_ledger_as_accounts,
        R.exceeds_credits,
        R.linked_event_chain_open,
    ]
    assert balances(ledger) == before
    assert ledger.engine.head == head  # nothing to write: no batch, no journal record


def test_amounts_up_to_the_128_bit_maximum_round_trip(store_url: str) -> None:
    lg = start(store_url)
    big = limits.amount_max
    try:
        assert lg.create_accounts([Account(1, L, 1), Account(2, L, 1, user_data=2**128 - 2)]) == [AccountResult.ok] * 2
        assert lg.create_transfers([Transfer(2**128 - 2, 1, 2, big, L, 1, user_data=2**100)]) == [R.ok]
        assert lg.create_transfers([Transfer(5, 1, 2, 1, L, 1)]) == [R.overflows_debits_posted]
    finally:
        lg.close()
    again = start(store_url)
    try:
        accounts = {a.id: a for a in again.accounts()}
        assert accounts[2].credits_posted == big and accounts[1].debits_posted == big
        assert accounts[2].user_data == 2**128 - 2
        assert again.create_transfers([Transfer(2**128 - 2, 1, 2, big, L, 1, user_data=2**100)]) == [R.exists]
        assert verify(again.engine.store).ok
    finally:
        again.close()


def test_concurrent_callers_share_commits(ledger: GroupCommitter) -> None:
    threads, per_thread = 8, 40
    errors: list[object] = []

    def pay(base: int) -> None:
        for i in range(per_thread):
            res = ledger.create_transfers([Transfer(base + i, 2, 3, 1, L, 1)])
            if res != [R.ok]:
                errors.append(res)

    batches_before = ledger.engine.batches_committed
    pool = [threading.Thread(target=pay, args=(10_000 * (k + 1),)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []
    assert balances(ledger)[3] == (0, 0, 0, threads * per_thread)
    batches = ledger.engine.batches_committed - batches_before
    # Eight callers, each waiting for its answer: a batch holds at most eight requests, so at least 40
    # batches. Measured 40-80 (two stores, a busy machine); coalescing that held two requests a batch on
    # average at least is what the group committer is for (320, one a batch, would mean none).
    assert batches <= threads * per_thread // 2, f"{threads * per_thread} requests took {batches} batches"


def test_asyncio_callers(ledger: GroupCommitter) -> None:
    async def main() -> list[list[TransferResult]]:
        return await asyncio.gather(
            *(ledger.create_transfers_async([Transfer(50_000 + i, 2, 3, 2, L, 1)]) for i in range(100))
        )

    assert asyncio.run(main()) == [[R.ok]] * 100
    assert balances(ledger)[3] == (0, 0, 0, 200)


def test_the_same_payment_sent_by_many_callers_at_once_applies_once(ledger: GroupCommitter) -> None:
    results: list[list[TransferResult]] = []
    barrier = threading.Barrier(20)

    def send() -> None:
        barrier.wait()
        results.append(ledger.create_transfers([Transfer(777, 2, 3, 40, L, 1)]))

    pool = [threading.Thread(target=send) for _ in range(20)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert sorted(r[0] for r in results) == [R.ok] + [R.exists] * 19
    assert balances(ledger)[3] == (0, 0, 0, 40)


def test_pending_transfers_expire_across_a_restart(store_url: str) -> None:
    clock = Clock()
    lg = start(store_url, clock)
    pending = int(TransferFlags.pending)
    try:
        lg.create_accounts([Account(1, L, 1), Account(2, L, 1, flags=WALLET), Account(3, L, 1)])
        lg.create_transfers([Transfer(10, 1, 2, 100, L, 1)])
        assert lg.create_transfers(
            [
                Transfer(11, 2, 3, 60, L, 1, flags=pending, timeout_s=5),
                Transfer(12, 2, 3, 30, L, 1, flags=pending),
            ]
        ) == [R.ok, R.ok]
        assert balances(lg)[2] == (90, 0, 0, 100)
    finally:
        lg.close()
    clock.ms += 5_000
    again = start(store_url, clock)
    try:
        assert balances(again)[2] == (90, 0, 0, 100)  # recovery alone writes nothing
        post = int(TransferFlags.post_pending)
        assert again.create_transfers([Transfer(13, 0, 0, 0, 0, 0, flags=post, pending_id=11)]) == [
            R.pending_transfer_expired
        ]
        assert again.create_transfers([Transfer(14, 0, 0, 20, 0, 0, flags=post, pending_id=12)]) == [R.ok]
        assert balances(again)[2] == (0, 20, 0, 100)
        assert again.create_transfers([Transfer(15, 0, 0, 0, 0, 0, flags=post, pending_id=12)]) == [
            R.pending_transfer_already_posted
        ]
        report = verify(again.engine.store)
        assert report.ok, report.problems
    finally:
        again.close()


def test_two_engines_on_one_database_take_turns_and_lose_nothing(store_url: str) -> None:
    a = start(store_url)
    a.create_accounts([Account(1, L, 1), Account(2, L, 1, flags=WALLET), Account(3, L, 1)])
    a.create_transfers([Transfer(1, 1, 2, 1_000, L, 1)])
    b = start(store_url)
    try:
        results: list[TransferResult] = []
        for i in range(30):
            engine = a if i % 2 == 0 else b
            results += engine.create_transfers([Transfer(100 + i, 2, 3, 10, L, 1), Transfer(100 + i, 2, 3, 10, L, 1)])
        assert results == [R.ok, R.exists] * 30
        # Each engine saw the other's commits before validating: the wallet's limit held across both.
        assert b.create_transfers([Transfer(999, 2, 3, 701, L, 1)]) == [R.exceeds_credits]
        assert a.create_transfers([Transfer(998, 2, 3, 700, L, 1)]) == [R.ok]
        assert b.create_transfers([Transfer(998, 2, 3, 700, L, 1)]) == [R.exists]
        assert {x.id: x.balances() for x in b.accounts()}[2] == (0, 1_000, 0, 1_000)
        # Each turn found the head moved by the other engine and validated again on the locked path.
        assert a.head_moved_retries + b.head_moved_retries >= 30
        report = verify(b.engine.store)
        assert report.ok, report.problems
    finally:
        a.close()
        b.close()


def test_a_refusal_is_judged_on_what_every_engine_committed(store_url: str) -> None:
    """An engine whose memory lacks another's commits must not refuse on that memory: a hold made by one
    server process is voided by the other, money paid in by one is spent through the other."""
    a = start(store_url)
    a.create_accounts([Account(1, L, 1), Account(2, L, 1, flags=WALLET), Account(3, L, 1)])
    b = start(store_url)  # loaded now: what `a` commits next is not in its memory
    try:
        pending, void = int(TransferFlags.pending), int(TransferFlags.void_pending)
        assert a.create_transfers([Transfer(1, 1, 2, 100, L, 1), Transfer(2, 2, 3, 60, L, 1, flags=pending)]) == [
            R.ok, R.ok]  # fmt: skip
        assert b.create_transfers([Transfer(3, 0, 0, 0, 0, 0, flags=void, pending_id=2)]) == [R.ok]
        assert a.create_transfers([Transfer(4, 1, 2, 50, L, 1)]) == [R.ok]
        assert b.create_transfers([Transfer(5, 2, 3, 150, L, 1)]) == [R.ok]  # 100 + 50, the hold voided
        assert b.head_moved_retries >= 2
        report = verify(b.engine.store)
        assert report.ok, report.problems
    finally:
        a.close()
        b.close()


def test_a_shared_stores_reads_of_memory_see_what_other_engines_committed(store_url: str) -> None:
    """A policy's counters are read from memory (`balances_now`, `read_validated`): with the store shared by
    server processes, those reads catch up first; without, memory answers as it is."""
    a = start(store_url)
    a.create_accounts([Account(1, L, 1), Account(2, L, 1, flags=WALLET), Account(3, L, 1)])
    b = start(store_url)
    try:
        a.create_transfers([Transfer(1, 1, 2, 100, L, 1)])
        assert b.balances_now([2])[2].credits_posted == 0  # not shared: memory as it was loaded
        b.shared = True
        assert b.balances_now([2])[2].credits_posted == 100
        a.create_transfers([Transfer(2, 2, 3, 40, L, 1)])
        assert b.read_validated([2], lambda found: found[2].debits_posted) == 40
        # Shared, each commits on the locked path, catching up by the change: no batch is validated
        # against a head that moved, so none is validated again (memory is never rebuilt from scratch).
        a.shared = True
        retries = a.head_moved_retries + b.head_moved_retries
        for i in range(10):
            assert (a if i % 2 else b).create_transfers([Transfer(10 + i, 2, 3, 1, L, 1)]) == [R.ok]
        assert a.head_moved_retries + b.head_moved_retries == retries
        assert b.balances_now([2])[2].debits_posted == 50
    finally:
        a.close()
        b.close()


class GatedStore:
    """A store whose next write, once armed, waits for a gate (so that a batch stays in flight while the
    next is prepared) and then fails, if asked, as a full disk or a lost connection would."""

    def __init__(self, inner: object, fail: bool = False) -> None:
        self.inner = inner
        self.gate = threading.Event()
        self.fail = fail
        self.armed = False

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def writer(self):  # type: ignore[no-untyped-def]
        outer = self
        ctx = self.inner.writer()  # type: ignore[attr-defined]

        class Wrap:
            def __enter__(self):  # type: ignore[no-untyped-def]
                w = ctx.__enter__()
                if outer.armed:
                    outer.armed = False
                    real = w.write

                    def gated(batch: object, encoded: object = None) -> None:
                        outer.gate.wait(30)
                        if outer.fail:
                            raise OSError("disk full")
                        real(batch, encoded)

                    w.write = gated
                return w

            def __exit__(self, *exc: object) -> object:
                return ctx.__exit__(*exc)

        return Wrap()


def test_a_failed_write_fails_its_callers_and_leaves_memory_as_the_database(store_url: str) -> None:
    store = GatedStore(open_store(store_url), fail=True)
    store.gate.set()
    engine = LedgerEngine(store, Clock())  # type: ignore[arg-type]
    engine.commit([Request("accounts", [Account(1, L, 1), Account(2, L, 1, flags=WALLET), Account(3, L, 1)])])
    engine.commit([Request("transfers", [Transfer(1, 1, 2, 100, L, 1)])])
    store.armed = True
    with pytest.raises(OSError):
        engine.commit([Request("transfers", [Transfer(2, 2, 3, 100, L, 1)])])
    assert {a.id: a.balances() for a in engine.accounts()}[2] == (0, 0, 0, 100)
    # The failed transfer was not applied: the same id now succeeds, once.
    assert engine.commit([Request("transfers", [Transfer(2, 2, 3, 100, L, 1)])]) == [[R.ok]]
    assert engine.commit([Request("transfers", [Transfer(2, 2, 3, 100, L, 1)])]) == [[R.exists]]
    assert verify(store.inner).ok  # type: ignore[arg-type]
    store.inner.close()  # type: ignore[attr-defined]


def _wait_for(condition: Callable[[], bool], message: str) -> None:
    pause = threading.Event()
    for _ in range(2000):
        if condition():
            return
        pause.wait(0.005)
    raise AssertionError(message)


def _in_flight_pair(store_url: str, fail: bool) -> tuple[list[object], list[object], GroupCommitter]:
    """Batch A (a payment and a hold) stays in flight while batch B (its retry and the capture) is prepared."""
    store = GatedStore(open_store(store_url), fail=fail)
    lg = GroupCommitter(LedgerEngine(store, Clock()), wait_ms=0)  # type: ignore[arg-type]
    lg.create_accounts([Account(1, L, 1), Account(2, L, 1, flags=WALLET), Account(3, L, 1)])
    lg.create_transfers([Transfer(1, 1, 2, 1_000, L, 1)])
    store.armed = True
    pending, post = int(TransferFlags.pending), int(TransferFlags.post_pending)
    a = lg.submit("transfers", [Transfer(10, 2, 3, 100, L, 1), Transfer(11, 2, 3, 300, L, 1, flags=pending)])
    _wait_for(lambda: not store.armed, "batch A never reached the store")
    b = lg.submit(
        "transfers",
        [
            Transfer(10, 2, 3, 100, L, 1),
            Transfer(12, 0, 0, 200, 0, 0, flags=post, pending_id=11),
            Transfer(13, 0, 0, 0, 0, 0, flags=post, pending_id=11),
        ],
    )
    _wait_for(lambda: len(lg.engine._inflight) == 2, "batch B was not prepared while A was in flight")
    store.gate.set()
    return [a], [b], lg


def test_a_batch_prepared_behind_one_in_flight_sees_its_effects(store_url: str) -> None:
    (a,), (b,), lg = _in_flight_pair(store_url, fail=False)
    try:
        assert a.result(30) == [R.ok, R.ok]  # type: ignore[attr-defined]
        assert b.result(30) == [R.exists, R.ok, R.pending_transfer_already_posted]  # type: ignore[attr-defined]
        assert balances(lg)[2] == (0, 300, 0, 1_000)
        report = verify(lg.engine.store.inner)  # type: ignore[attr-defined]
        assert report.ok, report.problems
    finally:
        lg.close()


def test_when_a_write_fails_the_batch_behind_it_is_validated_again(store_url: str) -> None:
    (a,), (b,), lg = _in_flight_pair(store_url, fail=True)
    try:
        with pytest.raises(OSError):
            a.result(30)  # type: ignore[attr-defined]
        # B no longer sees A: its payment is new, and there is no hold to capture.
        assert b.result(30) == [R.ok, R.pending_transfer_not_found, R.pending_transfer_not_found]  # type: ignore[attr-defined]
        assert balances(lg)[2] == (0, 100, 0, 1_000)
        assert lg.create_transfers([Transfer(11, 2, 3, 300, L, 1)]) == [R.ok]  # A's ids were never used
        report = verify(lg.engine.store.inner)  # type: ignore[attr-defined]
        assert report.ok, report.problems
    finally:
        lg.close()


class FlakyStore:
    """A store that, while `down`, cannot be written: its write lock cannot even be taken."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.down = False

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def writer(self):  # type: ignore[no-untyped-def]
        if self.down:
            raise StoreError(ErrorCode.store_unavailable, "the database is not answering")
        return self.inner.writer()  # type: ignore[attr-defined]


@pytest.mark.parametrize("pipeline", [True, False])
def test_an_unreachable_store_fails_callers_and_the_ledger_recovers_when_it_returns(
    store_url: str, pipeline: bool
) -> None:
    store = FlakyStore(open_store(store_url))
    lg = GroupCommitter(LedgerEngine(store, Clock()), wait_ms=0, pipeline=pipeline)  # type: ignore[arg-type]
    try:
        lg.create_accounts([Account(1, L, 1), Account(2, L, 1, flags=WALLET), Account(3, L, 1)])
        lg.create_transfers([Transfer(1, 1, 2, 1_000, L, 1)])
        store.down = True
        for tid in (10, 11):
            with pytest.raises(StoreError):
                lg.create_transfers([Transfer(tid, 2, 3, 100, L, 1)])
        store.down = False
        # Memory was rebuilt from the store, not from the failed attempts: both ids are still free.
        assert lg.create_transfers([Transfer(10, 2, 3, 100, L, 1), Transfer(11, 2, 3, 100, L, 1)]) == [R.ok, R.ok]
        assert balances(lg)[2] == (0, 200, 0, 1_000)
        assert verify(store.inner).ok  # type: ignore[arg-type]
    finally:
        lg.close()


def test_a_caller_cannot_cancel_a_batch_the_committer_has_taken_on(store_url: str) -> None:
    store = GatedStore(open_store(store_url))
    lg = GroupCommitter(LedgerEngine(store, Clock()), wait_ms=0)  # type: ignore[arg-type]
    try:
        lg.create_accounts([Account(1, L, 1), Account(2, L, 1)])
        store.armed = True
        fut = lg.submit("transfers", [Transfer(5, 1, 2, 7, L, 1)])
        _wait_for(lambda: not store.armed, "the batch never reached the store")
        assert fut.cancel() is False  # it is being written: what commits is what the caller is told
        store.gate.set()
        assert fut.result(30) == [R.ok]
        assert lg.create_transfers([Transfer(6, 1, 2, 1, L, 1)]) == [R.ok]  # the writer thread lives on
    finally:
        lg.close()


def _outbox(store_url: str) -> list[tuple[str, str]]:
    if store_url.startswith("sqlite:"):
        import sqlite3

        from farthing.adapters.open_store import sqlite_path

        conn = sqlite3.connect(sqlite_path(store_url)[0])
        rows = conn.execute("SELECT event_id, type FROM outbox ORDER BY id").fetchall()
        conn.close()
        return rows
    import psycopg

    with psycopg.connect(store_url) as conn:
        return [tuple(r) for r in conn.execute("SELECT event_id, type FROM outbox ORDER BY id")]  # type: ignore[misc]


@pytest.mark.parametrize("pipeline", [True, False])
def test_events_are_recorded_with_the_transfers_that_applied_and_only_those(store_url: str, pipeline: bool) -> None:
    from farthing.engine.store import OutboxEvent

    lg = GroupCommitter(LedgerEngine(open_store(store_url), Clock()), wait_ms=0, pipeline=pipeline)
    try:
        lg.create_accounts([Account(1, L, 1), Account(2, L, 1, flags=WALLET), Account(3, L, 1)])
        lg.create_transfers([Transfer(1, 1, 2, 100, L, 1)])

        def event(n: int) -> OutboxEvent:
            return OutboxEvent(f"evt_{n}", "payment.succeeded", "mer_x", f'{{"n": {n}}}')

        batch = [Transfer(10, 2, 3, 60, L, 1), Transfer(11, 2, 3, 60, L, 1), Transfer(12, 2, 3, 40, L, 1)]
        results = lg.submit("transfers", batch, [(0, event(10)), (1, event(11)), (2, event(12))]).result()
        assert results == [R.ok, R.exceeds_credits, R.ok]
        again = lg.submit("transfers", batch[:1], [(0, event(10))]).result()  # a retry: exists, no new event
        assert again == [R.exists]
        lg.drain()
        assert _outbox(store_url) == [("evt_10", "payment.succeeded"), ("evt_12", "payment.succeeded")]
        with pytest.raises(BatchError):
            lg.submit("transfers", batch[:1], [(5, event(99))])
    finally:
        lg.close()


@pytest.mark.parametrize("asked", [1, 2, 8, 9, 64, 65, 256, 257, 600])
def test_look_ups_find_what_is_there_whatever_their_number(store_url: str, asked: int) -> None:
    lg = start(store_url)
    try:
        lg.create_accounts([Account(1, L, 1), Account(2, L, 1)])
        made = [Transfer(1000 + i, 1, 2, 1 + i, L, 1) for i in range(300)]
        made.append(Transfer(5000, 1, 2, 7, L, 1, flags=int(TransferFlags.pending), timeout_s=3600))
        assert set(lg.create_transfers(made)) == {R.ok}
        present = [t.id for t in made][: asked - asked // 3]
        ids = present + [90_000 + i for i in range(asked // 3)]  # a third of them never made
        with lg.engine.store.reader() as look:
            found = look.find_transfers(ids)
            assert sorted(found) == sorted(present) and all(found[t.id] == t for t in made if t.id in found)
            assert sorted(look.committed_at(ids)) == sorted(present)
            pending = look.find_pending([5000, *ids[len(present) :]])
            assert list(pending) == [5000] and pending[5000].transfer.amount == 7
    finally:
        lg.close()
