"""The ledger's rules for transfers: plain, pending, post and void, each validated then applied.

Pure, like `farthing.domain.ledger` (whose state, effects and linked-chain runner it uses): no I/O,
no clock. What these rules keep true:
- Every applied transfer debits one account and credits another by the same amount.
- A flagged account never lets its debits (credits) pass its credits (debits), pending included.
- A transfer id is applied at most once; a repeat answers `exists` or `exists_with_different_*`.
- A pending transfer is resolved (posted, voided or expired) at most once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from farthing import limits
from farthing.domain.invariant import invariant
from farthing.domain.ledger import BatchEffects, LedgerState, run_linked
from farthing.domain.ledger_types import TRANSFER_FLAGS_ALL, AccountState, PendingInfo, PendingStatus, Transfer
from farthing.errors import TransferResult

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
        before = len(self.effects.transfers)
        if not self._linked:
            results = [self._one(t) for t in events]
        else:
            try:
                results = run_linked(events, R, self._one, self._commit_chain, self._rollback_chain)
            finally:
                self._linked = False
        # Post-condition: an answer per event, and the batch gained exactly the transfers answered ok.
        invariant(len(results) == len(events), "a result per transfer")
        invariant(len(self.effects.transfers) - before == results.count(R.ok), "applied transfers are the ok ones")
        return results

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
