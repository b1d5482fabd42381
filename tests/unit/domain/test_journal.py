"""The journal chain: deterministic, and any change to any byte of a batch changes its hash."""

from hypothesis import given
from hypothesis import strategies as st

from farthing.domain import journal
from farthing.domain.ledger_types import AccountState, Transfer


def _events() -> list[bytes]:
    return [
        journal.encode_account(1, AccountState(7, 840, 1, 2, 0)),
        journal.encode_transfer(2, Transfer(9, 7, 8, 2**127 - 1, 840, 3, flags=2, timeout_s=60)),
        journal.encode_expiry(3, 9),
    ]


def test_seal_is_deterministic_and_chains_on_the_previous_hash() -> None:
    a = journal.seal(journal.GENESIS_HASH, 1, 1, 3, 1_000, _events())
    b = journal.seal(journal.GENESIS_HASH, 1, 1, 3, 1_000, _events())
    assert a == b
    assert a.event_count == 3 and len(a.hash) == 32
    c = journal.seal(a.hash, 2, 4, 6, 1_000, _events())
    assert c.prev_hash == a.hash and c.hash != a.hash


def test_encodings_are_fixed_width() -> None:
    assert [len(e) for e in _events()] == [1 + 8 + 16 + 16 + 8, 1 + 8 + 6 * 16 + 12, 1 + 8 + 16]


@given(st.integers(0, 2), st.integers(0, 40), st.integers(1, 255))
def test_flipping_any_byte_of_any_event_changes_the_hash(which: int, position: int, xor: int) -> None:
    events = _events()
    original = journal.seal(journal.GENESIS_HASH, 1, 1, 3, 1_000, events).hash
    target = bytearray(events[which])
    target[position % len(target)] ^= xor
    events[which] = bytes(target)
    assert journal.seal(journal.GENESIS_HASH, 1, 1, 3, 1_000, events).hash != original


def test_dropping_or_reordering_events_changes_the_hash() -> None:
    events = _events()
    original = journal.seal(journal.GENESIS_HASH, 1, 1, 3, 1_000, events).hash
    assert journal.seal(journal.GENESIS_HASH, 1, 1, 3, 1_000, events[:2]).hash != original
    assert journal.seal(journal.GENESIS_HASH, 1, 1, 3, 1_000, events[::-1]).hash != original
    assert journal.seal(journal.GENESIS_HASH, 1, 1, 3, 1_001, events).hash != original
