"""What a database failure means for the outcome, as the adapters tell it: the server's refusal is
definite, a connection lost during a commit leaves it unknown, any other loss changed nothing; SQLite's
full disk is `storage_full`."""

from __future__ import annotations

import sqlite3
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest

from farthing.adapters.pg_link import failed
from farthing.adapters.sqlite_full import refused_when_full
from farthing.errors import ErrorCode, StoreError

ALIVE: Any = SimpleNamespace(closed=False, broken=False)
LOST: Any = SimpleNamespace(closed=False, broken=True)
CLOSED = "server closed the connection unexpectedly"


@pytest.mark.parametrize(
    ("exc", "conn", "committing", "code"),
    [
        (psycopg.errors.DiskFull("could not extend file"), ALIVE, True, ErrorCode.storage_full),
        (psycopg.errors.DiskFull("could not extend file"), ALIVE, False, ErrorCode.storage_full),
        (psycopg.OperationalError(CLOSED), LOST, True, ErrorCode.outcome_unknown),
        (psycopg.OperationalError(CLOSED), None, True, ErrorCode.outcome_unknown),
        (
            psycopg.OperationalError(CLOSED),
            LOST,
            False,
            ErrorCode.store_unavailable,
        ),
        (psycopg.errors.SerializationFailure("could not serialize"), ALIVE, True, ErrorCode.store_unavailable),
    ],
)
def test_a_postgres_failure_is_told_by_what_is_known_of_its_outcome(
    exc: psycopg.OperationalError, conn: Any, committing: bool, code: ErrorCode
) -> None:
    told = failed(exc, conn, committing)
    assert told.code is code
    if code is not ErrorCode.outcome_unknown:
        assert "nothing was changed" in told.detail
    else:
        assert "same Idempotency-Key" in told.detail


def test_sqlite_full_is_storage_full_and_other_errors_pass_through(tmp_path: Any) -> None:
    conn = sqlite3.connect(tmp_path / "small.db", isolation_level=None)
    conn.execute("CREATE TABLE t (x BLOB)")
    conn.execute("PRAGMA max_page_count = 3")  # SQLite's own way to say "full" without filling a disk
    with pytest.raises(StoreError) as full, refused_when_full():
        for _ in range(20):
            conn.execute("INSERT INTO t VALUES (zeroblob(4096))")
    assert full.value.code is ErrorCode.storage_full
    with pytest.raises(sqlite3.OperationalError, match="no such table"), refused_when_full():
        conn.execute("SELECT * FROM missing")
