"""A wallet's statement lines: what kind of movement each is, told by its transfer's code and flags, and
the line as it is read back with the account's balances after it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from farthing.domain.chart import (
    T_ADDED_TAX,
    T_ADDED_TAX_REFUND,
    T_CARD_FEE,
    T_CHANNEL,
    T_DISPUTE,
    T_DISPUTE_LOST,
    T_PAYMENT,
    T_PAYOUT,
    T_PAYOUT_RETURN,
    T_PLATFORM_FEE,
    T_REFUND,
    T_ROUNDING,
    T_TAX,
    T_TOPUP,
)
from farthing.domain.ledger_types import TransferFlags

_PENDING, _POST, _VOID = int(TransferFlags.pending), int(TransferFlags.post_pending), int(TransferFlags.void_pending)

_BY_CODE = {
    T_TOPUP: "topup",
    T_CARD_FEE: "card_fee",
    T_PLATFORM_FEE: "platform_fee",
    T_REFUND: "refund",
    T_ADDED_TAX: "added_tax",
    T_ADDED_TAX_REFUND: "added_tax_refund",
    T_TAX: "tax",
    T_ROUNDING: "tax_rounding",
    T_DISPUTE_LOST: "dispute_repaid",
    T_PAYOUT_RETURN: "payout_reversed",
}
"""Transfer types told by their code alone."""


@dataclass(frozen=True, slots=True)
class LineKind:
    """Which lines are of a type: the transfer's code (None: any), flags of which one at least is set
    (`flags_any`) or none is (`flags_none`), and whether the line is a hold's expiry."""

    code: int | None
    flags_any: int = 0
    flags_none: int = 0
    expired: bool | None = None


PENDING = _PENDING
"""The flag of a hold (a pending transfer), as statements read it."""

TYPES = {
    "payment": LineKind(T_PAYMENT, flags_none=_PENDING | _POST | _VOID),
    "hold": LineKind(T_PAYMENT, flags_any=_PENDING, expired=False),
    "capture": LineKind(T_PAYMENT, flags_any=_POST),
    "hold_voided": LineKind(T_PAYMENT, flags_any=_VOID),
    "hold_expired": LineKind(None, expired=True),
    "channel_deposit": LineKind(T_CHANNEL, flags_any=_PENDING, expired=False),
    "channel_payment": LineKind(T_CHANNEL, flags_any=_POST),
    "channel_released": LineKind(T_CHANNEL, flags_any=_VOID),
    "payout_held": LineKind(T_PAYOUT, flags_any=_PENDING, expired=False),
    "payout": LineKind(T_PAYOUT, flags_any=_POST),
    "payout_returned": LineKind(T_PAYOUT, flags_any=_VOID),
    "dispute_held": LineKind(T_DISPUTE, flags_any=_PENDING, expired=False),
    "dispute_lost": LineKind(T_DISPUTE, flags_any=_POST),
    "dispute_won": LineKind(T_DISPUTE, flags_any=_VOID),
    **{name: LineKind(code) for code, name in _BY_CODE.items()},
}
"""Every type a line may have, and how to pick its lines out (a filter of the history)."""


def type_of(code: int, flags: int, expired: bool) -> str:
    if expired:
        return "hold_expired"
    if code == T_PAYMENT:
        if flags & _PENDING:
            return "hold"
        if flags & _POST:
            return "capture"
        if flags & _VOID:
            return "hold_voided"
        return "payment"
    if code == T_CHANNEL:
        return "channel_deposit" if flags & _PENDING else "channel_payment" if flags & _POST else "channel_released"
    if code == T_PAYOUT:
        return "payout_held" if flags & _PENDING else "payout" if flags & _POST else "payout_returned"
    if code == T_DISPUTE:
        return "dispute_held" if flags & _PENDING else "dispute_lost" if flags & _POST else "dispute_won"
    return _BY_CODE.get(code, "transfer")


Moved = tuple[int, ...]
"""One transfer's (or expiry's) move as the projection writes it, a line for each of its two accounts, in
this order: seq, timestamp_ms, transfer_id, code, flags, expired (0 or 1), amount (posted, or for a hold
held), released (from pending: a capture, a void, an expiry), payment_id (0: none), reference_hash (0:
none), then the debit account's id and its four balances after the move (debits pending, debits posted,
credits pending, credits posted), then the credit account's id and its four. One flat tuple, not a
NamedTuple nor nested tuples: the projection makes one per transfer, and a NamedTuple's constructor cost
it a tenth of its speed."""


class Line(NamedTuple):
    """One account's line as it is read back."""

    account_id: int
    seq: int
    timestamp_ms: int
    transfer_id: int
    code: int
    flags: int
    expired: bool
    side: int  # 0 debit, 1 credit
    amount: int
    """Posted, or (for a hold) held."""
    released: int
    """Released from pending (a capture, a void, an expiry)."""
    debits_pending: int
    """The account's balances after this line: debits pending, debits posted, credits pending, credits posted."""
    debits_posted: int
    credits_pending: int
    credits_posted: int
    payment_id: int | None
    reference_hash: int | None


@dataclass(frozen=True, slots=True)
class Entry:
    """One account's line for one transfer or expiry, with its balances after."""

    seq: int
    timestamp_ms: int
    transfer_id: int
    type: str
    side: str  # debit | credit
    amount: int
    """Posted amount this line moved (0 for a hold, a void or an expiry)."""
    pending_delta: int
    """Change of this side's pending column (+ a hold, - its capture, void or expiry)."""
    balances: tuple[int, int, int, int]
    """debits_pending, debits_posted, credits_pending, credits_posted after this line."""
    payment_id: int
    reference: str | None
    account_id: int = 0
    """The account whose line it is."""

    @property
    def id(self) -> str:
        return f"txn_{self.seq}"


def entry_of(line: Line, reference: str | None) -> Entry:
    """A line as a statement shows it."""
    pending = bool(line.flags & _PENDING) and not line.expired
    kind = type_of(line.code, line.flags, line.expired)
    side = "credit" if line.side else "debit"
    amount, pending_delta = (0, line.amount) if pending else (line.amount, -line.released)
    balances = (line.debits_pending, line.debits_posted, line.credits_pending, line.credits_posted)
    return Entry(line.seq, line.timestamp_ms, line.transfer_id, kind, side, amount, pending_delta, balances,
                 line.payment_id or 0, reference, line.account_id)  # fmt: skip
