"""The balance fold: what each kind of event does to the two accounts' columns."""

from __future__ import annotations

import pytest

from farthing.domain.balances import BalanceFold, LedgerEvent, UnknownReference
from farthing.domain.ledger_types import AccountState, Transfer, TransferFlags

L = 840


def _fold() -> BalanceFold:
    fold = BalanceFold()
    for i, acc in enumerate((1, 2)):
        assert fold.apply(LedgerEvent(i + 1, account=AccountState(acc, L, 1, 0, 0))) is None
    return fold


def test_plain_pending_post_void_and_expiry() -> None:
    fold = _fold()
    m = fold.apply(LedgerEvent(3, transfer=Transfer(10, 1, 2, 100, L, 1)))
    assert m is not None and (m.pending_delta, m.posted_delta) == (0, 100)
    fold.apply(LedgerEvent(4, transfer=Transfer(11, 1, 2, 50, L, 1, flags=int(TransferFlags.pending))))
    assert fold.balances == {1: [50, 100, 0, 0], 2: [0, 0, 50, 100]}
    post = Transfer(12, 1, 2, 20, L, 1, flags=int(TransferFlags.post_pending), pending_id=11)
    m = fold.apply(LedgerEvent(5, transfer=post))
    assert m is not None and (m.pending_id, m.pending_delta, m.posted_delta, m.expired) == (11, -50, 20, False)
    assert fold.balances == {1: [0, 120, 0, 0], 2: [0, 0, 0, 120]}
    fold.apply(LedgerEvent(6, transfer=Transfer(13, 2, 1, 30, L, 1, flags=int(TransferFlags.pending))))
    void = Transfer(14, 2, 1, 30, L, 1, flags=int(TransferFlags.void_pending), pending_id=13)
    fold.apply(LedgerEvent(7, transfer=void))
    fold.apply(LedgerEvent(8, transfer=Transfer(15, 1, 2, 5, L, 1, flags=int(TransferFlags.pending))))
    m = fold.apply(LedgerEvent(9, pending_id=15))
    assert m is not None and m.expired and m.transfer.id == 15 and m.pending_delta == -5
    assert fold.balances == {1: [0, 120, 0, 0], 2: [0, 0, 0, 120]}
    assert fold.pending == {}


def test_unknown_references_are_named() -> None:
    fold = _fold()
    with pytest.raises(UnknownReference, match="never created"):
        fold.apply(LedgerEvent(3, transfer=Transfer(10, 1, 9, 1, L, 1)))
    with pytest.raises(UnknownReference, match="unknown pending 77"):
        fold.apply(
            LedgerEvent(4, transfer=Transfer(11, 1, 2, 1, L, 1, flags=int(TransferFlags.post_pending), pending_id=77))
        )
    with pytest.raises(UnknownReference, match="expiry of unknown pending transfer 78"):
        fold.apply(LedgerEvent(5, pending_id=78))
