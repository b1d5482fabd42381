"""The `Store` protocol: what the engine needs from a database, and nothing more.

Adapters (`farthing.adapters.store_sqlite`, `store_postgres`) implement it. A write happens inside
`Store.writer()`: a transaction that first takes the ledger's write lock (SQLite `BEGIN IMMEDIATE`,
PostgreSQL `SELECT … FOR UPDATE` of the one `ledger_head` row), so that several engine processes
sharing one database take turns batch by batch, and each sees the others' commits before it
validates. `write()` commits; leaving the block without it rolls back.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from farthing.domain.balances import LedgerEvent
from farthing.domain.journal import JournalRecord
from farthing.domain.ledger_types import AccountState, PendingInfo, Transfer
from farthing.domain.quick_init import quick_init
from farthing.domain.witness import Witnessed
from farthing.errors import ErrorCode, StoreError


@dataclass(frozen=True, slots=True)
class Head:
    """The newest committed batch: the chain's tip and the last sequence number used."""

    batch_no: int
    last_seq: int
    hash: bytes
    timestamp_ms: int


@dataclass(slots=True)
class Changes:
    """What was committed after a sequence number: enough to bring an engine's memory up to date."""

    accounts: list[AccountState] = field(default_factory=list)
    """Every account created or whose balances changed (all of them, from seq 0)."""
    opened: list[PendingInfo] = field(default_factory=list)
    """Pending transfers committed after the seq that are still open."""
    closed_pending_ids: list[int] = field(default_factory=list)
    """Pending transfers posted, voided or expired after the seq."""
    max_transfer_id: int = 0
    """The largest transfer id committed so far: an id above it cannot exist yet."""


@quick_init
@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """An event that rides with a transfer: written in the batch's transaction iff that transfer applies,
    so a committed payment always has its event, and a refused one never does. Not part of the journal's
    hash chain: the chain covers money; the outbox is what webhooks deliver, at least once."""

    event_id: str
    type: str
    party_id: str
    body: str
    """JSON text of the event's payload."""


@dataclass(slots=True)
class BatchCommit:
    """Everything one batch writes, in one transaction."""

    record: JournalRecord
    accounts_created: list[AccountState]
    transfers: list[Transfer]
    """In sequence order: the first has `first_transfer_seq`, each next one the next seq."""
    first_transfer_seq: int
    expired: list[tuple[int, int]]
    """(seq, pending id) in sequence order."""
    touched: list[AccountState]
    """Accounts whose balances the batch changed, with their new balances."""
    events: list[OutboxEvent] = field(default_factory=list)


class StoreLookups(Protocol):
    def find_transfers(self, ids: Collection[int]) -> dict[int, Transfer]: ...

    def find_pending(self, ids: Collection[int]) -> dict[int, PendingInfo]:
        """The transfers with these ids, each with its pending status (open if never resolved)."""
        ...

    def committed_at(self, ids: Collection[int]) -> dict[int, int]:
        """When the transfers with these ids were committed (Unix ms)."""
        ...


class ClosableLookups(StoreLookups, Protocol):
    def close(self) -> None: ...


class StoreWriter(StoreLookups, Protocol):
    def head(self) -> Head: ...

    def changes_since(self, seq: int) -> Changes: ...

    def write(self, batch: BatchCommit, encoded: object = None) -> None:
        """Write the batch (with its rows from `Store.encode`, if given) and its journal record, move the
        head, and commit."""
        ...


class Witness(Protocol):
    """Where the journal's head is also recorded after each commit (see `farthing.domain.witness`)."""

    path: str

    def read(self) -> Witnessed | None: ...

    def record(self, w: Witnessed) -> None: ...

    def reset(self, w: Witnessed) -> None:
        """Record `w` as the head, whatever was recorded before (the operator accepts the database's)."""
        ...

    def close(self) -> None: ...


class LedgerView(Protocol):
    """The committed ledger as of one moment: every read agrees with the others, whatever commits meanwhile."""

    def head(self) -> Head: ...

    def accounts(self) -> list[AccountState]:
        """Every account with its committed balances."""
        ...

    def journal(self) -> Iterator[JournalRecord]: ...

    def events(self, after_seq: int = 0, upto_seq: int = 1 << 62) -> Iterator[LedgerEvent]:
        """The committed events with `after_seq < seq <= upto_seq` (all by default), in sequence order."""
        ...


class Store(Protocol):
    url: str
    witness: Witness | None

    def writer(self) -> AbstractContextManager[StoreWriter]: ...

    def reader(self) -> AbstractContextManager[StoreLookups]:
        """Look-ups of committed rows beside the writer (the pipelined engine validates with these)."""
        ...

    def open_lookups(self) -> ClosableLookups:
        """Look-ups on a connection of the caller's own (close it when done)."""
        ...

    def encode(self, batch: BatchCommit) -> object:
        """The batch's rows in the store's own form: CPU work that can run off the write path."""
        ...

    def head(self) -> Head: ...

    def accounts(self) -> list[AccountState]:
        """Every account with its committed balances."""
        ...

    def journal(self) -> Iterator[JournalRecord]: ...

    def events(self, after_seq: int = 0, upto_seq: int = 1 << 62) -> Iterator[LedgerEvent]:
        """The committed events with `after_seq < seq <= upto_seq` (all by default), in sequence order."""
        ...

    def snapshot(self) -> AbstractContextManager[LedgerView]:
        """One read transaction for reads that must agree (an audit beside a live writer): the methods
        above each read at their own moment, so a commit between two of them would show a head, a journal
        and balances from different batches."""
        ...

    def close(self) -> None: ...


def witness_commit(witness: Witness, record: JournalRecord) -> None:
    """Record a committed batch's head with the witness. The batch is committed already: if the witness
    cannot be written, the caller cannot be told it failed, nor that it succeeded."""
    try:
        witness.record(Witnessed(record.batch_no, record.last_seq, record.hash))
    except OSError as exc:
        raise StoreError(
            ErrorCode.outcome_unknown,
            f"the batch was committed but its witness {witness.path} could not be written ({exc}); retry with "
            "the same Idempotency-Key to learn the result",
        ) from exc
