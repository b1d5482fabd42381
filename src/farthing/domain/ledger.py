"""The ledger's rules: validate and apply a batch of events, in order, to in-memory state.

Pure: no I/O, no clock (the time `now_ms` is passed in). The engine loads what the rules need
(accounts, open pending transfers, ids seen before) and hands them over as `LedgerState` plus the
look-ups it prefetched; the rules mutate the state and say what to write.

What these rules keep true:
- Every applied transfer debits one account and credits another by the same amount, so the sum
  of debits equals the sum of credits over the ledger, always.
- A flagged account never lets its debits (credits) pass its credits (debits), pending included.
- A transfer id is applied at most once; a repeat answers `exists` or `exists_with_different_*`.
- Linked events apply all or none: a failure anywhere in a chain undoes the chain.
- A pending transfer is resolved (posted, voided or expired) at most once.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from farthing import limits
from farthing.domain.invariant import invariant
from farthing.domain.ledger_types import (
    ACCOUNT_FLAGS_ALL,
    TRANSFER_FLAGS_ALL,
    Account,
    AccountState,
    PendingInfo,
    PendingStatus,
    Transfer,
)
from farthing.errors import AccountResult, TransferResult

R = TransferResult

_LINKED = 1
_PENDING = 2
_POST = 4
_VOID = 8
_DMNEC = 2  # account flag debits_must_not_exceed_credits
_CMNED = 4  # account flag credits_must_not_exceed_debits
_CLOSED = 8
_U128_MAX = limits.u128_max
_AMOUNT_MAX = limits.amount_max
_LEDGER_MAX = limits.ledger_max
_CODE_MAX = limits.code_max


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

    return run_linked(events, AccountResult, one, commit, rollback)


# ----------------------------------------------------------------------------------------------
# Transfers


def _transfer_shape(t: Transfer) -> R:
    """Rules that look at the transfer alone, before any state."""
    tid = t.id
    if tid == 0:
        return R.id_must_not_be_zero
    if tid == _U128_MAX:
        return R.id_must_not_be_int_max
    if not 0 < tid < _U128_MAX:
        return R.id_out_of_range
    flags = t.flags
    if flags & ~TRANSFER_FLAGS_ALL or flags < 0:
        return R.flags_unknown
    kind = flags & (_PENDING | _POST | _VOID)
    if kind not in (0, _PENDING, _POST, _VOID):
        return R.flags_are_mutually_exclusive
    return R.ok


def _transfer_fields(t: Transfer) -> R:
    """Field rules, checked after the id was found to be new."""
    flags = t.flags
    resolving = flags & (_POST | _VOID)
    dr, cr = t.debit_account_id, t.credit_account_id
    if not resolving:
        if dr == 0:
            return R.debit_account_id_must_not_be_zero
        if cr == 0:
            return R.credit_account_id_must_not_be_zero
    if not (0 <= dr < _U128_MAX and 0 <= cr < _U128_MAX):
        return R.account_id_out_of_range
    if dr == cr and dr != 0:
        return R.accounts_must_be_different
    if resolving:
        if t.pending_id == 0:
            return R.pending_id_must_not_be_zero
        if not 0 < t.pending_id < _U128_MAX:
            return R.id_out_of_range
        if t.pending_id == t.id:
            return R.pending_id_must_be_different
    elif t.pending_id != 0:
        return R.pending_id_must_be_zero
    if t.timeout_s != 0 and not flags & _PENDING:
        return R.timeout_reserved_for_pending_transfer
    if not 0 <= t.timeout_s <= limits.timeout_s_max:
        return R.timeout_out_of_range
    if not resolving:
        if t.ledger == 0:
            return R.ledger_must_not_be_zero
        if t.code == 0:
            return R.code_must_not_be_zero
    if not 0 <= t.ledger <= limits.ledger_max:
        return R.ledger_out_of_range
    if not 0 <= t.code <= limits.code_max:
        return R.code_out_of_range
    if not 0 <= t.user_data < _U128_MAX:
        return R.user_data_out_of_range
    if t.amount <= 0 and not (resolving and t.amount == 0):
        return R.amount_must_be_positive
    if t.amount > _AMOUNT_MAX:
        return R.amount_exceeds_max
    return R.ok


def plain_in_range(t: Transfer) -> bool:
    """The common case, checked in one expression: a plain transfer whose every field is in range.

    True implies that `_transfer_shape` and `_transfer_fields` both pass (a property test holds
    it to that); anything else takes the full path, which names the first rule broken.
    """
    dr, cr = t.debit_account_id, t.credit_account_id
    return (
        t.flags == 0
        and t.pending_id == 0
        and t.timeout_s == 0
        and 0 < t.id < _U128_MAX
        and 0 < t.amount <= _AMOUNT_MAX
        and 0 < dr < _U128_MAX
        and 0 < cr < _U128_MAX
        and dr != cr
        and 0 < t.ledger <= _LEDGER_MAX
        and 0 < t.code <= _CODE_MAX
        and 0 <= t.user_data < _U128_MAX
    )


def _transfer_exists(t: Transfer, e: Transfer) -> R:
    """Compare a repeated id with what was committed; zeros on post/void mean "as committed"."""
    if (t.flags & ~_LINKED) != (e.flags & ~_LINKED):
        return R.exists_with_different_flags
    if t.pending_id != e.pending_id:
        return R.exists_with_different_pending_id
    if t.timeout_s != e.timeout_s:
        return R.exists_with_different_timeout
    loose = bool(t.flags & (_POST | _VOID))
    if t.debit_account_id != e.debit_account_id and not (loose and t.debit_account_id == 0):
        return R.exists_with_different_debit_account_id
    if t.credit_account_id != e.credit_account_id and not (loose and t.credit_account_id == 0):
        return R.exists_with_different_credit_account_id
    if t.amount != e.amount and not (loose and t.amount == 0):
        return R.exists_with_different_amount
    if t.user_data != e.user_data:
        return R.exists_with_different_user_data
    if t.ledger != e.ledger and not (loose and t.ledger == 0):
        return R.exists_with_different_ledger
    if t.code != e.code and not (loose and t.code == 0):
        return R.exists_with_different_code
    return R.exists


_STATUS_RESULT = {
    PendingStatus.posted: R.pending_transfer_already_posted,
    PendingStatus.voided: R.pending_transfer_already_voided,
    PendingStatus.expired: R.pending_transfer_expired,
}


class TransferRules:
    """Applies transfers to a `LedgerState`, keeping an undo log for the open linked chain."""

    def __init__(
        self,
        state: LedgerState,
        known: dict[int, Transfer],
        resolved: Mapping[int, PendingInfo],
        effects: BatchEffects,
        now_ms: int,
    ) -> None:
        self.state = state
        self.known = known
        """Transfers committed before, by id (prefetched by the engine), plus those this batch applies."""
        self.resolved = dict(resolved)
        """Pending transfers that are not open (prefetched), plus those this batch resolves or expired."""
        for info in effects.expired:
            self.resolved[info.transfer.id] = info
        self.effects = effects
        self.now_ms = now_ms
        self._undo: list[tuple[AccountState, tuple[int, int, int, int]]] = []
        self._undo_pending: list[tuple[int, PendingInfo | None]] = []
        self._chain_transfers: list[Transfer] = []
        self._linked = False

    def apply(self, events: Sequence[Transfer]) -> list[R]:
        # Without linked events nothing is ever rolled back (a failing event changes nothing before it
        # fails), so the undo log is kept only for batches that hold a chain.
        self._linked = any(t.flags & _LINKED for t in events)
        if not self._linked:
            return [self._one(t) for t in events]
        try:
            return run_linked(events, R, self._one, self._commit_chain, self._rollback_chain)
        finally:
            self._linked = False

    def _commit_chain(self) -> None:
        self.effects.transfers.extend(self._chain_transfers)
        self._chain_transfers.clear()
        self._undo.clear()
        self._undo_pending.clear()

    def _rollback_chain(self) -> None:
        for acc, balances in reversed(self._undo):
            acc.debits_pending, acc.debits_posted, acc.credits_pending, acc.credits_posted = balances
        for pid, info in reversed(self._undo_pending):
            if info is None:
                self.state.pending.pop(pid, None)
            else:
                self.state.pending[pid] = info
                self.resolved.pop(pid, None)
        for t in self._chain_transfers:
            del self.known[t.id]
        self._chain_transfers.clear()
        self._undo.clear()
        self._undo_pending.clear()

    def _one(self, t: Transfer) -> R:
        if plain_in_range(t):
            existing = self.known.get(t.id)
            if existing is not None:
                return _transfer_exists(t, existing)
            return self._move(t)
        result = _transfer_shape(t)
        if result is not R.ok:
            return result
        existing = self.known.get(t.id)
        if existing is not None:
            return _transfer_exists(t, existing)
        result = _transfer_fields(t)
        if result is not R.ok:
            return result
        if t.flags & (_POST | _VOID):
            return self._resolve(t)
        return self._move(t)

    def _accounts(self, t: Transfer) -> tuple[R, AccountState | None, AccountState | None]:
        accounts = self.state.accounts
        dr = accounts.get(t.debit_account_id)
        if dr is None:
            return R.debit_account_not_found, None, None
        cr = accounts.get(t.credit_account_id)
        if cr is None:
            return R.credit_account_not_found, None, None
        if dr.ledger != cr.ledger:
            return R.accounts_must_have_the_same_ledger, None, None
        if t.ledger != dr.ledger:
            return R.transfer_must_have_the_same_ledger_as_accounts, None, None
        if dr.flags & _CLOSED:
            return R.debit_account_closed, None, None
        if cr.flags & _CLOSED:
            return R.credit_account_closed, None, None
        return R.ok, dr, cr

    def _move(self, t: Transfer) -> R:
        """A posted or pending transfer: check balances and limits, then apply."""
        accounts = self.state.accounts
        dr = accounts.get(t.debit_account_id)
        cr = accounts.get(t.credit_account_id)
        if (
            dr is None
            or cr is None
            or dr.ledger != t.ledger
            or cr.ledger != t.ledger
            or (dr.flags | cr.flags) & _CLOSED
        ):
            return self._accounts(t)[0]
        amount = t.amount
        pending = t.flags & _PENDING
        if pending:
            if dr.debits_pending + amount > _AMOUNT_MAX:
                return R.overflows_debits_pending
            if cr.credits_pending + amount > _AMOUNT_MAX:
                return R.overflows_credits_pending
        else:
            if dr.debits_posted + amount > _AMOUNT_MAX:
                return R.overflows_debits_posted
            if cr.credits_posted + amount > _AMOUNT_MAX:
                return R.overflows_credits_posted
        if dr.flags & _DMNEC and dr.debits_pending + dr.debits_posted + amount > dr.credits_posted:
            return R.exceeds_credits
        if cr.flags & _CMNED and cr.credits_pending + cr.credits_posted + amount > cr.debits_posted:
            return R.exceeds_debits
        if self._linked:
            self._save(dr, cr)
        if pending:
            dr.debits_pending += amount
            cr.credits_pending += amount
            expires = self.now_ms + t.timeout_s * 1000 if t.timeout_s else 0
            self.state.add_pending(PendingInfo(t, expires))
            if self._linked:
                self._undo_pending.append((t.id, None))
        else:
            dr.debits_posted += amount
            cr.credits_posted += amount
        self._accept(t, dr, cr)
        return R.ok

    def _resolve(self, t: Transfer) -> R:
        """Post (all or part of) or void a pending transfer."""
        pid = t.pending_id
        info = self.state.pending.get(pid)
        if info is None:
            gone = self.resolved.get(pid)
            if gone is None:
                committed = self.known.get(pid)
                return R.pending_transfer_not_pending if committed is not None else R.pending_transfer_not_found
            if not gone.transfer.flags & _PENDING:
                return R.pending_transfer_not_pending
            return _STATUS_RESULT.get(gone.status, R.pending_transfer_not_pending)
        p = info.transfer
        if t.debit_account_id not in (0, p.debit_account_id):
            return R.pending_transfer_has_different_debit_account_id
        if t.credit_account_id not in (0, p.credit_account_id):
            return R.pending_transfer_has_different_credit_account_id
        if t.ledger not in (0, p.ledger):
            return R.pending_transfer_has_different_ledger
        if t.code not in (0, p.code):
            return R.pending_transfer_has_different_code
        if info.expires_at_ms and info.expires_at_ms <= self.now_ms:
            return R.pending_transfer_expired
        post = bool(t.flags & _POST)
        amount = t.amount or p.amount
        if amount > p.amount:
            return R.exceeds_pending_transfer_amount
        if not post and amount != p.amount:
            return R.pending_transfer_has_different_amount
        accounts = self.state.accounts
        dr, cr = accounts[p.debit_account_id], accounts[p.credit_account_id]
        if post:
            if dr.debits_posted + amount > _AMOUNT_MAX:
                return R.overflows_debits_posted
            if cr.credits_posted + amount > _AMOUNT_MAX:
                return R.overflows_credits_posted
        self._save(dr, cr)
        dr.debits_pending -= p.amount
        cr.credits_pending -= p.amount
        if post:
            dr.debits_posted += amount
            cr.credits_posted += amount
        invariant(dr.debits_pending >= 0 and cr.credits_pending >= 0, "pending balance went negative")
        del self.state.pending[pid]
        if self._linked:
            self._undo_pending.append((pid, info))
        self.resolved[pid] = PendingInfo(p, info.expires_at_ms, PendingStatus.posted if post else PendingStatus.voided)
        effective = Transfer(
            t.id, p.debit_account_id, p.credit_account_id, amount, p.ledger, p.code,
            t.flags, pid, t.user_data, 0,
        )  # fmt: skip
        self._accept(effective, dr, cr)
        return R.ok

    def _save(self, dr: AccountState, cr: AccountState) -> None:
        if self._linked:
            self._undo.append((dr, (dr.debits_pending, dr.debits_posted, dr.credits_pending, dr.credits_posted)))
            self._undo.append((cr, (cr.debits_pending, cr.debits_posted, cr.credits_pending, cr.credits_posted)))

    def _accept(self, t: Transfer, dr: AccountState, cr: AccountState) -> None:
        self.known[t.id] = t
        (self._chain_transfers if self._linked else self.effects.transfers).append(t)
        touched = self.effects.touched
        touched[dr.id] = dr
        touched[cr.id] = cr


def balance_sums(accounts: Iterable[AccountState]) -> tuple[int, int, int, int]:
    """Sums of the four balance columns; debits equal credits, pending and posted, in a sound ledger."""
    dp = dpo = cp = cpo = 0
    for a in accounts:
        dp += a.debits_pending
        dpo += a.debits_posted
        cp += a.credits_pending
        cpo += a.credits_posted
    return dp, dpo, cp, cpo
