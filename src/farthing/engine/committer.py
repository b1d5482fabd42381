"""Group commit: many concurrent callers, one database transaction per batch.

Callers on any thread (or asyncio task) hand a request to a bounded queue and wait on a future. One
writer thread takes the first request, gathers whatever else arrives within a bounded wait
(`limits.group_commit_wait_ms_max`) up to `limits.events_per_commit_max` events, and commits them
together through `LedgerEngine.commit`. The cost of durability (one fsync) is paid per batch, not per
payment. A caller's future resolves only after its batch committed, so an acknowledged event is
durable; a failed commit fails every future of that batch and changes nothing.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import cast

from farthing import limits
from farthing.domain.ledger_types import Account, AccountState, Transfer
from farthing.engine.engine import LedgerEngine, Request, check_request
from farthing.errors import AccountResult, ErrorCode, FarthingError, TransferResult

_Results = list[AccountResult] | list[TransferResult]
_Item = tuple[Request, "Future[_Results]"]
_STOP = object()


class GroupCommitter:
    """Thread-safe front of a `LedgerEngine`: submit from anywhere, results after commit."""

    def __init__(self, engine: LedgerEngine, wait_ms: float = 1.0) -> None:
        if not 0 <= wait_ms <= limits.group_commit_wait_ms_max:
            raise ValueError(f"wait_ms must be in 0..{limits.group_commit_wait_ms_max}, not {wait_ms}")
        self.engine = engine
        self.wait_s = wait_ms / 1000
        self.lock = threading.Lock()
        """Held while a batch is validated and committed; hold it to read the engine's memory."""
        self._queue: queue.Queue[object] = queue.Queue(maxsize=limits.request_queue_depth_max)
        self._closed = False
        self._carry: _Item | None = None
        self._thread = threading.Thread(target=self._run, name="farthing-committer", daemon=True)
        self._thread.start()

    # -- submitting ---------------------------------------------------------------------------

    def submit(self, kind: str, events: Sequence[object]) -> Future[_Results]:
        request = check_request(kind, events)
        if self._closed:
            raise FarthingError(ErrorCode.engine_closed, "the ledger engine is closed")
        fut: Future[_Results] = Future()
        self._queue.put((request, fut))
        return fut

    def create_accounts(self, accounts: Sequence[Account]) -> list[AccountResult]:
        return cast(list[AccountResult], self.submit("accounts", accounts).result())

    def create_transfers(self, transfers: Sequence[Transfer]) -> list[TransferResult]:
        return cast(list[TransferResult], self.submit("transfers", transfers).result())

    async def create_accounts_async(self, accounts: Sequence[Account]) -> list[AccountResult]:
        return cast(list[AccountResult], await asyncio.wrap_future(self.submit("accounts", accounts)))

    async def create_transfers_async(self, transfers: Sequence[Transfer]) -> list[TransferResult]:
        return cast(list[TransferResult], await asyncio.wrap_future(self.submit("transfers", transfers)))

    def accounts(self, ids: Sequence[int] | None = None) -> list[AccountState]:
        with self.lock:
            return self.engine.accounts(ids)

    def close(self) -> None:
        """Commit what was submitted, stop the writer thread and close the store."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()
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
                first = got  # type: ignore[assignment]
            assert first is not None
            group, stop = self._gather(first)
            self._commit(group)
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
            item: _Item = got  # type: ignore[assignment]
            if count + len(item[0].events) > limits.events_per_commit_max:
                self._carry = item
                break
            group.append(item)
            count += len(item[0].events)
        return group, False

    def _commit(self, group: list[_Item]) -> None:
        try:
            with self.lock:
                results = self.engine.commit([req for req, _ in group])
        except BaseException as exc:
            for _, fut in group:
                fut.set_exception(exc)
            return
        for (_, fut), res in zip(group, results, strict=True):
            fut.set_result(res)

    def _expire_idle(self) -> None:
        """With no callers, still release pending transfers whose time has run out."""
        with self.lock:
            if self.engine.state.expiries and self.engine.state.expiries[0][0] <= self.engine.clock_ms():
                try:
                    self.engine.commit([])
                except Exception:
                    return
