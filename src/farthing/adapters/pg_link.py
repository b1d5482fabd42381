"""Connections to PostgreSQL that survive the server going away and coming back.

A connection the server dropped (a restart, a failover, a network cut) stays dropped: psycopg marks
it `broken` and every later statement fails. Here a dropped connection is replaced on its next use,
so a running Farthing serves again by itself once the server is back. What a caller is told while it
is away depends on what is known:

- nothing was sent, or only reads, or a transaction that never reached COMMIT: the server applied
  nothing, so `store_unavailable` (503, retry later);
- the connection was lost during COMMIT (or during a statement that commits by itself): the server
  may or may not have applied it, so `outcome_unknown` (503, retry with the same Idempotency-Key).

A read is safe to send twice, so a read that finds its connection dropped is sent once more on a new
one before anything is said: the first request after a restart does not fail for nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from farthing.errors import STORAGE_FULL, ErrorCode, StoreError

try:
    import psycopg
    from psycopg.adapt import Loader
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise StoreError(
        ErrorCode.store_unavailable, "PostgreSQL support needs the extra: pip install 'farthing[postgres]'"
    ) from exc

T = TypeVar("T")

CONNECT_TIMEOUT_S = 2
"""How long opening a connection may take before the store is said to be unavailable."""


class _IntNumericLoader(Loader):
    """NUMERIC(39,0) columns hold whole numbers: load them as exact `int`, never `Decimal`."""

    def load(self, data: Any) -> int:
        return int(bytes(data))


def configure(conn: psycopg.Connection[Any]) -> None:
    """What every Farthing connection needs: NUMERIC loaded as `int`."""
    conn.adapters.register_loader("numeric", _IntNumericLoader)


def connect(url: str, autocommit: bool = False) -> psycopg.Connection[Any]:
    try:
        conn = psycopg.connect(url, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.OperationalError as exc:
        raise unavailable(f"cannot connect to {redacted(url)}", exc) from exc
    configure(conn)
    return conn


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def unavailable(what: str, exc: BaseException) -> StoreError:
    return StoreError(
        ErrorCode.store_unavailable,
        f"{what}: the database is not answering ({_first_line(exc)}); nothing was changed",
    )


def failed(exc: psycopg.OperationalError, conn: psycopg.Connection[Any] | None, committing: bool) -> StoreError:
    """What a statement's failure means for its outcome. The server's own refusal is definite (a full
    disk: nothing was changed); a connection lost while a commit was under way leaves it unknown;
    any other loss changed nothing."""
    if isinstance(exc, psycopg.errors.DiskFull):
        return StoreError(ErrorCode.storage_full, STORAGE_FULL)
    if committing and dropped(conn):
        return unknown(exc)
    return unavailable("a statement failed", exc)


def unknown(exc: BaseException) -> StoreError:
    return StoreError(
        ErrorCode.outcome_unknown,
        f"the database connection was lost while committing ({_first_line(exc)}): the change may or may not have "
        "been applied; retry with the same Idempotency-Key to learn its result",
    )


def dropped(conn: psycopg.Connection[Any] | None) -> bool:
    return conn is None or conn.closed or conn.broken


class Link:
    """One connection to `url` for one user at a time, replaced when the server dropped it."""

    def __init__(self, url: str, autocommit: bool = True, read_only: bool = False) -> None:
        self.url = url
        self._autocommit = autocommit
        self._read_only = read_only
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()
        self.reconnections = 0
        """Connections replaced after the server dropped one (for metrics)."""

    def get(self) -> psycopg.Connection[Any]:
        """The connection, opened anew if there is none or the server dropped it."""
        if dropped(self._conn):
            if self._conn is not None:
                self._conn.close()
                self.reconnections += 1
            self._conn = None
            conn = connect(self.url, self._autocommit)
            if self._read_only:
                conn.read_only = True
            self._conn = conn
        assert self._conn is not None
        return self._conn

    def read(self, query: Callable[[psycopg.Connection[Any]], T]) -> T:
        """`query(conn)`, sent once more on a new connection if the first one had been dropped."""
        with self._lock:
            try:
                return query(self.get())
            except psycopg.OperationalError as exc:
                if not dropped(self._conn):
                    raise unavailable("a read failed", exc) from exc
            try:
                return query(self.get())
            except psycopg.OperationalError as exc:
                raise unavailable("a read failed", exc) from exc

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
