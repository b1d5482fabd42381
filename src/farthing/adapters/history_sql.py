"""The history projection's tables (`entries`, `payment_references`, `history_cursor`) and the reads it
makes of the journal and the outbox: `farthing.services.history.StatementRepository` in SQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from farthing.adapters import daily_totals
from farthing.adapters.platform_db import PlatformDb
from farthing.adapters.rows import b16, b16_or_none, int16
from farthing.domain.chart import T_PLATFORM_FEE
from farthing.domain.statement import TYPES, Entry, Line, LineKind, Moved, entry_of

_IN_CHUNK = 500
_LINE = (
    "e.account_id, e.seq, e.timestamp_ms, e.transfer_id, e.code, e.flags, e.expired, e.side, e.amount, e.released, "
    "e.debits_pending, e.debits_posted, e.credits_pending, e.credits_posted, e.payment_id, e.reference_hash"
)


DAY_MS = 86_400_000


def _condition(kind: LineKind) -> str:
    """The SQL that picks a type's lines (its numbers are the chart's constants, never the caller's)."""
    parts = [] if kind.code is None else [f"e.code = {int(kind.code)}"]
    if kind.flags_any:
        parts.append(f"(e.flags & {int(kind.flags_any)}) <> 0")
    if kind.flags_none:
        parts.append(f"(e.flags & {int(kind.flags_none)}) = 0")
    if kind.expired is not None:
        parts.append(f"e.expired = {int(kind.expired)}")
    return " AND ".join(parts)


class StatementTable:
    ANALYZE_MIN_ROWS = 20_000
    """On PostgreSQL, statistics are refreshed (ANALYZE) once this many lines, or half as many as the
    table held when last analyzed, were folded in since, by every process (PostgreSQL's own count,
    `n_mod_since_analyze`): so a table analyzed at 40,000 lines is analyzed again at 60,000, one of
    2,000,000 at 3,000,000. The projection loads rows in bulk, faster than autovacuum notices (and
    autovacuum may be off): with statistics from before a million payments the planner guessed 9,000
    lines for a merchant holding 2,000,000 and sorted them all for a page of 100 (a second; 0.16 ms once
    analyzed, by the primary key read backwards); never analyzed, a page of 75,000 payments took 104 ms."""
    CHECK_EVERY_ROWS = 5_000
    """How many lines this process folds between two looks at PostgreSQL's count."""

    def __init__(self, db: PlatformDb, analyze_min_rows: int | None = None) -> None:
        self.db = db
        self.analyze_min_rows = analyze_min_rows or self.ANALYZE_MIN_ROWS
        self._unanalyzed = 0
        """Lines this process folded since it last analyzed (PostgreSQL's count may lag by a second)."""
        self._unchecked = 0

    def close(self) -> None:
        self.db.close()

    # -- the projection's writes and what it reads ------------------------------------------------

    def cursor(self) -> tuple[int, int]:
        [(seq, outbox_id)] = self.db.query("SELECT seq, outbox_id FROM history_cursor WHERE id = 1")
        return int(seq), int(outbox_id)

    def chunk_end(self, after: int, events: int) -> int | None:
        rows = self.db.query(
            "SELECT max(last_seq) FROM journal WHERE last_seq > ? AND last_seq <= ?", (after, after + events)
        )
        if rows and rows[0][0] is not None:
            return int(rows[0][0])
        rows = self.db.query("SELECT min(last_seq) FROM journal WHERE last_seq > ?", (after,))
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def payment_bodies(self, after_outbox_id: int) -> list[tuple[int, str | None]]:
        return [
            (int(oid), body)
            for oid, body in self.db.query(
                "SELECT id, CASE WHEN type IN ('payment.succeeded', 'payment.requires_capture') "
                "AND body NOT LIKE ? THEN body END FROM outbox WHERE id > ? ORDER BY id",
                ('%"reference":null%', after_outbox_id),
            )
        ]

    def last_balances(self, accounts: Iterable[int]) -> dict[int, list[int]]:
        ids = list(accounts)
        found = {a: [0, 0, 0, 0] for a in ids}
        f = self.db.from_u128
        for i in range(0, len(ids), _IN_CHUNK):
            chunk = [b16(a) for a in ids[i : i + _IN_CHUNK]]
            marks = ",".join("?" * len(chunk))
            rows = self.db.query(
                "SELECT e.account_id, e.debits_pending, e.debits_posted, e.credits_pending, e.credits_posted "
                f"FROM entries e JOIN (SELECT account_id, max(seq) AS seq FROM entries WHERE account_id IN ({marks}) "
                "GROUP BY account_id) m ON m.account_id = e.account_id AND m.seq = e.seq",
                tuple(chunk),
            )
            for acc, dp, dpo, cp, cpo in rows:
                found[int16(bytes(acc))] = [f(dp), f(dpo), f(cp), f(cpo)]
        return found

    def append(self, after: int, upto: int, outbox_id: int, moves: Sequence[Moved], references: dict[int, str]) -> bool:
        u, rows = self.db.u128, []
        for m in moves:  # by position, for speed: `Moved`'s fields in order
            seq, ts, tid, code, flags, expired = m[0], m[1], b16(m[2]), m[3], m[4], int(m[5])
            amount, released, payment, ref = u(m[6]), u(m[7]), b16_or_none(m[8]), b16_or_none(m[9])
            rows.append((b16(m[10]), seq, ts, tid, code, flags, expired, 0, amount, released, u(m[11]), u(m[12]),
                         u(m[13]), u(m[14]), payment, ref))  # fmt: skip
            rows.append((b16(m[15]), seq, ts, tid, code, flags, expired, 1, amount, released, u(m[16]), u(m[17]),
                         u(m[18]), u(m[19]), payment, ref))  # fmt: skip
        added = daily_totals.deltas(moves)
        with self.db.transaction() as tx:
            # Locked on PostgreSQL, whose writers do not take turns as SQLite's do: a second folder waits
            # here until the first commits, then sees the cursor moved instead of colliding on its rows.
            lock = " FOR UPDATE" if self.db.postgres else ""
            [(now_at,)] = tx.query("SELECT seq FROM history_cursor WHERE id = 1" + lock)
            if now_at != after:
                return False
            tx.executemany(
                "INSERT INTO entries (account_id, seq, timestamp_ms, transfer_id, code, flags, expired, side, amount, "
                "released, debits_pending, debits_posted, credits_pending, credits_posted, payment_id, reference_hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            tx.executemany(
                "INSERT INTO payment_references (payment_id, reference) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(b16(pid), ref) for pid, ref in references.items()],
            )
            daily_totals.add(tx, self.db, added)
            tx.query("UPDATE history_cursor SET seq = ?, outbox_id = ? WHERE id = 1", (upto, outbox_id))
        if self.db.postgres:
            self._refresh_statistics(len(rows))
        return True

    def _refresh_statistics(self, folded: int) -> None:
        """ANALYZE when the lines folded in since the last one, by any process, make it due."""
        self._unanalyzed += folded
        self._unchecked += folded
        if self._unchecked < min(self.CHECK_EVERY_ROWS, self.analyze_min_rows):
            return
        self._unchecked = 0
        [(changed, held)] = self.db.query(
            "SELECT COALESCE(s.n_mod_since_analyze, 0), c.reltuples FROM pg_class c "
            "LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = 'entries'::regclass"
        )
        if max(int(changed), self._unanalyzed) >= max(self.analyze_min_rows, int(held) // 2):
            self._unanalyzed = 0
            self.db.query("ANALYZE entries")
            self.db.query("ANALYZE payment_references")

    # -- reads -------------------------------------------------------------------------------------

    def lines(
        self, account_id: int | None, types: Sequence[str], reference_hash: int | None, gte_ms: int | None,
        lte_ms: int | None, before_seq: int | None, limit: int,
    ) -> list[Entry]:  # fmt: skip
        where: list[str] = []
        params: list[object] = []
        if account_id is None:  # across accounts, by reference (index entries_by_reference): the payee's lines
            assert reference_hash is not None
            where.append("e.side = 1")
        else:
            where.append("e.account_id = ?")
            params.append(b16(account_id))
        if before_seq is not None:
            where.append("e.seq < ?")
            params.append(before_seq)
        if types:
            where.append("(" + " OR ".join(f"({_condition(TYPES[t])})" for t in types) + ")")
        if reference_hash is not None:
            where.append("e.reference_hash = ?")
            params.append(b16(reference_hash))
        if gte_ms is not None:
            where.append("e.timestamp_ms >= ?")
            params.append(gte_ms)
        if lte_ms is not None:
            where.append("e.timestamp_ms <= ?")
            params.append(lte_ms)
        rows = self.db.query(
            f"SELECT {_LINE}, r.reference FROM entries e LEFT JOIN payment_references r "
            f"ON r.payment_id = e.payment_id WHERE {' AND '.join(where)} ORDER BY e.seq DESC LIMIT ?",
            (*params, limit),
        )
        return [entry_of(self._line(r), r[16]) for r in rows]

    def ascending(self, account_id: int, gte_ms: int, lt_ms: int, after_seq: int, limit: int) -> list[Moved]:
        """The account's lines from `gte_ms` until before `lt_ms`, oldest first, after `after_seq`, lean:
        (seq, timestamp, transfer id, code, flags, expired, side, amount, released, debits pending, debits
        posted, credits posted, payment id (0: none), reference) for a statement of a million lines."""
        rows = self.db.query(
            "SELECT e.seq, e.timestamp_ms, e.transfer_id, e.code, e.flags, e.expired, e.side, e.amount, e.released, "
            "e.debits_pending, e.debits_posted, e.credits_posted, e.payment_id, r.reference FROM entries e "
            "LEFT JOIN payment_references r ON r.payment_id = e.payment_id "
            "WHERE e.account_id = ? AND e.seq > ? AND e.timestamp_ms >= ? AND e.timestamp_ms < ? "
            "ORDER BY e.seq LIMIT ?",
            (b16(account_id), after_seq, gte_ms, lt_ms, limit),
        )
        f = self.db.from_u128
        out: list[Moved] = []
        for seq, ts, tid, code, flags, expired, side, amount, released, dp, dpo, cpo, pid, ref in rows:
            values = [v if type(v) is int else f(v) for v in (amount, released, dp, dpo, cpo)]
            out.append((seq, ts, int16(bytes(tid)), code, flags, expired, side, *values,
                        int16(bytes(pid)) if pid is not None else 0, ref))  # fmt: skip
        return out

    def _line(self, r: tuple[object, ...]) -> Line:
        f = self.db.from_u128
        return Line(int16(bytes(r[0])), int(r[1]), int(r[2]), int16(bytes(r[3])), int(r[4]), int(r[5]),  # type: ignore[arg-type, call-overload]
                    bool(r[6]), int(r[7]), f(r[8]), f(r[9]), f(r[10]), f(r[11]), f(r[12]), f(r[13]),
                    int16(bytes(r[14])) if r[14] is not None else None, None)  # type: ignore[arg-type]  # fmt: skip

    def balances_at(self, account_id: int, at_ms: int) -> tuple[int, int, int, int]:
        rows = self.db.query(
            "SELECT debits_pending, debits_posted, credits_pending, credits_posted FROM entries "
            "WHERE account_id = ? AND timestamp_ms <= ? ORDER BY seq DESC LIMIT 1",
            (b16(account_id), at_ms),
        )
        if not rows:
            return (0, 0, 0, 0)
        f = self.db.from_u128
        dp, dpo, cp, cpo = rows[0]
        return (f(dp), f(dpo), f(cp), f(cpo))

    def daily(self, account_id: int, since_ms: int) -> list[tuple[int, str, int]]:
        """(UTC day number, "received" | "fees" | "refunds", amount) of an account's posted lines from the
        day holding `since_ms` on: payments and captures credited, the platform's fees and refunds
        debited (`daily_totals`: a row a day, whatever the number of lines)."""
        totals = daily_totals.read(self.db, account_id, since_ms // DAY_MS)
        return [(day, name, amount) for (day, name), amount in sorted(totals.items())]

    def fee_and_reference(self, payment_id: int) -> tuple[int, str | None]:
        rows = self.db.query(
            f"SELECT amount FROM entries WHERE payment_id = ? AND code = {T_PLATFORM_FEE} AND side = 1",
            (b16(payment_id),),
        )
        fee = sum(self.db.from_u128(r[0]) for r in rows)
        ref = self.db.query("SELECT reference FROM payment_references WHERE payment_id = ?", (b16(payment_id),))
        return fee, (ref[0][0] if ref else None)
