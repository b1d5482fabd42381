"""A witnessed journal head, and what it says about a database that disagrees with it.

After each commit the head of the journal (batch number, last sequence number, hash) is also written
somewhere the database's own loss cannot take with it (a witness file beside it, fsynced). A database
that comes back behind its witness lost commits that were acknowledged: SQLite rolled back a WAL whose
tail was cut, a file was replaced by an older copy. Nothing inside the database can tell, since its own
chain is intact up to where it stops. A database whose batch at the witnessed number hashes differently
has another history (an older copy that then took new payments). Pure: values in, a verdict out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Witnessed:
    """A head as the witness last recorded it: this batch, and every one before it, was committed."""

    batch_no: int
    last_seq: int
    hash: bytes


@dataclass(frozen=True, slots=True)
class WitnessGap:
    witnessed: Witnessed
    head_batch_no: int
    diverged: bool
    """True: the database has the batch, with another hash. False: it stops before the batch."""

    def describe(self) -> str:
        w = self.witnessed
        if self.diverged:
            return (
                f"the database's batch {w.batch_no} is not the one its witness saw committed (hash "
                f"{w.hash.hex()[:16]}…): it holds another history, an older copy that took new payments since"
            )
        missing = f"batch {w.batch_no}" if w.batch_no == self.head_batch_no + 1 else (
            f"batches {self.head_batch_no + 1}..{w.batch_no}"
        )  # fmt: skip
        return (
            f"the database is behind its witness: the witness saw batch {w.batch_no} (seq {w.last_seq}) committed, "
            f"the database ends at batch {self.head_batch_no}; {missing} missing, and payments acknowledged in "
            "them may be lost (rolled back)"
        )


def check(witnessed: Witnessed | None, head_batch_no: int, hash_at_witnessed: bytes | None) -> WitnessGap | None:
    """The gap between a database and its witness, or None if they agree. `hash_at_witnessed` is the
    database's hash of batch `witnessed.batch_no` where it was read (None: not read, not compared)."""
    if witnessed is None:
        return None
    if witnessed.batch_no > head_batch_no:
        return WitnessGap(witnessed, head_batch_no, diverged=False)
    if hash_at_witnessed is not None and hash_at_witnessed != witnessed.hash:
        return WitnessGap(witnessed, head_batch_no, diverged=True)
    return None
