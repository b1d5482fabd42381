"""The platform's own tables (parties, wallets, API keys) on the ledger's database.

Small, infrequent queries, so one connection of its own guarded by a lock, and SQL written once with
`?` placeholders (turned into `%s` for psycopg). The ledger's hot path never comes through here.

On PostgreSQL the connection comes from psycopg's pool, checked before each use: one the server
dropped (a restart) is replaced, and while the server is away a query says `store_unavailable`
after a short wait instead of failing for ever (see `farthing.adapters.pg_link`).
"""

from __future__ import annotations

import contextlib
import functools
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from farthing.adapters.rows import from_sql_u128, sql_u128
from farthing.adapters.sqlite_batch import MultiRow, many_rows
from farthing.adapters.sqlite_full import refused_when_full
from farthing.adapters.store_sqlite import SqliteStore, WriteLock
from farthing.engine.store import Store

_READ_ONLY = re.compile(r"\s*SELECT\b", re.IGNORECASE)
"""A statement that only reads; every other one takes its turn with the file's writers."""


class PlatformDb:
    def __init__(self, store: Store, derived: bool = False) -> None:
        """`derived`: the tables written here can be rebuilt from the ledger (the history projection),
        so on SQLite a commit need not wait for the disk (`synchronous=NORMAL`: in WAL mode a crash
        may lose the last such commits, never half of one, and the projection folds them again)."""
        self._lock = threading.Lock()
        self._conn: Any
        self._url = store.url
        self._path = getattr(store, "path", "")
        self._write_lock: WriteLock | None = None
        """SQLite's: the writers of the file take turns on it (PostgreSQL needs none)."""
        if isinstance(store, SqliteStore):
            self._write_lock = store.write_lock
            self._conn = sqlite3.connect(store.path, isolation_level=None, check_same_thread=False, timeout=30.0)
            self._conn.execute("PRAGMA busy_timeout=30000")
            # As durable as the ledger's store was asked to be (`?synchronous=` in the URL), no more.
            synchronous = store.synchronous.upper()
            if derived and synchronous in ("FULL", "EXTRA"):
                synchronous = "NORMAL"
            self._conn.execute(f"PRAGMA synchronous={synchronous}")
            self._postgres = False
        else:
            from farthing.adapters.pg_pool import Pool

            self._conn = Pool(store.url)
            self._postgres = True

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        if self._postgres:
            with self._lock:
                return self._conn.query(sql.replace("?", "%s"), params, not _READ_ONLY.match(sql))
        writes = self._write_lock is not None and not _READ_ONLY.match(sql)
        with self._lock, self._write_lock if writes else contextlib.nullcontext(), refused_when_full():
            cur = self._conn.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []

    def stream(self, sql: str, params: tuple[object, ...] = (), chunk: int = 10_000) -> Iterator[tuple[Any, ...]]:
        """Rows of a large query, fetched `chunk` at a time on a connection of their own (for offline
        tools such as the policy replay; the shared connection stays free)."""
        if self._postgres:
            from farthing.adapters.store_postgres import connect

            conn = connect(self._url)
            try:
                with conn.cursor(name="farthing_stream") as cur:
                    cur.execute(sql.replace("?", "%s"), params)
                    while rows := cur.fetchmany(chunk):
                        yield from rows
            finally:
                conn.close()
            return
        lite = sqlite3.connect(self._path, check_same_thread=False)
        try:
            cur = lite.execute(sql, params)
            while rows := cur.fetchmany(chunk):
                yield from rows
        finally:
            lite.close()

    @property
    def reconnections(self) -> int:
        """Connections the pool replaced after the server dropped them (0 on SQLite)."""
        return self._conn.reconnections if self._postgres else 0

    @property
    def postgres(self) -> bool:
        return self._postgres

    @property
    def u128(self) -> Callable[[int], object]:
        """A u128 as the dialect stores it beside the ledger: NUMERIC(39,0), or SQLite's INTEGER/BLOB form."""
        return int if self._postgres else sql_u128

    @staticmethod
    def from_u128(raw: object) -> int:
        if isinstance(raw, Decimal):
            return int(raw)
        return from_sql_u128(raw)  # type: ignore[arg-type]

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Several statements that commit together, or not at all."""
        with self._lock:
            if self._postgres:
                with self._conn.transaction() as conn:
                    yield Transaction(conn, True)
                return
            assert self._write_lock is not None
            with self._write_lock, refused_when_full():
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield Transaction(self._conn, False)
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:  # a COMMIT refused (a full disk) may leave it open
                        self._conn.execute("ROLLBACK")
                    raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class Transaction:
    def __init__(self, conn: Any, postgres: bool) -> None:
        self._conn = conn
        self._postgres = postgres

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        if self._postgres:
            sql = sql.replace("?", "%s")
        cur = self._conn.execute(sql, params)
        return list(cur.fetchall()) if cur.description else []

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        """`sql` once per row; on SQLite an `INSERT … VALUES (?, …)` goes as statements of many rows,
        since `executemany` lets go of the GIL around every row (see `store_sqlite.many_rows`): the
        history's inserts took up to half a second beside busy request threads, holding the
        database's write lock, and every payment waited behind them."""
        if not rows:
            return
        if self._postgres:
            with self._conn.cursor() as cur:
                cur.executemany(sql.replace("?", "%s"), rows)
            return
        statement = _multi_row(sql)
        if statement is None:
            self._conn.executemany(sql, rows)
            return
        many_rows(self._conn, statement, [value for row in rows for value in row])


_ROW = re.compile(r"^(?P<head>INSERT\b.*?\bVALUES\s*)(?P<row>\(\s*\?(?:\s*,\s*\?)*\s*\))(?P<tail>.*)$", re.S | re.I)


@functools.cache
def _multi_row(sql: str) -> MultiRow | None:
    """The statement as a multi-row insert, when it is one row of `?` after VALUES."""
    m = _ROW.match(sql)
    if m is None:
        return None
    return MultiRow(m["head"], m["row"], m["tail"], m["row"].count("?"))
