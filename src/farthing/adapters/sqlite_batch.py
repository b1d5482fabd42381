"""A committed batch as SQLite rows: its parameters encoded flat, and written with multi-row statements."""

from __future__ import annotations

import functools
import operator
import sqlite3
from dataclasses import dataclass

from farthing.adapters.ledger_sql import TRANSFER_COLS
from farthing.adapters.rows import sql_u128, sql_u128_or_none
from farthing.engine.store import BatchCommit

_ACCOUNT_COLS_SEQ_FIRST = (
    "seq, id, ledger, code, flags, user_data, debits_pending, debits_posted, credits_pending, credits_posted, "
    "timestamp_ms"
)
_by_seq = operator.attrgetter("seq")


@dataclass(frozen=True)
class MultiRow:
    """A multi-row statement: `head`, then `width` parameters a row, `rows_max` rows at the most."""

    head: str
    row: str
    tail: str
    width: int

    @property
    def rows_max(self) -> int:
        """The largest power of two of rows whose parameters fit in one statement."""
        return 1 << ((_VARIABLES_MAX // self.width).bit_length() - 1)

    @functools.cache  # noqa: B019 - a handful of module-level statements, kept for the process's life
    def sql(self, rows: int) -> str:
        return self.head + ",".join([self.row] * rows) + self.tail


_VARIABLES_MAX = 32766
"""SQLite's default limit on parameters in one statement (SQLITE_MAX_VARIABLE_NUMBER since 3.32)."""

INSERT_ACCOUNTS = MultiRow(
    f"INSERT INTO accounts ({_ACCOUNT_COLS_SEQ_FIRST}) VALUES ", "(?,?,?,?,?,?,?,?,?,?,?)", "", 11
)
INSERT_TRANSFERS = MultiRow(
    f"INSERT INTO transfers (seq, {TRANSFER_COLS}, timestamp_ms) VALUES ", "(?,?,?,?,?,?,?,?,?,?,?,?)", "", 12
)
INSERT_EXPIRATIONS = MultiRow("INSERT INTO expirations (seq, pending_id, timestamp_ms) VALUES ", "(?,?,?)", "", 3)
INSERT_OUTBOX = MultiRow(
    "INSERT INTO outbox (event_id, type, party_id, body, created_ms) VALUES ",
    "(?,?,?,?,?)",
    " ON CONFLICT (event_id) DO NOTHING",
    5,
)
UPDATE_BALANCES = MultiRow(
    "UPDATE accounts SET debits_pending = v.column2, debits_posted = v.column3, credits_pending = v.column4, "
    "credits_posted = v.column5 FROM (VALUES ",
    "(?,?,?,?,?)",
    ") AS v WHERE accounts.seq = v.column1",
    5,
)


def many_rows(conn: sqlite3.Connection, statement: MultiRow, flat: list[object]) -> None:
    """Run `statement` over rows of `flat` parameters, many rows a statement.

    One statement for thousands of rows costs SQLite one step and Python one release of the GIL,
    where `executemany` releases and re-takes the GIL around every row: beside another busy thread
    that costs a switch interval a row (measured: 8,190 rows took 3.8 s instead of 12 ms). Chunk sizes
    are powers of two, so a few cached statements serve every batch size.
    """
    rows = len(flat) // statement.width
    start = 0
    while start < rows:
        n = statement.rows_max
        while n > rows - start:
            n //= 2
        conn.execute(statement.sql(n), flat[start * statement.width : (start + n) * statement.width])
        start += n


@dataclass(frozen=True)
class Rows:
    """A batch's parameters, flat, ready for the multi-row statements (built off the write path)."""

    accounts: list[object]
    transfers: list[object]
    expirations: list[object]
    balances: list[object]
    outbox: list[object]


def encode(batch: BatchCommit) -> Rows:
    ts = batch.record.timestamp_ms
    u, un = sql_u128, sql_u128_or_none
    accounts: list[object] = []
    put = accounts.extend
    for a in batch.accounts_created:
        put((a.seq, u(a.id), a.ledger, a.code, a.flags, un(a.user_data), u(a.debits_pending), u(a.debits_posted),
             u(a.credits_pending), u(a.credits_posted), ts))  # fmt: skip
    transfers: list[object] = []
    put = transfers.extend
    for seq, t in enumerate(batch.transfers, batch.first_transfer_seq):
        put((seq, u(t.id), u(t.debit_account_id), u(t.credit_account_id), u(t.amount), t.ledger, t.code,
             t.flags, un(t.pending_id), un(t.user_data), t.timeout_s, ts))  # fmt: skip
    expirations: list[object] = []
    for seq, pid in batch.expired:
        expirations.extend((seq, u(pid), ts))
    balances: list[object] = []
    put = balances.extend
    for a in sorted(batch.touched, key=_by_seq):  # rowid order: the update walks the table forwards
        put((a.seq, u(a.debits_pending), u(a.debits_posted), u(a.credits_pending), u(a.credits_posted)))
    outbox: list[object] = []
    for e in batch.events:
        outbox.extend((e.event_id, e.type, e.party_id, e.body, ts))
    return Rows(accounts, transfers, expirations, balances, outbox)
