"""The platform tables' connection to PostgreSQL: psycopg's pool, each connection checked before use.

A connection the server dropped is found by the check and replaced; while the server is away, taking a
connection waits at most `WAIT_S` and then says `store_unavailable`. A statement that fails on the way
says what is known of its outcome (see `farthing.adapters.pg_link`): a read or an unfinished
transaction changed nothing; a write that commits by itself, or a COMMIT, may have been applied.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from farthing.adapters.pg_link import configure, failed, redacted, unavailable

WAIT_S = 1.0
"""How long a query waits for a connection while the server is away, before `store_unavailable`."""
RECONNECT_S = 3.0
"""How long the pool keeps retrying one connection (backing off: 1 s, then 2 s) before it gives up and
the next request starts a fresh attempt: bounds the wait between the server's return and the pool's
noticing it (at 10 s, a 3 s outage was noticed 3.8 s after the server was back; measured by
bench/faults.py)."""


class Pool:
    def __init__(self, url: str, size: int = 1) -> None:
        self._url = url
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url,
            min_size=size,
            max_size=size,
            kwargs={"autocommit": True},
            configure=configure,
            check=ConnectionPool.check_connection,
            timeout=WAIT_S,
            reconnect_timeout=RECONNECT_S,
            name="farthing-platform",
            open=False,
        )
        try:
            self._pool.open(wait=True, timeout=WAIT_S * 2)
        except PoolTimeout as exc:
            self._pool.close()
            raise unavailable(f"cannot connect to {redacted(url)}", exc) from exc

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self._pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise unavailable("no connection to the database", exc) from exc

    def query(self, sql: str, params: Sequence[object], writes: bool) -> list[tuple[Any, ...]]:
        with self._connection() as conn:
            try:
                cur = conn.execute(sql, params)
                return list(cur.fetchall()) if cur.description else []
            except psycopg.OperationalError as exc:
                raise failed(exc, conn, committing=writes) from exc

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """A transaction on one connection: a failure before COMMIT changed nothing; one during it may have."""
        with self._connection() as conn:
            committing = False
            try:
                with conn.transaction():
                    yield conn
                    committing = True
            except psycopg.OperationalError as exc:
                raise failed(exc, conn, committing) from exc

    def close(self) -> None:
        self._pool.close()

    @property
    def reconnections(self) -> int:
        return int(self._pool.get_stats().get("connections_lost", 0))
