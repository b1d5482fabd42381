"""The platform's own tables (parties, wallets, API keys) on the ledger's database.

Small, infrequent queries, so one connection of its own guarded by a lock, and SQL written once with
`?` placeholders (turned into `%s` for psycopg). The ledger's hot path never comes through here.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from farthing.adapters.store_sqlite import SqliteStore
from farthing.engine.store import Store


class PlatformDb:
    def __init__(self, store: Store) -> None:
        self._lock = threading.Lock()
        self._conn: Any
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

    def close(self) -> None:
        with self._lock:
            self._conn.close()
