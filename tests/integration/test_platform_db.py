"""The platform's tables' connection: many rows at once, on both stores."""

from __future__ import annotations

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
