"""The platform's own tables (parties, wallets, API keys) on the ledger's database.

Small, infrequent queries, so one connection of its own guarded by a lock, and SQL written once with
`?` placeholders (turned into `%s` for psycopg). The ledger's hot path never comes through here.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from farthing.adapters.rows import from_sql_u128, sql_u128
from farthing.adapters.store_sqlite import SqliteStore
from farthing.engine.store import Store


class PlatformDb:
    def __init__(self, store: Store) -> None:
        self._lock = threading.Lock()
        self._conn: Any
        self._url = store.url
        self._path = getattr(store, "path", "")
        if isinstance(store, SqliteStore):
            self._conn = sqlite3.connect(store.path, isolation_level=None, check_same_thread=False, timeout=30.0)
            self._conn.execute("PRAGMA busy_timeout=30000")
            self._postgres = False
        else:
            from farthing.adapters.store_postgres import connect

            self._conn = connect(store.url)
            self._conn.autocommit = True
            self._postgres = True

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        if self._postgres:
            sql = sql.replace("?", "%s")
        with self._lock:
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
                with self._conn.transaction():
                    yield Transaction(self._conn, True)
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._conn, False)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

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
        if not rows:
            return
        if self._postgres:
            with self._conn.cursor() as cur:
                cur.executemany(sql.replace("?", "%s"), rows)
        else:
            self._conn.executemany(sql, rows)
