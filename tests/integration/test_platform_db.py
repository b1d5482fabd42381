"""The platform's tables' connection: many rows at once, on both stores."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from farthing.adapters.open_store import open_store
from farthing.adapters.platform_db import PlatformDb, _multi_row


def test_many_rows_insert_as_one_row_at_a_time_would(store_url: str) -> None:
    store = open_store(store_url)
    db = PlatformDb(store)
    try:
        db.query("CREATE TABLE many_rows_check (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
        rows = [(k, f"v{k}") for k in range(5_000)]  # more than one statement's parameters (32,766 / 2 rows)
        with db.transaction() as tx:
            tx.executemany("INSERT INTO many_rows_check (k, v) VALUES (?, ?)", rows[:3_000])
            tx.executemany(  # duplicates within the rows and with the table: skipped, as row by row
                "INSERT INTO many_rows_check (k, v) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(k, "again") for k in range(2_990, 3_010)] + rows[2_500:] + [(4_999, "again")],
            )
        got = db.query("SELECT k, v FROM many_rows_check ORDER BY k")
        expected = rows[:3_000] + [(k, "again") for k in range(3_000, 3_010)] + rows[3_010:]
        assert [(int(k), v) for k, v in got] == expected
    finally:
        db.query("DROP TABLE IF EXISTS many_rows_check")
        db.close()
        store.close()


def test_only_inserts_of_one_row_of_parameters_go_many_rows_a_statement() -> None:
    multi = _multi_row("INSERT INTO t (a, b) VALUES (?, ?) ON CONFLICT DO NOTHING")
    assert multi is not None and (multi.head, multi.row, multi.tail, multi.width) == (
        "INSERT INTO t (a, b) VALUES ",
        "(?, ?)",
        " ON CONFLICT DO NOTHING",
        2,
    )
    assert _multi_row("UPDATE t SET a = ? WHERE b = ?") is None
    assert _multi_row("INSERT INTO t (a) SELECT ? FROM u") is None


def test_the_platform_tables_are_as_durable_as_the_store_was_asked_to_be(tmp_path: Path) -> None:
    """`?synchronous=` in the URL holds for the whole file: the platform's tables included (they made
    four waits for the disk in each of the simulator's step-ups); derived tables never wait more than NORMAL."""
    for asked, plain, derived in [("FULL", 2, 1), ("NORMAL", 1, 1), ("OFF", 0, 0)]:
        store = open_store(f"sqlite:///{tmp_path}/{asked}.db?synchronous={asked}")
        try:
            for is_derived, want in ((False, plain), (True, derived)):
                db = PlatformDb(store, derived=is_derived)
                assert db.query("PRAGMA synchronous")[0][0] == want, (asked, is_derived)
                db.close()
        finally:
            store.close()


def test_a_single_write_waits_its_turn_with_the_files_other_writers(tmp_path: Path) -> None:
    """A statement that writes outside a transaction takes the writers' lock too, so it queues behind
    the ledger's flush instead of sleeping in SQLite's busy handler; a read does not wait."""
    store = open_store(f"sqlite:///{tmp_path}/lock.db")
    db = PlatformDb(store)
    db.query("CREATE TABLE turn_check (k INTEGER PRIMARY KEY)")
    wrote = threading.Event()
    try:
        lock = store.write_lock  # type: ignore[attr-defined]
        with lock:
            writer = threading.Thread(target=lambda: (db.query("INSERT INTO turn_check VALUES (1)"), wrote.set()))
            writer.start()
            assert not wrote.wait(0.3)  # held back while another writer has the file
        writer.join(5)
        assert wrote.is_set() and db.query("SELECT count(*) FROM turn_check") == [(1,)]
        with lock:
            assert db.query("SELECT count(*) FROM turn_check") == [(1,)]  # reads go on meanwhile
    finally:
        db.close()
        store.close()


def test_the_embedded_default_is_wal_with_synchronous_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What `farthing serve` opens with no --db (farthing.db here): the connections it writes through,
    the ledger's and the platform tables', wait for the disk at each commit."""
    from farthing.bootstrap import open_platform

    monkeypatch.chdir(tmp_path)
    platform = open_platform()
    try:
        store = platform.ledger.engine.store
        assert Path(store.path).resolve() == (tmp_path / "farthing.db").resolve()  # type: ignore[attr-defined]
        conn = store._conn  # type: ignore[attr-defined]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert platform.db.query("PRAGMA synchronous")[0][0] == 2
    finally:
        platform.close()
