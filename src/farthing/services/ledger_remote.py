"""An API worker's ledger when another process writes it (`farthing.services.ledger_writer`): the group
committer's surface, over a Unix socket.

Requests are numbered and sent on one connection from any thread; a reader thread hands each answer to
its future. A request that could not be sent was not applied: `ledger_unavailable` (HTTP 503), and the
next request connects again. A request sent whose answer never came (the writer died) may or may not
have been applied: `outcome_unknown`, to be retried with the same Idempotency-Key.

The worker's own reads of the store (platform tables, look-ups of committed rows) stay on `engine.store`,
a store of its own on the same database.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

from farthing.adapters import ledger_wire as wire
from farthing.domain.ledger_types import AccountState
from farthing.engine.committer import Submitter
from farthing.engine.engine import Request, check_request
from farthing.engine.store import Head, OutboxEvent, Store
from farthing.engine.write_stats import EVENTS_BUCKETS, SECONDS_BUCKETS, Histogram, WriteStats
from farthing.errors import AccountResult, ErrorCode, FarthingError, StoreError, TransferResult

T = TypeVar("T")
_Results = list[AccountResult] | list[TransferResult]
CONNECT_S = 10.0
"""How long a worker waits for the writer's socket when it starts (the writer may be starting too)."""


class RemoteEngine:
    """What the platform reads of its engine: its store (a store of this worker's own), the head, and the
    writer's batch figures for `/metrics` (asked of the writer at most once a second)."""

    def __init__(self, store: Store, stats: Callable[[], Sequence[Any]]) -> None:
        self.store = store
        self._ask = stats
        self._stats: tuple[float, int, WriteStats] = (0.0, 0, WriteStats())

    @property
    def head(self) -> Head:
        return self.store.head()

    def _fresh(self) -> tuple[int, WriteStats]:
        at, batches, writes = self._stats
        if time.monotonic() - at >= 1.0:
            try:
                batches, events, events_sum, seconds, seconds_sum, failed = self._ask()
            except FarthingError:  # the writer is away: the last figures it gave
                return batches, writes
            writes = WriteStats()
            writes.events = Histogram.of(EVENTS_BUCKETS, events, events_sum)
            writes.seconds = Histogram.of(SECONDS_BUCKETS, seconds, seconds_sum)
            writes.failed = failed
            self._stats = (time.monotonic(), batches, writes)
        return batches, writes

    @property
    def batches_committed(self) -> int:
        return self._fresh()[0]

    @property
    def writes(self) -> WriteStats:
        return self._fresh()[1]


class RemoteLedger(Submitter):
    def __init__(self, path: str, store: Store, connect_s: float = CONNECT_S) -> None:
        self.path = path
        self.engine = RemoteEngine(store, lambda: self._call(("stats",)).result())
        self.shared = False
        self.head_moved_retries = 0
        self.on_validated: list[Callable[[Sequence[Request]], None]] = []
        self._sock: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._waiting: dict[int, tuple[Future[Any], Request | None]] = {}
        """Sent and not answered: each future, with its request if it is a submit (None for a read)."""
        self._acks: list[int] = []
        self._closed = False
        deadline = time.monotonic() + connect_s
        while True:
            try:
                self._connect()
                break
            except FarthingError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    # -- the connection -------------------------------------------------------------------------

    def _connect(self) -> socket.socket:
        """The connection, made again if the last one ended (under `_send_lock`, or at start)."""
        if self._sock is not None:
            return self._sock
        if self._closed:
            raise FarthingError(ErrorCode.engine_closed, "the ledger connection is closed")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.path)
        except OSError as exc:
            sock.close()
            raise _unavailable(f"the ledger writer does not answer at {self.path} ({exc.strerror or exc})") from exc
        self._sock = sock
        threading.Thread(target=self._read, args=(sock,), name="farthing-ledger-remote", daemon=True).start()
        return sock

    def _read(self, sock: socket.socket) -> None:
        try:
            frames = wire.Reader(sock)
            while (message := frames.recv()) is not None:
                rid, status, payload = message
                with self._send_lock:
                    found = self._waiting.pop(rid, None)
                    if found is not None and found[1] is not None:  # a submit's answer, to acknowledge
                        self._acks.append(rid)
                if found is None:
                    continue
                future = found[0]
                if status == "ok":
                    future.set_result(payload)
                else:
                    future.set_exception(wire.error_in(payload))
        except (OSError, wire.WireError):
            pass
        finally:
            self._lost(sock)

    def _lost(self, sock: socket.socket) -> None:
        """The connection ended: whatever was sent and not answered has an unknown outcome."""
        with self._send_lock:
            if self._sock is sock:
                self._sock = None
            lost = list(self._waiting.values())
            self._waiting.clear()
            self._acks.clear()
        sock.close()
        for future, request in lost:
            if request is not None:
                future.set_exception(StoreError(
                    ErrorCode.outcome_unknown,
                    "the ledger writer went away before it answered: the request may or may not have been "
                    "applied; retry with the same Idempotency-Key to learn the result",
                ))  # fmt: skip
            else:
                future.set_exception(_unavailable("the ledger writer went away before it answered"))

    def _call(self, message: tuple[Any, ...], request: Request | None = None) -> Future[Any]:
        future: Future[Any] = Future()
        with self._send_lock:
            sock = self._connect()
            rid = next(self._numbers)
            if request is not None:
                message = (*message, self._acks)
                self._acks = []
            self._waiting[rid] = (future, request)
            try:
                wire.send(sock, (rid, *message))
            except OSError as exc:
                self._waiting.pop(rid, None)
                raise _unavailable(f"the ledger writer could not be reached ({exc})") from exc
        return future

    # -- the committer's surface ----------------------------------------------------------------

    def submit(
        self, kind: str, events: Sequence[object], outbox: Sequence[tuple[int, OutboxEvent]] = ()
    ) -> Future[_Results]:
        request = check_request(kind, events, outbox)
        message = ("submit", kind, wire.events_out(kind, request.events), wire.outbox_out(request.outbox))
        sent = self._call(message, request)
        future: Future[_Results] = Future()

        def decoded(f: Future[Any]) -> None:
            error = f.exception()
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(wire.results_in(kind, f.result()))

        sent.add_done_callback(decoded)
        return future

    def accounts(self, ids: Sequence[int] | None = None) -> list[AccountState]:
        """As `GroupCommitter.accounts`: committed, batches in flight landed first (in the writer)."""
        return wire.states_in(self._call(("accounts", None if ids is None else list(ids))).result())

    def balances_now(self, ids: Sequence[int]) -> dict[int, AccountState]:
        return {a.id: a for a in wire.states_in(self._call(("now", list(ids))).result())}

    def read_validated(self, ids: Sequence[int], read: Callable[[dict[int, AccountState]], T]) -> T:
        """As `GroupCommitter.read_validated`: the writer says which of this worker's requests its balances
        hold already; the callbacks of `on_validated` hear of those first, then `read` reads."""
        with self._send_lock:
            asked = [rid for rid, (_, request) in self._waiting.items() if request is not None]
        rows, validated = self._call(("validated", list(ids), asked)).result()
        with self._send_lock:
            requests = [w[1] for rid in validated if (w := self._waiting.get(rid)) is not None and w[1] is not None]
        for hear in self.on_validated:
            hear(requests)
        return read({a.id: a for a in wire.states_in(rows)})

    def reachable(self) -> bool:
        """The writer answers: connected and not closed by it, or connected now (for `/readyz`). A
        connection the writer closed is let go here, before the reader thread may have seen it."""
        for _ in range(2):
            try:
                with self._send_lock:
                    sock = self._connect()
                    if not _closed_by_peer(sock):
                        return True
            except (FarthingError, OSError):
                return False
            self._lost(sock)
        return False

    @property
    def queue_depth(self) -> int:
        return len(self._waiting)

    def drain(self) -> None:
        self._call(("drain",)).result()

    def close(self) -> None:
        self._closed = True
        with self._send_lock:
            sock = self._sock
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
        self.engine.store.close()


def _closed_by_peer(sock: socket.socket) -> bool:
    """The other side closed the connection (a look at what is waiting, taking nothing)."""
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False  # open, nothing waiting


def _unavailable(detail: str) -> StoreError:
    return StoreError(ErrorCode.ledger_unavailable, f"{detail}; nothing was applied, try again shortly")
