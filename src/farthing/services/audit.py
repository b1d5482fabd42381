"""Verify a ledger's journal chain and balances from its store (`farthing audit verify`)."""

from __future__ import annotations

from collections.abc import Iterator

from farthing.domain.audit import AuditReport, audit
from farthing.domain.journal import JournalRecord
from farthing.domain.witness import Witnessed, WitnessGap, check
from farthing.engine.store import Store
from farthing.errors import ErrorCode, StoreError


def verify(store: Store) -> AuditReport:
    """The audit of the store's rows, and of its head against its witness (`witness_gap`). The rows are read
    in one snapshot, so a live writer's commits meanwhile are not half seen; the witness is read first, as
    a writer records a batch with it only after committing it, so it can lag the snapshot, never lead it."""
    witnessed = store.witness.read() if store.witness is not None else None
    seen: dict[str, bytes] = {}
    with store.snapshot() as ledger:
        head = ledger.head()

        def records() -> Iterator[JournalRecord]:
            for record in ledger.journal():
                if witnessed is not None and record.batch_no == witnessed.batch_no:
                    seen["hash"] = record.hash
                yield record

        report = audit(records(), ledger.events(), (head.batch_no, head.last_seq, head.hash), ledger.accounts())
    report.witness_gap = check(witnessed, head.batch_no, seen.get("hash"))
    return report


def verify_at(url: str) -> AuditReport:
    """`verify` on a store of its own opened at `url` (a server's console audits beside its own writer)."""
    from farthing.adapters.open_store import open_store

    store = open_store(url)
    try:
        return verify(store)
    finally:
        store.close()


def witness_gap(store: Store) -> WitnessGap | None:
    """How the store's head disagrees with its witness (checked at start-up: the head only; `verify`
    compares the hash at the witnessed batch too), or None."""
    if store.witness is None:
        return None
    witnessed = store.witness.read()
    head = store.head()
    same = witnessed is not None and witnessed.batch_no == head.batch_no
    return check(witnessed, head.batch_no, head.hash if same else None)


def start_witness(store: Store) -> bool:
    """Record the head with a witness that has none yet (a database from before witnesses, or one whose
    witness file was removed); True if it did."""
    if store.witness is None or store.witness.read() is not None:
        return False
    head = store.head()
    if head.batch_no:
        store.witness.reset(Witnessed(head.batch_no, head.last_seq, head.hash))
    return head.batch_no > 0


def accept_head(store: Store) -> Witnessed:
    """The operator accepts the database as it is (after restoring a backup they chose): its head
    becomes the witness's."""
    head = store.head()
    accepted = Witnessed(head.batch_no, head.last_seq, head.hash)
    if store.witness is None:
        raise StoreError(ErrorCode.witness_off, "this store has no witness (FARTHING_WITNESS=off)")
    store.witness.reset(accepted)
    return accepted


def rolled_back(gap: WitnessGap) -> StoreError:
    return StoreError(
        ErrorCode.store_rolled_back,
        f"{gap.describe()}. Restore the database from a backup that holds those batches; or, if the loss is "
        "known and accepted, run `farthing audit accept-head` to go on from the database as it is",
    )
