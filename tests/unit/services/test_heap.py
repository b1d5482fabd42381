"""The collector's tuning: in force inside `settled()`, put back after it (a simulation inside a test run)."""

from __future__ import annotations

import gc

import pytest

from farthing.services import heap


def test_settled_tunes_the_collector_and_puts_it_back() -> None:
    before, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    kept = [object() for _ in range(10)]  # something alive to freeze
    with heap.settled():
        assert gc.get_threshold()[0] == heap.YOUNG_THRESHOLD
        assert gc.get_threshold()[1:] == before[1:]
        assert gc.get_freeze_count() > frozen_before
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    assert kept


def test_settled_puts_it_back_after_an_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), heap.settled():
        raise RuntimeError("a run that failed")
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
