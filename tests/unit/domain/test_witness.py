"""A database against its witness: behind it, another history at the witnessed batch, or in agreement."""

from __future__ import annotations

from farthing.domain.witness import Witnessed, check

SEEN = Witnessed(12, 340, b"\x01" * 32)


def test_a_database_that_ends_before_the_witnessed_batch_is_behind_naming_the_missing_batches() -> None:
    gap = check(SEEN, 9, None)
    assert gap is not None and not gap.diverged
    assert "batches 10..12 missing" in gap.describe() and "ends at batch 9" in gap.describe()
    one = check(SEEN, 11, None)
    assert one is not None and "batch 12 missing" in one.describe()


def test_another_hash_at_the_witnessed_batch_is_another_history() -> None:
    gap = check(SEEN, 15, b"\x02" * 32)
    assert gap is not None and gap.diverged and "another history" in gap.describe()


def test_agreement_and_no_witness_say_nothing() -> None:
    assert check(SEEN, 12, SEEN.hash) is None
    assert check(SEEN, 20, None) is None  # ahead of the witness (it lags by a crash at most): not compared
    assert check(None, 5, None) is None
