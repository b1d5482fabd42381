"""The ledger's first invariant, checked from the engine's own balances: every ledger sums to zero."""

from __future__ import annotations

from farthing.bootstrap import Platform


def assert_every_ledger_sums_to_zero(platform: Platform) -> None:
    sums: dict[int, int] = {}
    for account in platform.ledger.accounts():
        sums[account.ledger] = sums.get(account.ledger, 0) + account.credits_posted - account.debits_posted
    assert set(sums.values()) <= {0}, {ledger: s for ledger, s in sums.items() if s}
