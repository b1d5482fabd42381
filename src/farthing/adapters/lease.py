"""The lease on a store's single duties: of the server processes sharing one store, only the holder
delivers webhooks and closes channels past their deadline (two dispatchers would send each event twice).

The lease is a lock the operating system or the database lets go of by itself when its holder dies,
so a worker killed with SIGKILL never leaves it held: another takes it at its next look.

- SQLite: `flock` on a file beside the database (`<file>-lease`), held by an open descriptor.
- PostgreSQL: a session advisory lock, keyed by the database and schema, held by a connection of its
  own. If that connection drops, the server has let the lock go: `held()` says so, and the holder stops
  its duties before another starts them.
- An in-memory SQLite database has one process by nature: its lease is always held.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from typing import Any, Protocol

from farthing.adapters.open_store import sidecar, sqlite_path

_KEY = "farthing.single-duties"


class Lease(Protocol):
    def try_take(self) -> bool:
        """Take the lease if nobody holds it; True if this process holds it now, False if another does.
        Raises when the store does not answer."""
        ...

    def held(self) -> bool:
        """This process still holds the lease (it took it and has not lost it)."""
        ...

    def close(self) -> None: ...


class SoleLease:
    """A store no other process can open: always held."""

    def try_take(self) -> bool:
        return True

    def held(self) -> bool:
        return True

    def close(self) -> None:
        return None


class FileLease:
    """An exclusive `flock` on a file: let go when the descriptor closes, or its process dies."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def try_take(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def held(self) -> bool:
        return self._fd is not None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class AdvisoryLease:
    """A PostgreSQL session advisory lock on a connection of the lease's own."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: Any = None

    def try_take(self) -> bool:
        if self.held():
            return True
        self.close()
        from farthing.adapters.pg_link import connect

        conn = connect(self.url, autocommit=True)  # a store away raises: nobody can be given the lease now
        row = conn.execute(
            "SELECT pg_try_advisory_lock(hashtextextended(%s || current_database() || '.' || current_schema(), 0))",
            (_KEY + ".",),
        ).fetchone()
        if row is None or not row[0]:
            conn.close()
            return False
        self._conn = conn
        return True

    def held(self) -> bool:
        if self._conn is None:
            return False
        try:
            self._conn.execute("SELECT 1")
        except Exception:  # the connection dropped, and the server let the lock go with it
            self.close()
            return False
        return True

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


def lease_for(url: str) -> Lease:
    """The lease of the store at `url` (a store's own `url`, as `open_store` made it)."""
    if url.startswith(("postgresql://", "postgres://")):
        return AdvisoryLease(url)
    path, _ = sqlite_path(url) if url.startswith("sqlite:") else (url, {})
    beside = sidecar(path, "-lease")
    return SoleLease() if beside is None else FileLease(beside)
