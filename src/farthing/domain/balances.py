"""The ledger's balances as a fold over its committed events, shared by the audit and the history.

A transfer moves one pending or posted amount on its debit account's debit columns and its credit
account's credit columns; posting or voiding a pending transfer (or its expiry) first takes the whole
pending amount back off both pending columns. Pure: the caller supplies the balances and the still
pending transfers the fold starts from (all zero and none for a replay of the whole ledger).
"""

from __future__ import annotations

from dataclasses import dataclass

from farthing.domain.ledger_types import AccountState, Transfer
from farthing.domain.quick_init import quick_init

_PENDING, _POST, _VOID = 2, 4, 8


@quick_init
@dataclass(frozen=True, slots=True)
class LedgerEvent:
    """One committed event as read from the store (exactly one of account, transfer, pending_id: an
    expiry's). `timestamp_ms` is the commit time of its batch."""

    seq: int
    account: AccountState | None = None
    transfer: Transfer | None = None
    pending_id: int = 0
    timestamp_ms: int = 0


@quick_init
@dataclass(frozen=True, slots=True)
class Move:
    """What one transfer or expiry did: the accounts' pending and posted columns moved by these deltas
    (debit columns on the debit account, credit columns on the credit account)."""

    transfer: Transfer
    """The event's transfer; for an expiry, the pending transfer it released."""
    debit_account_id: int
    credit_account_id: int
    pending_id: int
    """For a post, void or expiry: the pending transfer it resolved (else 0)."""
    expired: bool
    pending_delta: int
    posted_delta: int


class UnknownReference(ValueError):
    """An event names an account or a pending transfer that the fold has never seen."""


class BalanceFold:
    def __init__(
        self, balances: dict[int, list[int]] | None = None, pending: dict[int, Transfer] | None = None
    ) -> None:
        self.balances: dict[int, list[int]] = balances if balances is not None else {}
        """Account id -> [debits_pending, debits_posted, credits_pending, credits_posted]."""
        self.pending: dict[int, Transfer] = pending if pending is not None else {}
        """Pending transfers not yet posted, voided or expired."""

    def apply(self, e: LedgerEvent) -> Move | None:
        """Fold one event in; the move it made (None for an account's creation)."""
        if e.account is not None:
            self.balances[e.account.id] = [0, 0, 0, 0]
            return None
        t = e.transfer
        if t is None:
            p = self._resolve(e.pending_id, f"expiry of unknown pending transfer {e.pending_id}")
            return self._move(Move(p, p.debit_account_id, p.credit_account_id, p.id, True, -p.amount, 0))
        if t.flags & (_POST | _VOID):
            p = self._resolve(t.pending_id, f"transfer {t.id} resolves unknown pending {t.pending_id}")
            posted = t.amount if t.flags & _POST else 0
            return self._move(Move(t, p.debit_account_id, p.credit_account_id, p.id, False, -p.amount, posted))
        if t.flags & _PENDING:
            self.pending[t.id] = t
            return self._move(Move(t, t.debit_account_id, t.credit_account_id, 0, False, t.amount, 0))
        return self._move(Move(t, t.debit_account_id, t.credit_account_id, 0, False, 0, t.amount))

    def _resolve(self, pending_id: int, message: str) -> Transfer:
        p = self.pending.pop(pending_id, None)
        if p is None:
            raise UnknownReference(message)
        return p

    def _move(self, m: Move) -> Move:
        dr = self.balances.get(m.debit_account_id)
        cr = self.balances.get(m.credit_account_id)
        if dr is None or cr is None:
            raise UnknownReference(f"transfer {m.transfer.id} names an account never created")
        dr[0] += m.pending_delta
        dr[1] += m.posted_delta
        cr[2] += m.pending_delta
        cr[3] += m.posted_delta
        return m
