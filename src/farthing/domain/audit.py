"""Audit of a ledger from its rows alone: recompute the journal chain and every balance.

Pure: the caller streams in the journal records, the committed events in sequence order, the head
row and the stored accounts. The audit trusts none of them: it re-encodes every event, re-hashes
every batch against the previous one, replays every transfer to rebuild the four balance columns of
every account, and compares. The first problem found names its batch, so an operator knows where
the rows were changed, deleted or inserted behind the engine's back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from farthing.domain import journal
from farthing.domain.balances import BalanceFold, LedgerEvent, UnknownReference
from farthing.domain.journal import JournalRecord
from farthing.domain.ledger_types import AccountState
from farthing.domain.witness import WitnessGap


@dataclass
class AuditReport:
    batches: int = 0
    events: int = 0
    accounts: int = 0
    transfers: int = 0
    head_hash: bytes = journal.GENESIS_HASH
    problems: list[str] = field(default_factory=list)
    first_bad_batch: int | None = None
    witness_gap: WitnessGap | None = None
    """How the database disagrees with its witness (batches rolled back), if it does."""

    @property
    def ok(self) -> bool:
        return not self.problems and self.witness_gap is None

    def fail(self, batch_no: int | None, message: str) -> None:
        if self.first_bad_batch is None and batch_no is not None:
            self.first_bad_batch = batch_no
        self.problems.append(message)


class _Replay:
    """Rebuilds balances from transfers: the ledger's state is a fold over its events."""

    def __init__(self, report: AuditReport) -> None:
        self.report = report
        self.fold = BalanceFold()
        self.balances = self.fold.balances

    def apply(self, batch_no: int, e: LedgerEvent) -> None:
        if e.account is not None:
            self.report.accounts += 1
        elif e.transfer is not None:
            self.report.transfers += 1
        try:
            self.fold.apply(e)
        except UnknownReference as exc:
            self.report.fail(batch_no, f"batch {batch_no}: {exc}")


def _encode(e: LedgerEvent) -> bytes:
    if e.account is not None:
        return journal.encode_account(e.seq, e.account)
    if e.transfer is not None:
        return journal.encode_transfer(e.seq, e.transfer)
    return journal.encode_expiry(e.seq, e.pending_id)


def audit(
    records: Iterable[JournalRecord],
    events: Iterable[LedgerEvent],
    head: tuple[int, int, bytes],
    stored_accounts: Iterable[AccountState],
) -> AuditReport:
    """Verify the chain, the coverage of events by batches, the head, and every stored balance."""
    report = AuditReport()
    replay = _Replay(report)
    stream: Iterator[LedgerEvent] = iter(events)
    nxt = next(stream, None)
    prev_hash = journal.GENESIS_HASH
    expected_seq = 1
    last_no = 0
    for rec in records:
        no = rec.batch_no
        if no > last_no + 1:  # the first batch whose record is gone is the first bad one
            missing = f"batch {last_no + 1}" if no == last_no + 2 else f"batches {last_no + 1}..{no - 1}"
            report.fail(last_no + 1, f"{missing}: journal record missing (batch {no} follows batch {last_no})")
        elif no != last_no + 1:
            report.fail(no, f"batch {no}: follows batch {last_no} (out of order or repeated)")
        if rec.prev_hash != prev_hash:
            report.fail(no, f"batch {no}: previous hash does not match batch {last_no}'s hash")
        if rec.first_seq != expected_seq or rec.last_seq < rec.first_seq:
            report.fail(
                no,
                f"batch {no}: holds seq {rec.first_seq}..{rec.last_seq}, expected to start at {expected_seq}",
            )
        while nxt is not None and nxt.seq < rec.first_seq:
            report.fail(no, f"batch {no}: event seq {nxt.seq} belongs to no batch (inserted row?)")
            nxt = next(stream, None)
        encoded: list[bytes] = []
        while nxt is not None and nxt.seq <= rec.last_seq:
            encoded.append(_encode(nxt))
            replay.apply(no, nxt)
            nxt = next(stream, None)
        sealed = journal.seal(rec.prev_hash, no, rec.first_seq, rec.last_seq, rec.timestamp_ms, encoded)
        if sealed.hash != rec.hash:
            report.fail(
                no,
                f"batch {no}: hash mismatch ({len(encoded)} events found for {rec.event_count} recorded): "
                "a row of this batch was changed, deleted or inserted",
            )
        report.batches += 1
        report.events += len(encoded)
        prev_hash = rec.hash
        expected_seq = rec.last_seq + 1
        last_no = no
    while nxt is not None:
        report.fail(last_no + 1, f"event seq {nxt.seq} comes after the last journal batch {last_no}")
        nxt = next(stream, None)
    head_no, head_seq, head_hash = head
    if (head_no, head_seq, head_hash) != (last_no, expected_seq - 1, prev_hash):
        report.fail(last_no, f"the head (batch {head_no}, seq {head_seq}) is not the journal's last batch {last_no}")
    report.head_hash = prev_hash
    _compare_balances(report, replay, stored_accounts)
    return report


def _compare_balances(report: AuditReport, replay: _Replay, stored_accounts: Iterable[AccountState]) -> None:
    sums = [0, 0, 0, 0]
    seen = 0
    for acc in stored_accounts:
        seen += 1
        stored = [acc.debits_pending, acc.debits_posted, acc.credits_pending, acc.credits_posted]
        for i, v in enumerate(stored):
            sums[i] += v
        expected = replay.balances.get(acc.id)
        if expected is None:
            report.fail(None, f"account {acc.id} is stored but no batch created it")
        elif expected != stored:
            report.fail(
                None,
                f"account {acc.id}: stored balances {stored} differ from the transfers' {expected} ",
            )
    if seen != len(replay.balances):
        report.fail(None, f"{len(replay.balances)} accounts were created but {seen} are stored")
    if sums[0] != sums[2] or sums[1] != sums[3]:
        report.fail(None, f"stored balances do not sum to zero: debits {sums[:2]} vs credits {sums[2:]}")
