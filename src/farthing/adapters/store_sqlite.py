"""The embedded store: SQLite in WAL mode with `synchronous=FULL` (every commit reaches the disk).

The engine writes through one connection inside `BEGIN IMMEDIATE`, which takes SQLite's write lock:
several processes may share the file, and take turns batch by batch. Reads for audit use their own
connections, which WAL lets run beside the writer.
"""

from __future__ import annotations

import functools
import heapq
import os
import sqlite3
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

from farthing.adapters import ledger_sql as sql
from farthing.adapters import migrate
from farthing.adapters.ledger_sql import ACCOUNT_COLS, TRANSFER_COLS
from farthing.adapters.rows import from_sql_u128, pending_info, sql_u128, status_of
from farthing.adapters.sqlite_batch import (
    INSERT_ACCOUNTS,
    INSERT_EXPIRATIONS,
    INSERT_OUTBOX,
    INSERT_TRANSFERS,
    UPDATE_BALANCES,
    Rows,
    encode,
    many_rows,
)
from farthing.adapters.sqlite_full import refused_when_full
from farthing.clock import system_clock
from farthing.domain.balances import LedgerEvent
from farthing.domain.journal import JournalRecord
from farthing.domain.ledger_types import AccountState, PendingInfo, PendingStatus, Transfer
from farthing.engine.store import BatchCommit, Changes, Head, Witness, witness_commit
from farthing.errors import ErrorCode, StoreError

try:
    import fcntl
except ImportError:  # not on Windows
    fcntl = None  # type: ignore[assignment]

_LOOKUP_CHUNK = 256
"""Ids per look-up statement at most; shorter chunks are padded to one of `_LOOKUP_SIZES`."""
_LOOKUP_SIZES = (1, 8, 64, _LOOKUP_CHUNK)


@functools.cache
def _in_list(head: str, size: int) -> str:
    """`head` and an IN list of `size` parameters (a handful of texts: the connection keeps them prepared)."""
    return f"{head}({','.join('?' * size)})"


_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


_u = from_sql_u128


def _account(row: tuple) -> AccountState:  # type: ignore[type-arg]
    (id_, ledger, code, flags, ud, dp, dpo, cp, cpo, seq, ts) = row
    return AccountState(_u(id_), ledger, code, flags, _u(ud), _u(dp), _u(dpo), _u(cp), _u(cpo), seq, ts)


def _transfer(row: tuple) -> Transfer:  # type: ignore[type-arg]
    (id_, dr, cr, amount, ledger, code, flags, pid, ud, timeout) = row
    return Transfer(_u(id_), _u(dr), _u(cr), _u(amount), ledger, code, flags, _u(pid), _u(ud), timeout)


def connect(path: str, synchronous: str = "FULL") -> sqlite3.Connection:
    if synchronous.upper() not in _SYNCHRONOUS:
        raise StoreError(ErrorCode.database_url_invalid, f"synchronous must be one of {_SYNCHRONOUS}")
    if sqlite3.sqlite_version_info < (3, 33, 0):
        raise StoreError(
            ErrorCode.store_unavailable, f"SQLite {sqlite3.sqlite_version} is too old: Farthing needs 3.33 or newer"
        )
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0, cached_statements=256)
    _wal(conn)
    conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _wal(conn: sqlite3.Connection, tries: int = 100) -> None:
    """WAL mode. Switching a new file to it takes an exclusive lock, and SQLite answers "database is
    locked" at once, without its busy handler, to a process that asks while another is switching: several
    processes opening one new ledger together met it (CI). Ask again, briefly."""
    for attempt in range(tries):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == tries - 1:
                raise
            time.sleep(0.02)


class SqliteLookups:
    """Look-ups by id on one connection; see `farthing.engine.store.StoreLookups`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def close(self) -> None:
        self.conn.close()

    def _chunks(self, ids: Collection[int]) -> Iterator[tuple[int, list[int | bytes]]]:
        """The ids in chunks, each padded (with its first id) to the smallest of `_LOOKUP_SIZES` that
        holds it: a few prepared statements serve every look-up, and one id binds one parameter, not
        256 (SQLite builds the IN list's index from every parameter: a single look-up cost 0.4 ms)."""
        keys = [sql_u128(i) for i in ids]
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            chunk = keys[start : start + _LOOKUP_CHUNK]
            size = next(n for n in _LOOKUP_SIZES if n >= len(chunk))
            chunk.extend([chunk[0]] * (size - len(chunk)))
            yield size, chunk

    def find_transfers(self, ids: Collection[int]) -> dict[int, Transfer]:
        found: dict[int, Transfer] = {}
        for size, chunk in self._chunks(ids):
            for row in self.conn.execute(_in_list(f"SELECT {TRANSFER_COLS} FROM transfers WHERE id IN ", size), chunk):
                t = _transfer(row)
                found[t.id] = t
        return found

    def committed_at(self, ids: Collection[int]) -> dict[int, int]:
        found: dict[int, int] = {}
        for size, chunk in self._chunks(ids):
            query = _in_list("SELECT id, timestamp_ms FROM transfers WHERE id IN ", size)
            for raw, ts in self.conn.execute(query, chunk):
                found[_u(raw)] = ts
        return found

    def find_pending(self, ids: Collection[int]) -> dict[int, PendingInfo]:
        found: dict[int, PendingInfo] = {}
        for size, chunk in self._chunks(ids):
            for row in self.conn.execute(_in_list(sql.PENDING_WITH_STATUS + "t.id IN ", size), chunk):
                t = _transfer(row[:10])
                found[t.id] = pending_info(t, row[10], status_of(row[11], row[12]))
        return found


class SqliteWriter(SqliteLookups):
    """One write transaction; see `farthing.engine.store.StoreWriter`."""

    def __init__(self, conn: sqlite3.Connection, witness: Witness | None = None) -> None:
        super().__init__(conn)
        self.witness = witness

    def head(self) -> Head:
        batch_no, last_seq, hash_, ts = self.conn.execute(
            "SELECT batch_no, last_seq, hash, timestamp_ms FROM ledger_head WHERE id = 1"
        ).fetchone()
        return Head(batch_no, last_seq, bytes(hash_), ts)

    def changes_since(self, seq: int) -> Changes:
        c = self.conn
        accounts = [_account(r) for r in c.execute(sql.CHANGED_ACCOUNTS.format(p="?1"), (seq,))]
        opened = [
            pending_info(_transfer(r[:-1]), r[-1], PendingStatus.open)
            for r in c.execute(sql.OPENED_PENDING.format(p="?1"), (seq,))
        ]
        closed = [_u(pid) for (pid,) in c.execute(sql.CLOSED_PENDING.format(p="?1"), (seq,))]
        (max_id,) = c.execute("SELECT max(id) FROM transfers").fetchone()
        return Changes(accounts, opened, closed, _u(max_id))

    def write(self, batch: BatchCommit, encoded: object = None) -> None:
        c = self.conn
        rec = batch.record
        rows = encoded if isinstance(encoded, Rows) else encode(batch)
        many_rows(c, INSERT_ACCOUNTS, rows.accounts)
        many_rows(c, INSERT_TRANSFERS, rows.transfers)
        many_rows(c, INSERT_EXPIRATIONS, rows.expirations)
        many_rows(c, UPDATE_BALANCES, rows.balances)
        many_rows(c, INSERT_OUTBOX, rows.outbox)
        c.execute(sql.INSERT_JOURNAL, sql.journal_row(rec))
        c.execute(sql.ADVANCE_HEAD, sql.head_row(rec))
        c.execute("COMMIT")
        if self.witness is not None:
            witness_commit(self.witness, rec)


class WriteLock:
    """One writer at a time on a database file, across threads and processes, queued rather than polled.

    SQLite lets one writer in at a time, and one that finds the file locked sleeps in growing steps
    before it tries again (1, 2, 5, 10… ms): behind another writer's commit, the ledger's flushes waited
    up to 110 ms. Here a writer waits on a lock instead and is woken the moment the last one lets go: a
    thread lock within the process, and `flock` on a file beside the database between processes (the
    history projection runs in a process of its own; the kernel lets go of a dead process's lock).
    Where `flock` does not exist, processes fall back on SQLite's own lock."""

    def __init__(self, path: str) -> None:
        self._threads = threading.Lock()
        self._fd: int | None = None
        if fcntl is not None:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def __enter__(self) -> None:
        self._threads.acquire()
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._threads.release()
                raise

    def __exit__(self, *exc: object) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        with self._threads:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


class SqliteView:
    """Whole-ledger reads on one connection; inside a transaction they all see the same commits."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def head(self) -> Head:
        return SqliteWriter(self.conn).head()

    def accounts(self) -> list[AccountState]:
        return [_account(r) for r in self.conn.execute(f"SELECT {ACCOUNT_COLS} FROM accounts ORDER BY seq")]

    def journal(self) -> Iterator[JournalRecord]:
        for row in self.conn.execute(
            "SELECT batch_no, first_seq, last_seq, timestamp_ms, event_count, prev_hash, hash "
            "FROM journal ORDER BY batch_no"
        ):
            yield JournalRecord(row[0], row[1], row[2], row[3], row[4], bytes(row[5]), bytes(row[6]))

    def events(self, after_seq: int = 0, upto_seq: int = 1 << 62) -> Iterator[LedgerEvent]:
        conn, span = self.conn, (after_seq, upto_seq)
        accounts = (
            LedgerEvent(r[9], account=_account(r), timestamp_ms=r[10])
            for r in conn.execute(f"SELECT {ACCOUNT_COLS} FROM accounts WHERE seq > ? AND seq <= ? ORDER BY seq", span)
        )
        transfers = (
            LedgerEvent(r[0], transfer=_transfer(r[1:11]), timestamp_ms=r[11])
            for r in conn.execute(
                f"SELECT seq, {TRANSFER_COLS}, timestamp_ms FROM transfers WHERE seq > ? AND seq <= ? ORDER BY seq",
                span,
            )
        )
        expiries = (
            LedgerEvent(r[0], pending_id=_u(r[1]), timestamp_ms=r[2])
            for r in conn.execute(
                "SELECT seq, pending_id, timestamp_ms FROM expirations WHERE seq > ? AND seq <= ? ORDER BY seq", span
            )
        )
        yield from heapq.merge(accounts, transfers, expiries, key=lambda e: e.seq)


class SqliteStore:
    """The SQLite store; `path` is a file (created with its schema if new)."""

    def __init__(self, path: str | Path, synchronous: str = "FULL", witness: Witness | None = None) -> None:
        self.path = str(path)
        self.witness = witness
        self.url = f"sqlite://{Path(self.path).resolve()}"
        self.synchronous = synchronous
        self._conn = connect(self.path, synchronous)
        self.write_lock = WriteLock(self.path + "-writer.lock")
        """Held by every write transaction on this file (the ledger's and the platform's tables')."""
        self._reader_conn: sqlite3.Connection | None = None
        self._head_conn: sqlite3.Connection | None = None
        self._head_lock = threading.Lock()
        self._migrate()

    def _migrate(self) -> None:
        c = self._conn
        c.execute("BEGIN IMMEDIATE")
        try:
            c.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                      "applied_at_ms INTEGER NOT NULL)")  # fmt: skip
            (applied,) = c.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
            for mig in migrate.pending("sqlite", applied):
                for statement in _statements(mig.sql):
                    c.execute(statement)
                c.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                    (mig.version, mig.name, system_clock()),  # when this machine ran it (farthing.clock)
                )
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    @contextmanager
    def writer(self) -> Iterator[SqliteWriter]:
        c = self._conn
        with self.write_lock:
            c.execute("BEGIN IMMEDIATE")
            try:
                with refused_when_full():
                    yield SqliteWriter(c, self.witness)
            finally:
                if c.in_transaction:
                    c.execute("ROLLBACK")

    def encode(self, batch: BatchCommit) -> object:
        return encode(batch)

    @contextmanager
    def reader(self) -> Iterator[SqliteLookups]:
        """Look-ups of committed rows on a connection of their own (WAL lets it read beside the writer)."""
        if self._reader_conn is None:
            self._reader_conn = self._read()
        yield SqliteLookups(self._reader_conn)

    def open_lookups(self) -> SqliteLookups:
        return SqliteLookups(self._read())

    def _read(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    def head(self) -> Head:
        """The committed head, read on a connection kept for it: with writers in other processes the
        engine asks before each policy decision, and a connection opened per call cost more than the read."""
        with self._head_lock:
            if self._head_conn is None:
                self._head_conn = self._read()
            return SqliteWriter(self._head_conn).head()

    @contextmanager
    def snapshot(self) -> Iterator[SqliteView]:
        """A read transaction on a connection of its own: WAL keeps its first read's snapshot to the end."""
        conn = self._read()
        try:
            conn.execute("BEGIN")
            view = SqliteView(conn)
            view.head()  # the snapshot is taken at the first read, not at BEGIN
            yield view
        finally:
            conn.close()

    def accounts(self) -> list[AccountState]:
        with self.snapshot() as view:
            return view.accounts()

    def journal(self) -> Iterator[JournalRecord]:
        with self.snapshot() as view:
            yield from view.journal()

    def events(self, after_seq: int = 0, upto_seq: int = 1 << 62) -> Iterator[LedgerEvent]:
        with self.snapshot() as view:
            yield from view.events(after_seq, upto_seq)

    def close(self) -> None:
        if self._reader_conn is not None:
            self._reader_conn.close()
        with self._head_lock:
            if self._head_conn is not None:
                self._head_conn.close()
                self._head_conn = None
        self._conn.close()
        self.write_lock.close()
        if self.witness is not None:
            self.witness.close()


def _statements(sql: str) -> list[str]:
    """Split a migration into whole statements (a trigger's body keeps its semicolons)."""
    statements, buffer = [], ""
    for line in sql.splitlines():
        if line.lstrip().startswith("--"):
            continue
        buffer += line + "\n"
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return [s for s in statements if s.rstrip(";").strip()]
