"""Wallet history: account statements projected from the ledger's events, after the commit.

The write path keeps no per-account index (one would halve the ledger's ingest); instead this
projection folds the committed events (`farthing.domain.balances`) into `entries`, one row per account
that a transfer or an expiry moved, with the four balance columns after it, like TigerBeetle's account
balances history. From these rows come a wallet's transactions (newest first, with cursors that keep
their filters), its balance at any past moment, the transactions carrying a merchant's reference, the
holds that expired, and a payment's fee. Reads catch the projection up first, so a caller always sees
its own committed payments; a background thread keeps it close behind the ledger in between.

The projection is rebuilt from the ledger alone: it reads whole journal batches (a linked chain never
straddles two), and writes a chunk's rows with its cursor in one transaction, so a crash mid-way
repeats nothing and loses nothing. Several processes may run it on one database (the server's reads
and its projection process do): each checks, in its write transaction and holding the cursor's row,
that the cursor has not moved since it read it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Sequence

from farthing.adapters.platform_db import PlatformDb
from farthing.adapters.rows import b16, b16_or_none, int16
from farthing.domain.balances import BalanceFold, LedgerEvent
from farthing.engine.ids import derive_id
from farthing.engine.store import ClosableLookups, Store
from farthing.services.accounts import (
    T_PAYMENT,
    T_PLATFORM_FEE,
    payment_transfer_id,
)
from farthing.services.history_lines import TYPES, Entry, Filters, Page, payment_of, type_of

_log = logging.getLogger("farthing.history")
_PENDING, _POST, _VOID, _LINKED = 2, 4, 8, 1
CHUNK_EVENTS = 20_000
"""Events folded per transaction (rounded up to whole journal batches)."""
_IN_CHUNK = 500


class History:
    def __init__(self, store: Store, db: PlatformDb) -> None:
        self.store = store
        self.db = db
        self._lookups: ClosableLookups = store.open_lookups()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the projection ---------------------------------------------------------------------------

    def start(self, interval_s: float = 0.5) -> None:
        """Keep the projection close behind the ledger from a thread of its own."""

        def run() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.catch_up(self._stop)
                except Exception:  # a failed round is logged and retried on the next tick
                    _log.exception("the history projection could not catch up")

        self._thread = threading.Thread(target=run, name="farthing-history", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            self._lookups.close()
            self.db.close()

    def catch_up(self, stop: threading.Event | None = None) -> int:
        """Fold every event committed so far into the statements; the number of events folded. With
        `stop`, return between chunks once it is set (closing must not wait for a long backlog: after
        a million batched payments the projection may be minutes behind)."""
        with self._lock:
            folded = 0
            while stop is None or not stop.is_set():
                n = self._step()
                if n == 0:
                    break
                folded += n
            return folded

    def _step(self) -> int:
        [(after, outbox_id)] = self.db.query("SELECT seq, outbox_id FROM history_cursor WHERE id = 1")
        upto = self._chunk_end(after)
        if upto is None:
            return 0
        events = list(self.store.events(after, upto))
        references, outbox_max = self._references(outbox_id)
        fold = self._fold_for(events)
        rows: list[tuple[object, ...]] = []
        u = self.db.u128
        chain_payment = 0
        linked_before = False
        for e in events:
            move = fold.apply(e)
            if move is None:
                continue
            t = move.transfer
            if not linked_before:  # a chain's first transfer names the payment its linked fee belongs to
                chain_payment = (move.pending_id or t.id) if t.code == T_PAYMENT else 0
            linked_before = e.transfer is not None and bool(e.transfer.flags & _LINKED)
            payment = payment_of(t, move, chain_payment)
            ref_hash = b16(t.user_data) if t.code == T_PAYMENT and t.user_data and not move.pending_id else None
            posted = move.posted_delta
            released = -move.pending_delta if move.pending_delta < 0 else 0
            held = move.pending_delta if move.pending_delta > 0 else 0
            tid, moved, freed, pid = b16(t.id), u(posted or held), u(released), b16_or_none(payment)
            for side, account in ((0, move.debit_account_id), (1, move.credit_account_id)):
                dp, dpo, cp, cpo = fold.balances[account]
                rows.append(
                    (b16(account), e.seq, e.timestamp_ms, tid, t.code, t.flags, int(move.expired), side, moved, freed,
                     u(dp), u(dpo), u(cp), u(cpo), pid, ref_hash)
                )  # fmt: skip
        with self.db.transaction() as tx:
            # Locked on PostgreSQL, whose writers do not take turns as SQLite's do: a second folder waits
            # here until the first commits, then sees the cursor moved instead of colliding on its rows.
            lock = " FOR UPDATE" if self.db.postgres else ""
            [(now_at,)] = tx.query("SELECT seq FROM history_cursor WHERE id = 1" + lock)
            if now_at != after:  # another process folded this chunk meanwhile: read the cursor again
                return 1
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
            tx.query("UPDATE history_cursor SET seq = ?, outbox_id = ? WHERE id = 1", (upto, outbox_max))
        return max(len(events), 1)

    def _chunk_end(self, after: int) -> int | None:
        """The last seq of whole journal batches after `after`, about CHUNK_EVENTS events on; None if none."""
        rows = self.db.query(
            "SELECT max(last_seq) FROM journal WHERE last_seq > ? AND last_seq <= ?", (after, after + CHUNK_EVENTS)
        )
        if rows and rows[0][0] is not None:
            return int(rows[0][0])
        rows = self.db.query("SELECT min(last_seq) FROM journal WHERE last_seq > ?", (after,))
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def _references(self, outbox_id: int) -> tuple[dict[int, str], int]:
        """Merchant references of payments recorded in the outbox after `outbox_id` (read after the
        events, so it covers every payment folded in this chunk)."""
        found: dict[int, str] = {}
        last = outbox_id
        for oid, body in self.db.query(
            "SELECT id, CASE WHEN type IN ('payment.succeeded', 'payment.requires_capture') "
            "AND body NOT LIKE ? THEN body END "
            "FROM outbox WHERE id > ? ORDER BY id",
            ('%"reference":null%', outbox_id),
        ):
            last = oid
            if body is not None:
                data = json.loads(body)["data"]
                if data.get("reference") is not None:
                    found[payment_transfer_id(data["id"])] = data["reference"]
        return found, last

    def _fold_for(self, events: Sequence[LedgerEvent]) -> BalanceFold:
        """A fold primed with what the chunk needs: the pending transfers it resolves and the balances
        of the accounts it moves, as the statements last left them."""
        opened = {e.transfer.id for e in events if e.transfer is not None and e.transfer.flags & _PENDING}
        wanted = {e.transfer.pending_id for e in events if e.transfer is not None and e.transfer.pending_id}
        wanted |= {e.pending_id for e in events if e.pending_id}
        pending = self._lookups.find_transfers(wanted - opened) if wanted - opened else {}
        created = {e.account.id for e in events if e.account is not None}
        accounts: set[int] = set()
        for t in [e.transfer for e in events if e.transfer is not None] + list(pending.values()):
            accounts.update((t.debit_account_id, t.credit_account_id))
        balances = self._last_balances(accounts - created)
        return BalanceFold(balances, dict(pending))

    def _last_balances(self, accounts: Iterable[int]) -> dict[int, list[int]]:
        """Each account's balances after its latest line (zeros when it has none: it never moved)."""
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

    # -- reads ------------------------------------------------------------------------------------

    def page(self, account_id: int, filters: Filters, before_seq: int | None, limit: int) -> Page:
        """A wallet's lines, newest first, `limit` at most, older than `before_seq` when given."""
        self.catch_up()
        where = ["e.account_id = ?"]
        params: list[object] = [b16(account_id)]
        if before_seq is not None:
            where.append("e.seq < ?")
            params.append(before_seq)
        if filters.types:
            where.append("(" + " OR ".join(f"({TYPES[t]})" for t in filters.types) + ")")
        if filters.reference is not None:
            where.append("e.reference_hash = ?")
            params.append(b16(derive_id("reference", filters.reference)))
        if filters.created_gte_ms is not None:
            where.append("e.timestamp_ms >= ?")
            params.append(filters.created_gte_ms)
        if filters.created_lte_ms is not None:
            where.append("e.timestamp_ms <= ?")
            params.append(filters.created_lte_ms)
        rows = self.db.query(
            f"SELECT {_ENTRY_COLS} FROM entries e LEFT JOIN payment_references r ON r.payment_id = e.payment_id "
            f"WHERE {' AND '.join(where)} ORDER BY e.seq DESC LIMIT ?",
            (*params, limit + 1),
        )
        entries = [self._entry(r) for r in rows[:limit]]
        has_more = len(rows) > limit
        return Page(entries, has_more, filters.token(entries[-1].seq) if has_more else None)

    def balances_at(self, account_id: int, at_ms: int) -> tuple[int, int, int, int]:
        """The account's four balance columns as they stood at `at_ms` (zeros before its first line)."""
        self.catch_up()
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

    def payment_details(self, payment_id: int) -> tuple[int, str | None]:
        """The platform fee taken on a payment (or on its capture) so far, and its merchant reference."""
        self.catch_up()
        rows = self.db.query(
            f"SELECT amount FROM entries WHERE payment_id = ? AND code = {T_PLATFORM_FEE} AND side = 1",
            (b16(payment_id),),
        )
        fee = sum(self.db.from_u128(r[0]) for r in rows)
        ref = self.db.query("SELECT reference FROM payment_references WHERE payment_id = ?", (b16(payment_id),))
        return fee, (ref[0][0] if ref else None)

    def _entry(self, r: tuple[object, ...]) -> Entry:
        f = self.db.from_u128
        seq, ts, tid, code, flags, expired, side, amount, released = r[:9]
        balances = (f(r[9]), f(r[10]), f(r[11]), f(r[12]))
        pending = int(flags) & _PENDING and not expired  # type: ignore[call-overload]
        moved = f(amount)
        return Entry(
            seq=int(seq),  # type: ignore[call-overload]
            timestamp_ms=int(ts),  # type: ignore[call-overload]
            transfer_id=int16(bytes(tid)),  # type: ignore[arg-type]
            type=type_of(int(code), int(flags), bool(expired)),  # type: ignore[call-overload]
            side="credit" if side else "debit",
            amount=0 if pending else moved,
            pending_delta=moved if pending else -f(released),
            balances=balances,
            payment_id=int16(bytes(r[13])) if r[13] is not None else 0,  # type: ignore[arg-type]
            reference=r[14],  # type: ignore[arg-type]
        )


_ENTRY_COLS = (
    "e.seq, e.timestamp_ms, e.transfer_id, e.code, e.flags, e.expired, e.side, e.amount, e.released, "
    "e.debits_pending, e.debits_posted, e.credits_pending, e.credits_posted, e.payment_id, r.reference"
)
