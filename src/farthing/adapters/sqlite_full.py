"""A SQLite write refused for want of disk space, said as what it is.

SQLite answers `SQLITE_FULL` ("database or disk is full") when a write cannot grow the database or its
WAL; the statement or the whole transaction is rolled back, never half applied, so the answer is
definite: nothing was changed (`storage_full`, 507). Reads go on working, and writes do again once
space is freed, without a restart.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from farthing.errors import STORAGE_FULL, ErrorCode, StoreError


def is_full(exc: sqlite3.Error) -> bool:
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) == sqlite3.SQLITE_FULL


@contextmanager
def refused_when_full() -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as exc:
        if is_full(exc):
            raise StoreError(ErrorCode.storage_full, STORAGE_FULL) from exc
        raise
