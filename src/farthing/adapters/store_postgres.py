"""The production store: PostgreSQL through psycopg 3.

A batch is one transaction on the writer's connection: it locks the single `ledger_head` row
(`SELECT … FOR UPDATE`) first, so several engine processes may share one database and take turns
batch by batch; the engine then catches up with what the others committed before it validates.
Transfers go in with COPY, balances with one `UPDATE … FROM unnest(…)`, so a batch costs a handful
of round trips whatever its size. Amounts are NUMERIC(39,0), read back as exact `int`.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from farthing.adapters import ledger_sql as sql
from farthing.adapters import migrate
from farthing.adapters.ledger_sql import ACCOUNT_COLS, TRANSFER_COLS
from farthing.adapters.pg_link import (  # psycopg through pg_link: it says which extra to install if missing
    Link,
    connect,
    dropped,
    failed,
    psycopg,
    unavailable,
)
from farthing.adapters.rows import b16, b16_or_none, int16, pending_info, status_of
from farthing.domain.balances import LedgerEvent
from farthing.domain.journal import JournalRecord
from farthing.domain.ledger_types import AccountState, PendingInfo, PendingStatus, Transfer
from farthing.engine.store import BatchCommit, Changes, Head, Witness, witness_commit

__all__ = ["PostgresStore", "connect", "scratch_schema"]


def _account(row: tuple) -> AccountState:  # type: ignore[type-arg]
    (id_, ledger, code, flags, ud, dp, dpo, cp, cpo, seq, ts) = row
    return AccountState(int16(bytes(id_)), ledger, code, flags, int16(_b(ud)), dp, dpo, cp, cpo, seq, ts)


def _b(raw: Any) -> bytes | None:
    return bytes(raw) if raw is not None else None


def _transfer(row: tuple) -> Transfer:  # type: ignore[type-arg]
    (id_, dr, cr, amount, ledger, code, flags, pid, ud, timeout) = row
    return Transfer(
        int16(bytes(id_)), int16(bytes(dr)), int16(bytes(cr)), amount, ledger, code, flags,
        int16(_b(pid)), int16(_b(ud)), timeout,
    )  # fmt: skip


def _find_transfers(conn: psycopg.Connection[Any], ids: Collection[int]) -> dict[int, Transfer]:
    rows = conn.execute(f"SELECT {TRANSFER_COLS} FROM transfers WHERE id = ANY(%s::bytea[])", ([b16(i) for i in ids],))
    found: dict[int, Transfer] = {}
    for row in rows:
        t = _transfer(row)
        found[t.id] = t
    return found


def _committed_at(conn: psycopg.Connection[Any], ids: Collection[int]) -> dict[int, int]:
    rows = conn.execute("SELECT id, timestamp_ms FROM transfers WHERE id = ANY(%s::bytea[])", ([b16(i) for i in ids],))
    return {int16(bytes(r[0])): r[1] for r in rows}


def _find_pending(conn: psycopg.Connection[Any], ids: Collection[int]) -> dict[int, PendingInfo]:
    rows = conn.execute(sql.PENDING_WITH_STATUS + "t.id = ANY(%s::bytea[])", ([b16(i) for i in ids],))
    found: dict[int, PendingInfo] = {}
    for row in rows:
        t = _transfer(row[:10])
        found[t.id] = pending_info(t, row[10], status_of(row[11], row[12]))
    return found


class PostgresLookups:
    """Look-ups by id on a connection of their own, replaced if the server dropped it; see
    `farthing.engine.store.StoreLookups`."""

    def __init__(self, link: Link) -> None:
        self.link = link

    def close(self) -> None:
        self.link.close()

    def find_transfers(self, ids: Collection[int]) -> dict[int, Transfer]:
        return self.link.read(lambda c: _find_transfers(c, ids))

    def committed_at(self, ids: Collection[int]) -> dict[int, int]:
        return self.link.read(lambda c: _committed_at(c, ids))

    def find_pending(self, ids: Collection[int]) -> dict[int, PendingInfo]:
        return self.link.read(lambda c: _find_pending(c, ids))


@dataclass(frozen=True)
class _Rows:
    """A batch's rows for COPY and its balance arrays for one UPDATE (built off the write path)."""

    accounts: list[tuple[object, ...]]
    transfers: list[tuple[object, ...]]
    expirations: list[tuple[object, ...]]
    balances: tuple[list[bytes], list[str], list[str], list[str], list[str]]
    outbox: list[tuple[object, ...]]


def _encode(batch: BatchCommit) -> _Rows:
    ts = batch.record.timestamp_ms
    accounts = [
        (b16(a.id), a.ledger, a.code, a.flags, b16_or_none(a.user_data), a.debits_pending, a.debits_posted,
         a.credits_pending, a.credits_posted, a.seq, ts)
        for a in batch.accounts_created
    ]  # fmt: skip
    transfers = [
        (seq, t.id.to_bytes(16, "big"), t.debit_account_id.to_bytes(16, "big"), t.credit_account_id.to_bytes(16, "big"),
         t.amount, t.ledger, t.code, t.flags, b16_or_none(t.pending_id), b16_or_none(t.user_data), t.timeout_s, ts)
        for seq, t in enumerate(batch.transfers, batch.first_transfer_seq)
    ]  # fmt: skip
    expirations = [(seq, b16(pid), ts) for seq, pid in batch.expired]
    touched = batch.touched
    balances = (
        [b16(a.id) for a in touched],
        [str(a.debits_pending) for a in touched],
        [str(a.debits_posted) for a in touched],
        [str(a.credits_pending) for a in touched],
        [str(a.credits_posted) for a in touched],
    )
    outbox = [(e.event_id, e.type, e.party_id, e.body, ts) for e in batch.events]
    return _Rows(accounts, transfers, expirations, balances, outbox)


class PostgresWriter:
    """One write transaction; see `farthing.engine.store.StoreWriter`."""

    def __init__(self, conn: psycopg.Connection[Any], witness: Witness | None = None) -> None:
        self.conn = conn
        self.witness = witness
        self._head: Head | None = None

    def find_transfers(self, ids: Collection[int]) -> dict[int, Transfer]:
        return _find_transfers(self.conn, ids)

    def committed_at(self, ids: Collection[int]) -> dict[int, int]:
        return _committed_at(self.conn, ids)

    def find_pending(self, ids: Collection[int]) -> dict[int, PendingInfo]:
        return _find_pending(self.conn, ids)

    def head(self) -> Head:
        if self._head is None:
            row = self.conn.execute(
                "SELECT batch_no, last_seq, hash, timestamp_ms FROM ledger_head WHERE id = 1 FOR UPDATE"
            ).fetchone()
            assert row is not None
            self._head = Head(row[0], row[1], bytes(row[2]), row[3])
        return self._head

    def changes_since(self, seq: int) -> Changes:
        c = self.conn
        accounts = [_account(r) for r in c.execute(sql.CHANGED_ACCOUNTS.format(p="%(seq)s"), {"seq": seq})]
        opened = [
            pending_info(_transfer(r[:-1]), r[-1], PendingStatus.open)
            for r in c.execute(sql.OPENED_PENDING.format(p="%(seq)s"), {"seq": seq})
        ]
        closed = [int16(bytes(pid)) for (pid,) in c.execute(sql.CLOSED_PENDING.format(p="%(seq)s"), {"seq": seq})]
        row = c.execute("SELECT id FROM transfers ORDER BY id DESC LIMIT 1").fetchone()
        max_id = int16(bytes(row[0])) if row and row[0] is not None else 0
        return Changes(accounts, opened, closed, max_id)

    def write(self, batch: BatchCommit, encoded: object = None) -> None:
        c = self.conn
        rec = batch.record
        rows = encoded if isinstance(encoded, _Rows) else _encode(batch)
        cur = c.cursor()
        for table, cols, data in (
            ("accounts", ACCOUNT_COLS, rows.accounts),
            ("transfers", f"seq, {TRANSFER_COLS}, timestamp_ms", rows.transfers),
            ("expirations", "seq, pending_id, timestamp_ms", rows.expirations),
        ):
            if data:
                with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    write_row = copy.write_row
                    for row in data:
                        write_row(row)
        cur.execute(
            "UPDATE accounts a SET debits_pending = u.dp, debits_posted = u.dpo, credits_pending = u.cp, "
            "credits_posted = u.cpo "
            "FROM unnest(%s::bytea[], %s::numeric[], %s::numeric[], %s::numeric[], %s::numeric[]) "
            "AS u(id, dp, dpo, cp, cpo) WHERE a.id = u.id",
            rows.balances,
        )
        if rows.outbox:
            cur.executemany(
                "INSERT INTO outbox (event_id, type, party_id, body, created_ms) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (event_id) DO NOTHING",
                rows.outbox,
            )
        cur.execute(sql.INSERT_JOURNAL.replace("?", "%s"), sql.journal_row(rec))
        cur.execute(sql.ADVANCE_HEAD.replace("?", "%s"), sql.head_row(rec))
        try:
            c.commit()
        except psycopg.OperationalError as exc:  # sent: unless the server answered, it may have been applied
            raise failed(exc, c, committing=True) from exc
        if self.witness is not None:
            witness_commit(self.witness, rec)


class PostgresView:
    """Whole-ledger reads on one connection; in a REPEATABLE READ transaction they all see the same commits."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def head(self) -> Head:
        row = self.conn.execute(
            "SELECT batch_no, last_seq, hash, timestamp_ms FROM ledger_head WHERE id = 1"
        ).fetchone()
        assert row is not None
        return Head(row[0], row[1], bytes(row[2]), row[3])

    def accounts(self) -> list[AccountState]:
        return [_account(r) for r in self.conn.execute(f"SELECT {ACCOUNT_COLS} FROM accounts ORDER BY seq")]

    def journal(self) -> Iterator[JournalRecord]:
        with self.conn.cursor(name="journal") as cur:
            cur.execute(
                "SELECT batch_no, first_seq, last_seq, timestamp_ms, event_count, prev_hash, hash "
                "FROM journal ORDER BY batch_no"
            )
            for row in cur:
                yield JournalRecord(row[0], row[1], row[2], row[3], row[4], bytes(row[5]), bytes(row[6]))

    def events(self, after_seq: int = 0, upto_seq: int = 1 << 62) -> Iterator[LedgerEvent]:
        span = (after_seq, upto_seq)
        with (
            self.conn.cursor(name="accounts") as acc,
            self.conn.cursor(name="transfers") as tr,
            self.conn.cursor(name="expirations") as ex,
        ):
            acc.execute(f"SELECT {ACCOUNT_COLS} FROM accounts WHERE seq > %s AND seq <= %s ORDER BY seq", span)
            tr.execute(
                f"SELECT seq, {TRANSFER_COLS}, timestamp_ms FROM transfers WHERE seq > %s AND seq <= %s ORDER BY seq",
                span,
            )
            ex.execute(
                "SELECT seq, pending_id, timestamp_ms FROM expirations WHERE seq > %s AND seq <= %s ORDER BY seq",
                span,
            )
            yield from heapq.merge(
                (LedgerEvent(r[9], account=_account(r), timestamp_ms=r[10]) for r in acc),
                (LedgerEvent(r[0], transfer=_transfer(r[1:11]), timestamp_ms=r[11]) for r in tr),
                (LedgerEvent(r[0], pending_id=int16(bytes(r[1])), timestamp_ms=r[2]) for r in ex),
                key=lambda e: e.seq,
            )


class PostgresStore:
    """The PostgreSQL store at `url` (schema migrated on open)."""

    def __init__(self, url: str, witness: Witness | None = None) -> None:
        self.url = url
        self.witness = witness
        self._conn = connect(url)
        self._reader = Link(url)
        self.reconnections = 0
        """Writer connections replaced after the server dropped one (for metrics)."""
        self._migrate()

    def _migrate(self) -> None:
        c = self._conn
        with c.transaction():
            # An advisory lock keeps two processes from migrating the same database at once.
            c.execute("SELECT pg_advisory_xact_lock(7242001)")
            c.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
                "applied_at timestamptz NOT NULL DEFAULT now())"
            )
            row = c.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
            assert row is not None
            for mig in migrate.pending("postgres", row[0]):
                c.execute(mig.sql.encode())
                c.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (mig.version, mig.name))
        c.commit()

    @contextmanager
    def writer(self) -> Iterator[PostgresWriter]:
        """A write transaction, its head row locked. If the server dropped the connection since the last
        batch, the first statement finds out and the transaction starts again on a new one (nothing was
        written yet); a failure before COMMIT changed nothing and says `store_unavailable`."""
        try:
            w = PostgresWriter(self._writer_conn(), self.witness)
            try:
                w.head()
            except psycopg.OperationalError:
                if not dropped(w.conn):
                    raise
                w = PostgresWriter(self._writer_conn(), self.witness)
                w.head()
            yield w
        except psycopg.OperationalError as exc:
            raise failed(exc, self._conn, committing=False) from exc
        finally:
            c = self._conn
            if not dropped(c) and c.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                c.rollback()

    def _writer_conn(self) -> psycopg.Connection[Any]:
        if dropped(self._conn):
            self._conn.close()
            self._conn = connect(self.url)
            self.reconnections += 1
        return self._conn

    def encode(self, batch: BatchCommit) -> object:
        return _encode(batch)

    @contextmanager
    def reader(self) -> Iterator[PostgresLookups]:
        """Look-ups of committed rows on a connection of their own, each query seeing the latest commits."""
        yield PostgresLookups(self._reader)

    def open_lookups(self) -> PostgresLookups:
        return PostgresLookups(Link(self.url))

    @contextmanager
    def _read(self) -> Iterator[psycopg.Connection[Any]]:
        """A read-only connection of its own for one whole-store read (closed after)."""
        conn = connect(self.url)
        conn.read_only = True
        try:
            with conn:
                yield conn
        except psycopg.OperationalError as exc:
            raise unavailable("a read of the ledger failed", exc) from exc

    def head(self) -> Head:
        with self._read() as conn:
            return PostgresView(conn).head()

    @contextmanager
    def snapshot(self) -> Iterator[PostgresView]:
        """One read-only REPEATABLE READ transaction: every read sees the commits of its first statement."""
        with self._read() as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            view = PostgresView(conn)
            view.head()
            yield view

    def accounts(self) -> list[AccountState]:
        with self.snapshot() as view:
            return view.accounts()

    def journal(self) -> Iterator[JournalRecord]:
        with self.snapshot() as view:
            yield from view.journal()

    def events(self, after_seq: int = 0, upto_seq: int = 1 << 62) -> Iterator[LedgerEvent]:
        with self.snapshot() as view:
            yield from view.events(after_seq, upto_seq)

    def close(self) -> None:
        self._reader.close()
        self._conn.close()
        if self.witness is not None:
            self.witness.close()


@contextmanager
def scratch_schema(url: str, prefix: str = "farthing_scratch") -> Iterator[str]:
    """A URL to a new, empty schema of the database at `url`, dropped with everything in it at the end
    (a simulation's ledger: nothing of it outlives the run). Its sessions commit without waiting for the
    disk (`synchronous_commit=off`: a crash loses the last commits of a run that is lost anyway)."""
    import secrets

    name = f"{prefix}_{secrets.token_hex(6)}"
    with connect(url) as admin:
        admin.autocommit = True
        admin.execute(f'CREATE SCHEMA "{name}"')
    try:
        joiner = "&" if "?" in url else "?"
        yield f"{url}{joiner}options=-csearch_path%3D{name}%20-csynchronous_commit%3Doff"
    finally:
        with connect(url) as admin:
            admin.autocommit = True
            admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
