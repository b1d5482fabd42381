"""The ledger's value types: accounts, transfers, their flags, and the engine-owned account state.

What this module keeps true: every value is checked for type when it is built (a float, a bool or a
str where an integer belongs is a `TypeError` at once, naming the field), so the rules in
`ledger.py` only ever see integers. Range rules (zero ids, amounts past the maximum, ...) are not
checked here: they are per-event result codes, so one batch reports every problem.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from farthing.domain.quick_init import quick_init


class AccountFlags(enum.IntFlag):
    linked = 1
    debits_must_not_exceed_credits = 2
    credits_must_not_exceed_debits = 4
    closed = 8


class TransferFlags(enum.IntFlag):
    linked = 1
    pending = 2
    post_pending = 4
    void_pending = 8


ACCOUNT_FLAGS_ALL = int(
    AccountFlags.linked
    | AccountFlags.debits_must_not_exceed_credits
    | AccountFlags.credits_must_not_exceed_debits
    | AccountFlags.closed
)
TRANSFER_FLAGS_ALL = int(
    TransferFlags.linked | TransferFlags.pending | TransferFlags.post_pending | TransferFlags.void_pending
)


_JUST_INT = {int}


def _check_ints(owner: str, names: tuple[str, ...], values: tuple[object, ...]) -> None:
    if set(map(type, values)) == _JUST_INT:  # the usual case, checked at C speed
        return
    for name, value in zip(names, values, strict=True):
        if type(value) is not int and (not isinstance(value, int) or isinstance(value, bool)):
            raise TypeError(f"{owner}.{name} must be an int, not {type(value).__name__} {value!r}")


@quick_init
@dataclass(frozen=True, slots=True)
class Account:
    """A request to create an account; balances start at zero and belong to the engine."""

    id: int
    ledger: int
    code: int
    flags: int = 0
    user_data: int = 0

    def __post_init__(self) -> None:
        _check_ints(
            "Account",
            ("id", "ledger", "code", "flags", "user_data"),
            (self.id, self.ledger, self.code, self.flags, self.user_data),
        )
        if type(self.flags) is not int:  # an AccountFlags value: keep the plain int, as the store does
            object.__setattr__(self, "flags", int(self.flags))


@quick_init
@dataclass(frozen=True, slots=True)
class Transfer:
    """A request to move `amount` ledger units from the debit account to the credit account.

    `pending` reserves the amount; `post_pending` (with `pending_id`) moves some or all of it, and
    `void_pending` releases it. On those two, zero account ids, ledger, code or amount mean "as the
    pending transfer"; the engine records the values in effect.
    """

    id: int
    debit_account_id: int
    credit_account_id: int
    amount: int
    ledger: int
    code: int
    flags: int = 0
    pending_id: int = 0
    user_data: int = 0
    timeout_s: int = 0

    def __post_init__(self) -> None:
        _check_ints(
            "Transfer",
            (
                "id",
                "debit_account_id",
                "credit_account_id",
                "amount",
                "ledger",
                "code",
                "flags",
                "pending_id",
                "user_data",
                "timeout_s",
            ),
            (
                self.id,
                self.debit_account_id,
                self.credit_account_id,
                self.amount,
                self.ledger,
                self.code,
                self.flags,
                self.pending_id,
                self.user_data,
                self.timeout_s,
            ),
        )
        if type(self.flags) is not int:  # a TransferFlags value: keep the plain int, as the store does
            object.__setattr__(self, "flags", int(self.flags))


@dataclass(slots=True)
class AccountState:
    """An account as the engine holds it: its definition plus the four balance columns."""

    id: int
    ledger: int
    code: int
    flags: int
    user_data: int
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0
    seq: int = 0
    timestamp_ms: int = 0

    def balances(self) -> tuple[int, int, int, int]:
        return (self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted)

    def definition(self) -> Account:
        return Account(self.id, self.ledger, self.code, self.flags, self.user_data)


class PendingStatus(enum.IntEnum):
    open = 0
    posted = 1
    voided = 2
    expired = 3


@dataclass(slots=True)
class PendingInfo:
    """What the rules need to know about a pending transfer: its terms, expiry and status."""

    transfer: Transfer
    expires_at_ms: int
    status: PendingStatus = PendingStatus.open


@quick_init
@dataclass(frozen=True, slots=True)
class Committed:
    """A transfer as committed: the values in effect, its place in the ledger's order, and time."""

    transfer: Transfer
    seq: int
    timestamp_ms: int


def linked_chain(legs: Sequence[Transfer]) -> list[Transfer]:
    """The legs as one linked chain: every leg but the last carries `linked`, the last does not, so
    the ledger applies all of them or none."""
    linked = int(TransferFlags.linked)
    return [_with_flags(t, t.flags | linked) for t in legs[:-1]] + [
        _with_flags(t, t.flags & ~linked) for t in legs[-1:]
    ]


def _with_flags(t: Transfer, flags: int) -> Transfer:
    """`t` with other flags (`dataclasses.replace` without its cost: this is on every payment's path)."""
    if t.flags == flags:
        return t
    return Transfer(t.id, t.debit_account_id, t.credit_account_id, t.amount, t.ledger, t.code, flags, t.pending_id,
                    t.user_data, t.timeout_s)  # fmt: skip
