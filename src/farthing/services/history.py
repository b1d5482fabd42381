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
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from farthing.domain.balances import BalanceFold, LedgerEvent
from farthing.domain.chart import T_PAYMENT
from farthing.domain.statement import Entry, Moved
from farthing.engine.ids import derive_id
from farthing.engine.store import ClosableLookups, Store
from farthing.errors import ErrorCode, StoreError
from farthing.services.accounts import payment_transfer_id
from farthing.services.history_lines import Filters, Page, payment_of

_log = logging.getLogger("farthing.history")
_PENDING, _LINKED = 2, 1
CHUNK_EVENTS = 20_000
"""Events folded per transaction (rounded up to whole journal batches)."""
KNOWN_BALANCES_MAX = 200_000
"""The most accounts' balances the projection keeps between chunks (then it starts afresh): the busy ones."""


class StatementRepository(Protocol):
    """The projection's lines and cursor, and what it reads of the journal and the outbox; SQL in
    `farthing.adapters.history_sql`."""

    def cursor(self) -> tuple[int, int]:
        """The last journal seq folded and the last outbox id read for references."""
        ...

    def chunk_end(self, after: int, events: int) -> int | None:
        """The last seq of whole journal batches after `after`, about `events` on; None if none."""
        ...

    def payment_bodies(self, after_outbox_id: int) -> list[tuple[int, str | None]]:
        """Outbox ids after `after_outbox_id`, each with its body if it is a payment's naming a reference."""
        ...

    def last_balances(self, accounts: Iterable[int]) -> dict[int, list[int]]:
        """Each account's balances after its latest line (zeros when it has none)."""
        ...

    def append(self, after: int, upto: int, outbox_id: int, moves: Sequence[Moved], references: dict[int, str]) -> bool:
        """Write a chunk's moves (two lines each) and references and move the cursor, in one transaction; False (nothing
        written) if the cursor is no longer at `after` (another process folded the chunk)."""
        ...

    def lines(
        self, account_id: int | None, types: Sequence[str], reference_hash: int | None, gte_ms: int | None,
        lte_ms: int | None, before_seq: int | None, limit: int,
    ) -> list[Entry]:  # fmt: skip
        """The account's lines, newest first; with no account, the credited lines of every account that
        carry `reference_hash` (a payment's, once: its payee's)."""
        ...

    def balances_at(self, account_id: int, at_ms: int) -> tuple[int, int, int, int]: ...

    def ascending(self, account_id: int, gte_ms: int, lt_ms: int, after_seq: int, limit: int) -> list[Moved]: ...

    def daily(self, account_id: int, since_ms: int) -> list[tuple[int, str, int]]: ...

    def fee_and_reference(self, payment_id: int) -> tuple[int, str | None]: ...

    def close(self) -> None: ...


class History:
    def __init__(self, store: Store, repo: StatementRepository) -> None:
        self.store = store
        self.repo = repo
        self._lookups: ClosableLookups = store.open_lookups()
        self._known: dict[int, list[int]] = {}
        """Balances as this process last folded them, good while the cursor stays where it left it."""
        self._known_at = -1
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the projection ---------------------------------------------------------------------------

    def start(self, interval_s: float = 0.5) -> None:
        """Keep the projection close behind the ledger from a thread of its own."""

        def run() -> None:
            waiting = False  # for the store to come back: said once, not every tick
            while not self._stop.wait(interval_s):
                try:
                    self.catch_up(self._stop)
                except StoreError as exc:
                    if exc.code is not ErrorCode.store_unavailable:
                        _log.exception("the history projection could not catch up")
                    elif not waiting:
                        _log.warning("the history projection waits for the store: %s", exc.detail)
                    waiting = exc.code is ErrorCode.store_unavailable
                    continue
                except Exception:  # a failed round is logged and retried on the next tick
                    _log.exception("the history projection could not catch up")
                if waiting:
                    _log.warning("the store answers again: the history projection goes on")
                    waiting = False

        self._thread = threading.Thread(target=run, name="farthing-history", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            self._lookups.close()
            self.repo.close()

    def folded_seq(self) -> int:
        """The last ledger event the statements hold (the head's seq minus this is the projection's lag)."""
        return self.repo.cursor()[0]

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
        after, outbox_id = self.repo.cursor()
        upto = self.repo.chunk_end(after, CHUNK_EVENTS)
        if upto is None:
            return 0
        events = list(self.store.events(after, upto))
        references, outbox_max = self._references(outbox_id)
        fold = self._fold_for(events, after)
        moves: list[Moved] = []
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
            ref_hash = t.user_data if t.code == T_PAYMENT and t.user_data and not move.pending_id else 0
            posted = move.posted_delta
            released = -move.pending_delta if move.pending_delta < 0 else 0
            held = move.pending_delta if move.pending_delta > 0 else 0
            debit, credit = move.debit_account_id, move.credit_account_id
            moves.append((e.seq, e.timestamp_ms, t.id, t.code, t.flags, move.expired, posted or held, released,
                          payment, ref_hash, debit, *fold.balances[debit], credit, *fold.balances[credit]))  # fmt: skip
        if not self.repo.append(after, upto, outbox_max, moves, references):
            self._known_at = -1
            return 1  # another process folded this chunk meanwhile: read the cursor again
        if len(self._known) > KNOWN_BALANCES_MAX:
            self._known.clear()
        self._known.update(fold.balances)
        self._known_at = upto
        return max(len(events), 1)

    def _references(self, outbox_id: int) -> tuple[dict[int, str], int]:
        """Merchant references of payments recorded in the outbox after `outbox_id` (read after the
        events, so it covers every payment folded in this chunk)."""
        found: dict[int, str] = {}
        last = outbox_id
        for oid, body in self.repo.payment_bodies(outbox_id):
            last = oid
            if body is not None:
                data = json.loads(body)["data"]
                if data.get("reference") is not None:
                    found[payment_transfer_id(data["id"])] = data["reference"]
        return found, last

    def _fold_for(self, events: Sequence[LedgerEvent], after: int) -> BalanceFold:
        """A fold primed with what the chunk needs: the pending transfers it resolves and the balances
        of the accounts it moves, as the statements last left them (as this process folded them, when
        no other process folded since: the busy accounts are read once, not once a chunk)."""
        opened = {e.transfer.id for e in events if e.transfer is not None and e.transfer.flags & _PENDING}
        wanted = {e.transfer.pending_id for e in events if e.transfer is not None and e.transfer.pending_id}
        wanted |= {e.pending_id for e in events if e.pending_id}
        pending = self._lookups.find_transfers(wanted - opened) if wanted - opened else {}
        created = {e.account.id for e in events if e.account is not None}
        accounts: set[int] = set()
        for t in [e.transfer for e in events if e.transfer is not None] + list(pending.values()):
            accounts.update((t.debit_account_id, t.credit_account_id))
        if self._known_at != after:  # another process folded since: what this one knows is stale
            self._known.clear()
        known = self._known
        balances = {a: list(known[a]) for a in accounts - created if a in known}
        balances.update(self.repo.last_balances(accounts - created - balances.keys()))
        return BalanceFold(balances, dict(pending))

    # -- reads ------------------------------------------------------------------------------------

    def page(self, account_id: int, filters: Filters, before_seq: int | None, limit: int) -> Page:
        """A wallet's lines, newest first, `limit` at most, older than `before_seq` when given."""
        self.catch_up()
        reference = None if filters.reference is None else derive_id("reference", filters.reference)
        found = self.repo.lines(account_id, filters.types, reference, filters.created_gte_ms, filters.created_lte_ms,
                                before_seq, limit + 1)  # fmt: skip
        entries = found[:limit]
        has_more = len(found) > limit
        return Page(entries, has_more, filters.token(entries[-1].seq) if has_more else None)

    def with_reference(self, reference: str, types: Sequence[str], before_seq: int | None, limit: int) -> Page:
        """The lines of `types` that carried this merchant reference in any wallet, newest first: each
        payment once (its payee's line), `limit` at most, older than `before_seq` when given."""
        self.catch_up()
        filters = Filters(tuple(types), reference)
        found = self.repo.lines(None, types, derive_id("reference", reference), None, None, before_seq, limit + 1)
        entries = found[:limit]
        has_more = len(found) > limit
        return Page(entries, has_more, filters.token(entries[-1].seq) if has_more else None)

    def daily(self, account_id: int, since_ms: int) -> list[tuple[int, str, int]]:
        """A merchant wallet's money by UTC day since `since_ms`: (day number, received | fees | refunds,
        amount), for the dashboard's chart."""
        self.catch_up()
        return self.repo.daily(account_id, since_ms)

    def oldest_first(self, account_id: int, gte_ms: int, lt_ms: int, chunk: int = 1_000) -> Iterator[Moved]:
        """The account's lines from `gte_ms` until before `lt_ms`, oldest first, read `chunk` at a time (a
        statement of a million lines in flat memory), lean: see `StatementRepository.ascending`."""
        self.catch_up()
        after = 0
        while found := self.repo.ascending(account_id, gte_ms, lt_ms, after, chunk):
            yield from found
            after = found[-1][0]

    def balances_at(self, account_id: int, at_ms: int) -> tuple[int, int, int, int]:
        """The account's four balance columns as they stood at `at_ms` (zeros before its first line)."""
        self.catch_up()
        return self.repo.balances_at(account_id, at_ms)

    def payment_details(self, payment_id: int) -> tuple[int, str | None]:
        """The platform fee taken on a payment (or on its capture) so far, and its merchant reference."""
        self.catch_up()
        return self.repo.fee_and_reference(payment_id)
