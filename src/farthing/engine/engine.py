"""The ledger engine: the only writer of balances.

It holds every account and open pending transfer in memory, validates each batch in order against
that state with the pure rules of `farthing.domain.ledger`, and writes the batch, its balance changes
and one journal record in ONE database transaction. Only after that transaction commits does any
caller learn its result ("ack = committed"). If the write fails, the memory that ran ahead of the
database is thrown away and reloaded from the store before the next batch.

Concurrent callers are coalesced by `farthing.engine.committer.GroupCommitter`; this class does one
batch at a time and is not itself thread-safe.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass

from farthing import limits
from farthing.clock import Clock, system_clock
from farthing.domain import journal
from farthing.domain.invariant import invariant
from farthing.domain.ledger import BatchEffects, LedgerState, create_accounts, expire_due
from farthing.domain.ledger_transfers import TransferRules
from farthing.domain.ledger_types import Account, AccountState, PendingInfo, PendingStatus, Transfer
from farthing.engine.store import BatchCommit, Head, OutboxEvent, Store, StoreLookups, StoreWriter
from farthing.engine.write_stats import WriteStats
from farthing.errors import AccountResult, BatchError, ErrorCode, TransferResult

_RESOLVING = 4 | 8  # post_pending | void_pending


Results = list[AccountResult] | list[TransferResult]


class HeadMoved(Exception):
    """Another writer committed after a batch was prepared: reload and validate it again."""


@dataclass(frozen=True, slots=True)
class Request:
    """One caller's events: all accounts or all transfers. Linked chains never cross requests."""

    kind: str  # "accounts" | "transfers"
    events: Sequence[Account] | Sequence[Transfer]
    outbox: Sequence[tuple[int, OutboxEvent]] = ()
    """(index of a transfer in `events`, the event to record iff that transfer applies)."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """A group validated and sealed against memory, waiting to be written by `LedgerEngine.flush`."""

    requests: Sequence[Request]
    results: list[Results]
    base_head: Head
    """The head the batch was prepared on; the store's head must still be this when it is written."""
    batch: BatchCommit | None
    """None when nothing is to be written (every event failed or already existed)."""
    encoded: object
    known: dict[int, Transfer]
    """The transfers this batch applies, by id: look-ups of later batches must see them before the store does."""
    resolved: dict[int, PendingInfo]
    """Pending transfers this batch posts, voids or expires."""


def check_request(kind: str, events: Sequence[object], outbox: Sequence[tuple[int, OutboxEvent]] = ()) -> Request:
    """Refuse a request that is not a batch at all, before it reaches the committer."""
    expected = Account if kind == "accounts" else Transfer
    if isinstance(events, (str, bytes)) or not isinstance(events, Sequence):
        raise BatchError(ErrorCode.event_type_invalid, f"{kind} must be a list of {expected.__name__}")
    if not events:
        raise BatchError(ErrorCode.batch_must_not_be_empty, f"a batch of {kind} must hold at least one")
    if len(events) > limits.events_per_batch_max:
        raise BatchError(
            ErrorCode.batch_too_large,
            f"{len(events)} {kind} in one batch; the most is {limits.events_per_batch_max}",
        )
    for i, e in enumerate(events):
        if type(e) is not expected:
            raise BatchError(
                ErrorCode.event_type_invalid,
                f"{kind}[{i}] is a {type(e).__name__}, not a {expected.__name__}",
            )
    for i, event in outbox:
        if kind != "transfers" or not 0 <= i < len(events) or not isinstance(event, OutboxEvent):
            raise BatchError(ErrorCode.event_type_invalid, f"outbox entry for event {i} does not fit the request")
    return Request(kind, events, tuple(outbox))  # type: ignore[arg-type]


class LedgerEngine:
    """Validates and commits batches of requests; recovers its memory from the store."""

    def __init__(self, store: Store, clock_ms: Clock = system_clock) -> None:
        """`clock_ms`: the platform's one clock; it stamps every batch (and decides when holds expire)."""
        self.store = store
        self.clock_ms = clock_ms
        self.state = LedgerState()
        self.head = Head(0, 0, journal.GENESIS_HASH, 0)
        self.max_transfer_id = 0
        """Every committed transfer id is at most this, so a larger (time-ordered, new) id needs no look-up."""
        self.batches_committed = 0
        self.writes = WriteStats()
        """Each committed batch's size and write time, for metrics."""
        self._inflight: list[Prepared] = []
        """Batches prepared but not yet written, oldest first (the pipelined committer keeps one or two)."""
        self._outbox: list[OutboxEvent] = []
        """Events of the batch being validated whose transfers applied."""
        self.loaded = False
        """False after a reload failed (the store did not answer): memory must not be used until one succeeds."""
        self.reload()

    def reload(self) -> None:
        """Forget memory (and whatever was in flight) and rebuild it from what the store committed."""
        self.loaded = False
        self._inflight.clear()
        self.state = LedgerState()
        self.head = Head(0, 0, journal.GENESIS_HASH, 0)
        self.max_transfer_id = 0
        with self.store.writer() as w:
            self._catch_up(w, w.head())
        self.loaded = True

    def reload_quietly(self) -> None:
        """Reload if the store answers; if not, stay unloaded and let the next request try again."""
        with contextlib.suppress(Exception):  # `loaded` stays False: the next commit or prepare tries again
            self.reload()

    def catch_up(self) -> None:
        """Bring memory up to what other writers committed since our head (a read that must be fresh
        when several processes share the store). Nothing may be in flight from `prepare`."""
        invariant(not self._inflight, "catch_up() while prepared batches are in flight")
        self._ensure_loaded()
        if self.store.head().batch_no == self.head.batch_no:
            return
        with self.store.writer() as w:
            self._catch_up(w, w.head())

    def passed(self, head: Head) -> bool:
        """`head` (the store's, read just now) is one this engine's own batches went through: its memory's
        head, or the base of a batch in flight. If not, another writer moved it."""
        return head == self.head or any(p.base_head == head for p in self._inflight)

    def _ensure_loaded(self) -> None:
        if not self.loaded:
            self.reload()

    def _catch_up(self, w: StoreWriter, head: Head) -> None:
        """Apply what other writers (or a previous life of this engine) committed since our head."""
        changes = w.changes_since(self.head.last_seq)
        accounts = self.state.accounts
        for acc in changes.accounts:
            accounts[acc.id] = acc
        for pid in changes.closed_pending_ids:
            self.state.pending.pop(pid, None)
        for info in changes.opened:
            self.state.add_pending(info)
        self.max_transfer_id = max(self.max_transfer_id, changes.max_transfer_id)
        self.head = head

    def commit(self, requests: Sequence[Request]) -> list[Results]:
        """Validate and durably commit a group of requests under the write lock; one result list each.

        The safe path: it takes the store's write lock first and catches up with other writers before
        validating, so it never conflicts. Nothing may be in flight from `prepare`.
        """
        invariant(not self._inflight, "commit() while prepared batches are in flight")
        self._ensure_loaded()
        try:
            return self._commit(requests)
        except BaseException:
            # Memory may hold effects the database never got: rebuild it from the store.
            self.reload_quietly()
            raise

    def _commit(self, requests: Sequence[Request]) -> list[Results]:
        invariant(sum(len(r.events) for r in requests) <= limits.events_per_commit_max, "group too large")
        with self.store.writer() as w:
            head = w.head()
            if head != self.head:
                self._catch_up(w, head)
            now_ms = max(self.clock_ms(), head.timestamp_ms)
            out, effects, _ = self._validate(w, requests, now_ms, ())
            if effects.event_count():
                batch = self._seal(head, effects, now_ms)
                started = time.perf_counter()
                w.write(batch)
                self.writes.record(batch.record.event_count, time.perf_counter() - started)
                self._advance(batch, effects, now_ms)
                self.batches_committed += 1
        return out

    def prepare(self, requests: Sequence[Request]) -> Prepared:
        """Validate and seal a group against memory, optimistically, without the write lock.

        Memory moves on at once, so the next group can be prepared while this one is written by
        `flush` on another thread: validation of batch N+1 overlaps the commit of batch N. Look-ups
        see committed rows plus the batches still in flight. If another process wrote in between,
        `flush` finds the head moved and raises `HeadMoved`; the caller then reloads and retries.
        """
        invariant(sum(len(r.events) for r in requests) <= limits.events_per_commit_max, "group too large")
        self._ensure_loaded()
        now_ms = max(self.clock_ms(), self.head.timestamp_ms)
        inflight = list(self._inflight)  # before the look-ups: a batch that lands meanwhile is in one or the other
        with self.store.reader() as r:
            out, effects, rules = self._validate(r, requests, now_ms, inflight)
        base = self.head
        batch = encoded = None
        if effects.event_count():
            batch = self._seal(base, effects, now_ms)
            encoded = self.store.encode(batch)
            self._advance(batch, effects, now_ms)
        resolved = {t.pending_id: rules.resolved[t.pending_id] for t in effects.transfers if t.flags & _RESOLVING}
        resolved.update((info.transfer.id, info) for info in effects.expired)
        prepared = Prepared(requests, out, base, batch, encoded, {t.id: t for t in effects.transfers}, resolved)
        self._inflight.append(prepared)
        return prepared

    def flush(self, prepared: Prepared) -> None:
        """Durably write a prepared batch, if the head is still where it was prepared on."""
        if prepared.batch is not None:
            started = time.perf_counter()
            with self.store.writer() as w:
                head = w.head()
                if head != prepared.base_head:
                    raise HeadMoved(f"the head moved to batch {head.batch_no}: another writer committed")
                w.write(prepared.batch, prepared.encoded)
            self.writes.record(prepared.batch.record.event_count, time.perf_counter() - started)
            self.batches_committed += 1
        elif self.store.head() != prepared.base_head:
            # Nothing to write: every event was refused (or existed) by memory. If another process wrote
            # meanwhile, memory may lack what it wrote (a hold another server made, the money it paid in),
            # and the refusal is not known to be true: validate again, caught up.
            raise HeadMoved("the head moved while a batch was refused: another writer committed")
        self._inflight.remove(prepared)

    def _validate(
        self, lookups: StoreLookups, requests: Sequence[Request], now_ms: int, inflight: Sequence[Prepared]
    ) -> tuple[list[Results], BatchEffects, TransferRules]:
        self._outbox = []
        effects = BatchEffects()
        expire_due(self.state, now_ms, effects)
        rules = self._rules(lookups, requests, effects, now_ms, inflight)
        out: list[Results] = []
        for req in requests:
            if req.kind == "accounts":
                out.append(create_accounts(req.events, self.state, effects, now_ms))  # type: ignore[arg-type]
            else:
                results = rules.apply(req.events)  # type: ignore[arg-type]
                out.append(results)
                self._outbox.extend(event for i, event in req.outbox if results[i] is TransferResult.ok)
        return out, effects, rules

    def _advance(self, batch: BatchCommit, effects: BatchEffects, now_ms: int) -> None:
        self.head = Head(batch.record.batch_no, batch.record.last_seq, batch.record.hash, now_ms)
        if effects.transfers:
            self.max_transfer_id = max(self.max_transfer_id, max(t.id for t in effects.transfers))

    def _rules(
        self,
        lookups: StoreLookups,
        requests: Sequence[Request],
        effects: BatchEffects,
        now_ms: int,
        inflight: Sequence[Prepared],
    ) -> TransferRules:
        """Prefetch what the rules need that memory does not hold: ids seen before, closed pendings."""
        ids: list[int] = []
        resolving: set[int] = set()
        pending = self.state.pending
        max_id = self.max_transfer_id
        for req in requests:
            if req.kind != "transfers":
                continue
            for t in req.events:
                assert isinstance(t, Transfer)
                if 0 < t.id <= max_id:
                    ids.append(t.id)
                pid = t.pending_id
                if t.flags & _RESOLVING and 0 < pid < limits.u128_max and pid not in pending:
                    resolving.add(pid)
        known = lookups.find_transfers(ids) if ids else {}
        closed = lookups.find_pending(resolving) if resolving else {}
        for p in inflight:  # not yet in the store, already in memory
            for tid in ids:
                if tid in p.known:
                    known[tid] = p.known[tid]
            for pid in resolving:
                if pid in p.known:
                    closed[pid] = PendingInfo(p.known[pid], 0, PendingStatus.open)
                if pid in p.resolved:
                    closed[pid] = p.resolved[pid]
        return TransferRules(self.state, known, closed, effects, now_ms)

    def _seal(self, head: Head, effects: BatchEffects, now_ms: int) -> BatchCommit:
        """Number the batch's events, encode them in sequence order and chain the journal record."""
        seq = head.last_seq
        encoded: list[bytes] = []
        expired: list[tuple[int, int]] = []
        for info in effects.expired:
            pid = info.transfer.id
            seq += 1
            expired.append((seq, pid))
            encoded.append(journal.encode_expiry(seq, pid))
        for acc in effects.accounts_created:
            seq += 1
            acc.seq = seq
            encoded.append(journal.encode_account(seq, acc))
        first_transfer_seq = seq + 1
        encode_transfer = journal.encode_transfer
        encoded += [encode_transfer(s, t) for s, t in enumerate(effects.transfers, first_transfer_seq)]
        seq += len(effects.transfers)
        record = journal.seal(head.hash, head.batch_no + 1, head.last_seq + 1, seq, now_ms, encoded)
        invariant(record.event_count == seq - head.last_seq, "journal count differs from the events")
        touched = list(effects.touched.values())
        events, self._outbox = self._outbox, []
        return BatchCommit(
            record, effects.accounts_created, effects.transfers, first_transfer_seq, expired, touched, events
        )

    def accounts(self, ids: Sequence[int] | None = None) -> list[AccountState]:
        """Copies of accounts as committed (the caller must hold the committer's lock, or be it)."""
        accounts = self.state.accounts
        chosen = accounts.values() if ids is None else (accounts[i] for i in ids if i in accounts)
        return [dataclasses.replace(a) for a in chosen]
