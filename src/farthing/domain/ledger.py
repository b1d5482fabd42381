"""The ledger's state and its rules for accounts, expiry and linked chains.

Pure: no I/O, no clock (the time `now_ms` is passed in). The engine loads what the rules need
(accounts, open pending transfers, ids seen before) and hands them over as `LedgerState` plus the
look-ups it prefetched; the rules mutate the state and say what to write (`BatchEffects`). The
rules for transfers live beside this module, in `ledger_transfers.py`.

What this module keeps true:
- Linked events apply all or none: a failure anywhere in a chain undoes the chain.
- An expired pending transfer releases its amount once, and only if it is still open.
- An account id is created once; a repeat answers `exists` or `exists_with_different_*`.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from farthing import limits
from farthing.domain.invariant import invariant
from farthing.domain.ledger_types import (
    ACCOUNT_FLAGS_ALL,
    Account,
    AccountState,
    PendingInfo,
    PendingStatus,
    Transfer,
)
from farthing.errors import AccountResult, TransferResult

_LINKED = 1
_DMNEC = 2  # account flag debits_must_not_exceed_credits
_CMNED = 4  # account flag credits_must_not_exceed_debits
_U128_MAX = limits.u128_max


@dataclass
class LedgerState:
    """What the engine keeps in memory: every account, the open pending transfers, and expiries."""

    accounts: dict[int, AccountState] = field(default_factory=dict)
    pending: dict[int, PendingInfo] = field(default_factory=dict)
    expiries: list[tuple[int, int]] = field(default_factory=list)
    """A heap of (expires_at_ms, pending id); entries of resolved transfers are skipped lazily."""

    def add_pending(self, info: PendingInfo) -> None:
        self.pending[info.transfer.id] = info
        if info.expires_at_ms:
            heapq.heappush(self.expiries, (info.expires_at_ms, info.transfer.id))


@dataclass
class BatchEffects:
    """What a batch changed, for the store to write in one transaction."""

    accounts_created: list[AccountState] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)
    expired: list[PendingInfo] = field(default_factory=list)
    """Pending transfers released because their time ran out, with status `expired`."""
    touched: dict[int, AccountState] = field(default_factory=dict)

    def event_count(self) -> int:
        return len(self.accounts_created) + len(self.transfers) + len(self.expired)


def expire_due(state: LedgerState, now_ms: int, effects: BatchEffects) -> None:
    """Release every open pending transfer whose expiry is at or before `now_ms`."""
    heap = state.expiries
    while heap and heap[0][0] <= now_ms:
        expires_at_ms, pid = heapq.heappop(heap)
        info = state.pending.get(pid)
        if info is None or info.expires_at_ms != expires_at_ms:
            continue  # resolved before it expired, or an entry left by a rolled-back chain
        del state.pending[pid]
        t = info.transfer
        dr = state.accounts[t.debit_account_id]
        cr = state.accounts[t.credit_account_id]
        dr.debits_pending -= t.amount
        cr.credits_pending -= t.amount
        invariant(dr.debits_pending >= 0 and cr.credits_pending >= 0, "pending balance went negative")
        effects.touched[dr.id] = dr
        effects.touched[cr.id] = cr
        info.status = PendingStatus.expired
        effects.expired.append(info)


_E = TypeVar("_E", Account, Transfer)
_Res = TypeVar("_Res", AccountResult, TransferResult)


def run_linked(
    events: Sequence[_E],
    codes: type[_Res],
    one: Callable[[_E], _Res],
    commit: Callable[[], None],
    rollback: Callable[[], None],
) -> list[_Res]:
    """Apply events in order with `one`, honouring linked chains: all of a chain or none of it.

    A chain runs from an event flagged `linked` to the first event after it that is not. When one
    member fails, `rollback` undoes the chain so far, the members before it answer
    `linked_event_failed`, the failed one keeps its own code, and the members after it are not
    tried. A chain still open at the end of the batch fails with `linked_event_chain_open`.
    `exists` counts as success inside a chain: a retried chain answers `exists` for every member.
    """
    ok, exists = codes["ok"], codes["exists"]
    failed, still_open = codes["linked_event_failed"], codes["linked_event_chain_open"]
    results: list[_Res] = []
    n = len(events)
    chain_start = -1
    i = 0
    while i < n:
        linked = events[i].flags & _LINKED
        if linked and chain_start < 0:
            chain_start = i
        result = still_open if linked and i == n - 1 else one(events[i])
        results.append(result)
        if result is not ok and result is not exists and chain_start >= 0:
            rollback()
            for j in range(chain_start, i):
                results[j] = failed
            while linked and i + 1 < n:
                i += 1
                linked = events[i].flags & _LINKED
                results.append(still_open if linked and i == n - 1 else failed)
            chain_start = -1
        elif not linked:
            commit()
            chain_start = -1
        i += 1
    commit()
    return results


# ----------------------------------------------------------------------------------------------
# Accounts


def _account_shape(a: Account) -> AccountResult:
    if a.id == 0:
        return AccountResult.id_must_not_be_zero
    if a.id == _U128_MAX:
        return AccountResult.id_must_not_be_int_max
    if not 0 < a.id < _U128_MAX:
        return AccountResult.id_out_of_range
    if a.flags & ~ACCOUNT_FLAGS_ALL or a.flags < 0:
        return AccountResult.flags_unknown
    if a.flags & _DMNEC and a.flags & _CMNED:
        return AccountResult.flags_are_mutually_exclusive
    if a.ledger == 0:
        return AccountResult.ledger_must_not_be_zero
    if not 0 < a.ledger <= limits.ledger_max:
        return AccountResult.ledger_out_of_range
    if a.code == 0:
        return AccountResult.code_must_not_be_zero
    if not 0 < a.code <= limits.code_max:
        return AccountResult.code_out_of_range
    if not 0 <= a.user_data < _U128_MAX:
        return AccountResult.user_data_out_of_range
    return AccountResult.ok


def _account_exists(a: Account, e: AccountState) -> AccountResult:
    if (a.flags & ~_LINKED) != (e.flags & ~_LINKED):
        return AccountResult.exists_with_different_flags
    if a.user_data != e.user_data:
        return AccountResult.exists_with_different_user_data
    if a.ledger != e.ledger:
        return AccountResult.exists_with_different_ledger
    if a.code != e.code:
        return AccountResult.exists_with_different_code
    return AccountResult.exists


def create_accounts(
    events: Sequence[Account], state: LedgerState, effects: BatchEffects, now_ms: int
) -> list[AccountResult]:
    """Create accounts in order; returns one result per event. Sequence numbers come at commit."""
    chain: list[AccountState] = []

    def one(a: Account) -> AccountResult:
        result = _account_shape(a)
        if result is not AccountResult.ok:
            return result
        existing = state.accounts.get(a.id)
        if existing is not None:
            return _account_exists(a, existing)
        acc = AccountState(a.id, a.ledger, a.code, a.flags & ~_LINKED, a.user_data, timestamp_ms=now_ms)
        state.accounts[a.id] = acc
        chain.append(acc)
        return AccountResult.ok

    def commit() -> None:
        effects.accounts_created.extend(chain)
        chain.clear()

    def rollback() -> None:
        for acc in chain:
            del state.accounts[acc.id]
        chain.clear()

    before = len(effects.accounts_created)
    results = run_linked(events, AccountResult, one, commit, rollback)
    # Post-condition: an answer per event, and the batch gained exactly the accounts answered ok.
    invariant(len(results) == len(events), "a result per account")
    invariant(len(effects.accounts_created) - before == results.count(AccountResult.ok), "created are the ok ones")
    return results


def balance_sums(accounts: Iterable[AccountState]) -> tuple[int, int, int, int]:
    """Sums of the four balance columns; debits equal credits, pending and posted, in a sound ledger."""
    dp = dpo = cp = cpo = 0
    for a in accounts:
        dp += a.debits_pending
        dpo += a.debits_posted
        cp += a.credits_pending
        cpo += a.credits_posted
    return dp, dpo, cp, cpo
