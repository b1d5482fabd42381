"""Group commit: many concurrent callers, one database transaction per batch, validation pipelined.

Callers on any thread (or asyncio task) hand a request to a bounded queue and wait on a future. The
committer thread takes the first request, gathers whatever else arrives within a bounded wait
(`limits.group_commit_wait_ms_max`) up to `limits.events_per_commit_max` events, and validates them
together against memory (`LedgerEngine.prepare`). A second thread writes each prepared batch
(`LedgerEngine.flush`) while the committer validates the next one: the cost of durability (one
fsync) is paid per batch, and validation hides behind the database's work.

A caller's future resolves only after its batch committed, so an acknowledged event is durable. If a
write fails, memory (which ran ahead) is reloaded from the store; the failed batch's callers get the
error, and the batch prepared behind it is validated again on the safe, locked path. If another
process wrote in between, both are validated again: nothing is lost and nothing applies twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TypeVar, cast

from farthing import limits
from farthing.domain.ledger_types import Account, AccountState, Transfer
from farthing.engine.engine import HeadMoved, LedgerEngine, Prepared, Request, check_request
from farthing.engine.store import OutboxEvent
from farthing.errors import AccountResult, ErrorCode, FarthingError, TransferResult

_Results = list[AccountResult] | list[TransferResult]
_Item = tuple[Request, "Future[_Results]"]
_STOP = object()
_WAKE = object()  # the writer's nudge: a write failed, settle it now rather than at the next request


@dataclass(frozen=True, slots=True)
class _Flush:
    group: list[_Item]
    prepared: Prepared


def _resolve(group: list[_Item], results: Sequence[_Results]) -> None:
    for (_, fut), res in zip(group, results, strict=True):
        fut.set_result(res)


def _fail(group: list[_Item], exc: BaseException) -> None:
    for _, fut in group:
        if not fut.done():  # a caller is told once; an error after its result changes nothing it was told
            fut.set_exception(exc)


SWITCH_INTERVAL_S = 0.001
"""The interpreter's thread switch interval a ledger process should run with (default 0.005 s).

The writer thread releases the GIL for each multi-row statement and its commit; when it is done it
must get the GIL back from the committer thread, which is busy validating the next batch. Python
makes it wait up to one switch interval each time. At 5 ms the waits eat most of what the overlap
gains (measured: +2 %); at 1 ms the pipeline runs about 18 % faster than validating and writing in
turn. `tune_interpreter()` sets it; `farthing.services.ledger.open_ledger` calls it.
"""


def tune_interpreter() -> None:
    """Set the switch interval the pipelined committer is measured with (see `SWITCH_INTERVAL_S`)."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)


T = TypeVar("T")


async def answered(future: Future[T]) -> T:
    """`await asyncio.wrap_future(future)` with one hop to the loop and nothing else: the committer's
    thread hands the result over with one `call_soon_threadsafe` (wrap_future chains two futures and
    copies their states: 5 % of the server's time under load). A cancelled waiter cancels the
    request, which the committer then skips if it has not taken it on yet, as with wrap_future."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[T] = loop.create_future()

    def deliver(done: Future[T]) -> None:
        if waiter.cancelled():
            return
        error = done.exception() if not done.cancelled() else asyncio.CancelledError()
        if error is not None:
            waiter.set_exception(error)
        else:
            waiter.set_result(done.result())

    def hop(done: Future[T]) -> None:
        if not loop.is_closed():  # a server shutting down may have closed it meanwhile
            loop.call_soon_threadsafe(deliver, done)

    future.add_done_callback(hop)
    try:
        return await waiter
    except asyncio.CancelledError:
        future.cancel()
        raise


class Submitter:
    """The ways to ask a ledger for accounts and transfers, all through `submit` (the group committer's
    own, or a worker's over the ledger writer's socket: `farthing.services.ledger_remote`)."""

    def submit(
        self, kind: str, events: Sequence[object], outbox: Sequence[tuple[int, OutboxEvent]] = ()
    ) -> Future[_Results]:
        raise NotImplementedError

    def create_accounts(self, accounts: Sequence[Account]) -> list[AccountResult]:
        return cast(list[AccountResult], self.submit("accounts", accounts).result())

    def create_transfers(self, transfers: Sequence[Transfer]) -> list[TransferResult]:
        return cast(list[TransferResult], self.submit("transfers", transfers).result())

    async def create_accounts_async(self, accounts: Sequence[Account]) -> list[AccountResult]:
        return cast(list[AccountResult], await answered(self.submit("accounts", accounts)))

    async def create_transfers_async(self, transfers: Sequence[Transfer]) -> list[TransferResult]:
        return cast(list[TransferResult], await answered(self.submit("transfers", transfers)))


class GroupCommitter(Submitter):
    """Thread-safe front of a `LedgerEngine`: submit from anywhere, results after commit."""

    def __init__(self, engine: LedgerEngine, wait_ms: float = 1.0, pipeline: bool = True) -> None:
        if not 0 <= wait_ms <= limits.group_commit_wait_ms_max:
            raise ValueError(f"wait_ms must be in 0..{limits.group_commit_wait_ms_max}, not {wait_ms}")
        self.engine = engine
        self.wait_s = wait_ms / 1000
        self.lock = threading.Lock()
        """Held while a batch is validated and committed; hold it to read the engine's memory."""
        self._queue: queue.Queue[object] = queue.Queue(maxsize=limits.request_queue_depth_max)
        self._closed = False
        self._carry: _Item | None = None
        self.pipeline = pipeline
        self._slot: queue.Queue[_Flush | None] = queue.Queue(maxsize=1)
        self._failure: tuple[_Flush, BaseException] | None = None
        self.head_moved_retries = 0
        """Batches validated again because another process committed first."""
        self.shared = False
        """Other processes write to the store all the time (`farthing serve --workers`): a read of memory
        (`balances_now`, `read_validated`) first catches up with what they committed, so a decision on
        counters or balances sees their payments, at the cost of one look at the store's head."""
        self.on_validated: list[Callable[[Sequence[Request]], None]] = []
        """Called on the committer thread, under `lock`, with each group once memory holds its effects
        (before it is written): whoever counts requests as in flight stops counting them then, so a
        reader of memory plus its own count (`read_validated`) sees each request exactly once."""
        self._writer = threading.Thread(target=self._write_loop, name="farthing-writer", daemon=True)
        if pipeline:
            self._writer.start()
        self._thread = threading.Thread(target=self._run, name="farthing-committer", daemon=True)
        self._thread.start()

    # -- submitting ---------------------------------------------------------------------------

    def submit(
        self, kind: str, events: Sequence[object], outbox: Sequence[tuple[int, OutboxEvent]] = ()
    ) -> Future[_Results]:
        """Queue a request; the future resolves with one result per event once its batch committed.
        `outbox` pairs transfer indexes with events to record in the same transaction iff they apply."""
        request = check_request(kind, events, outbox)
        if self._closed:
            raise FarthingError(ErrorCode.engine_closed, "the ledger engine is closed")
        fut: Future[_Results] = Future()
        self._queue.put((request, fut))
        return fut

    def accounts(self, ids: Sequence[int] | None = None) -> list[AccountState]:
        """Copies of accounts as committed, by this process or any other sharing the store: waits for
        batches in flight to land, and catches up if another writer moved the head."""
        with self.lock:
            self._drain()
            self.engine.catch_up()
            return self.engine.accounts(ids)

    def balances_now(self, ids: Sequence[int]) -> dict[int, AccountState]:
        """Accounts as validated so far, batches in flight included (some may yet fail to be written):
        never less than what is committed, so a limit checked against them is never passed. No wait."""
        with self.lock:
            self._fresh()
            return {a.id: a for a in self.engine.accounts(ids)}

    def read_validated(self, ids: Sequence[int], read: Callable[[dict[int, AccountState]], T]) -> T:
        """`read(balances_now(ids))`, called under the lock, so no group turns validated meanwhile: what
        `read` adds from its own count of requests in flight (see `on_validated`) is never counted twice."""
        with self.lock:
            self._fresh()
            return read({a.id: a for a in self.engine.accounts(ids)})

    def _fresh(self) -> None:
        """When the store is `shared` and another process moved its head, wait for this process's batches
        in flight and catch memory up (under `lock`)."""
        if self.shared and not self.engine.passed(self.engine.store.head()):
            self._drain()
            self.engine.catch_up()

    @property
    def queue_depth(self) -> int:
        """Requests waiting to be taken into a batch (roughly: other threads move it as it is read)."""
        return self._queue.qsize()

    def drain(self) -> None:
        """Wait until every prepared batch is written; afterwards memory equals the store."""
        with self.lock:
            self._drain()

    def close(self) -> None:
        """Commit what was submitted, stop the writer thread and close the store."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()
        if self.pipeline:
            self._slot.put(None)
            self._writer.join()
        self.engine.store.close()

    # -- the writer thread --------------------------------------------------------------------

    def _run(self) -> None:
        tick_s = limits.pending_expiry_tick_ms / 1000
        while True:
            first = self._carry
            self._carry = None
            if first is None:
                try:
                    got = self._queue.get(timeout=tick_s)
                except queue.Empty:
                    self._expire_idle()
                    continue
                if got is _STOP:
                    return
                if got is _WAKE:
                    with self.lock:
                        self._drain()
                    continue
                first = got  # type: ignore[assignment]
            assert first is not None
            group, stop = self._gather(first)
            # Taken on: from here a caller can no longer cancel, so what commits is what it is told.
            group = [item for item in group if item[1].set_running_or_notify_cancel()]
            try:
                if group:
                    self._commit(group)
            except BaseException as exc:  # the committer thread must outlive any one batch
                _fail(group, exc)
            if stop:
                return

    def _gather(self, first: _Item) -> tuple[list[_Item], bool]:
        """The first request plus what arrives within the wait, up to the batch limit."""
        group = [first]
        count = len(first[0].events)
        deadline = time.monotonic() + self.wait_s
        while count < limits.events_per_commit_max:
            try:
                remaining = deadline - time.monotonic()
                got = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if got is _STOP:
                return group, True
            if got is _WAKE:
                continue  # the commit that follows drains first
            item: _Item = got  # type: ignore[assignment]
            if count + len(item[0].events) > limits.events_per_commit_max:
                self._carry = item
                break
            group.append(item)
            count += len(item[0].events)
        return group, False

    def _commit(self, group: list[_Item]) -> None:
        with self.lock:
            if not self.pipeline or self.shared:
                # Shared with writers in other processes, the optimistic pipeline would often find the head
                # moved and rebuild memory from the whole store; the locked path catches up by the change.
                self._commit_locked(group)
                return
            requests = [req for req, _ in group]
            try:
                prepared = self.engine.prepare(requests)
            except BaseException as exc:  # every waiting caller must hear of the failure
                self._drain()
                self.engine.reload_quietly()  # validation may have half-applied the group to memory
                _fail(group, exc)
                return
            if self._drain():
                # The batch before this one failed and memory was reloaded: what this group was
                # validated against is gone, so validate it again on the locked path.
                self._commit_locked(group)
                return
            self._validated(requests)
            self._slot.put(_Flush(group, prepared))

    def _commit_locked(self, group: list[_Item]) -> None:
        requests = [req for req, _ in group]
        try:
            results = self.engine.commit(requests)
        except BaseException as exc:  # every waiting caller must hear of the failure
            _fail(group, exc)
            return
        self._validated(requests)
        _resolve(group, results)

    def _validated(self, requests: Sequence[Request]) -> None:
        for hook in self.on_validated:
            hook(requests)

    def _drain(self) -> bool:
        """Wait for the writer to finish; after a failed write, reload and settle it. True if it had failed."""
        self._slot.join()
        if self._failure is None:
            return False
        failed, exc = self._failure
        self._failure = None
        self.engine.reload_quietly()
        if isinstance(exc, HeadMoved) and self.engine.loaded:
            self.head_moved_retries += 1
            self._commit_locked(failed.group)  # another process wrote first: validate again, safely
        else:
            _fail(failed.group, exc)
        return True

    def _write_loop(self) -> None:
        while True:
            item = self._slot.get()
            if item is None:
                self._slot.task_done()
                return
            failed = False
            try:
                self.engine.flush(item.prepared)
            except BaseException as exc:  # settled by the committer thread in _drain
                self._failure = (item, exc)
                failed = True
            else:
                _resolve(item.group, item.prepared.results)
            finally:
                self._slot.task_done()
            if failed:
                with contextlib.suppress(queue.Full):  # a full queue wakes the committer anyway
                    self._queue.put_nowait(_WAKE)

    def _expire_idle(self) -> None:
        """With no callers, still release pending transfers whose time has run out."""
        with self.lock:
            self._drain()
            due = self.engine.state.expiries and self.engine.state.expiries[0][0] <= self.engine.clock_ms()
            if due or not self.engine.loaded:
                with contextlib.suppress(Exception):  # retried on the next tick or batch
                    self.engine.commit([])
