"""Payouts, the pure part: how much of a merchant's balance may go to its bank now, and whether a schedule
says a payout is due.

A bank moves whole minor units (cents), the ledger keeps far smaller ones: a payout is rounded down to the
currency's minor unit and the remainder stays in the merchant's balance for the next one, never rounded
away. A rolling reserve (a share of what was received in its last N days) stays behind against refunds
and disputes. A payout under the minimum is not made: the bank's fee would eat too much of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from farthing.domain.money import Currency
from farthing.errors import ErrorCode, PlatformError

DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
SCHEDULES = ("manual", "daily", "weekly", "monthly", "threshold")
PPM = 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Terms:
    """A merchant's payout terms in one currency (amounts in ledger units)."""

    schedule: str = "manual"
    """manual (asked for), daily, weekly, monthly (a calendar month, UTC), or threshold (the balance passes it)."""
    minimum: int = 0
    threshold: int = 0
    reserve_ppm: int = 0
    """The share of the last `reserve_days`' receipts held back."""
    reserve_days: int = 0

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise PlatformError(ErrorCode.validation_failed, f"schedule is one of {', '.join(SCHEDULES)}")
        if not 0 <= self.reserve_ppm <= PPM:
            raise PlatformError(ErrorCode.validation_failed, "the reserve is a share from 0 to 100 %")
        if not 0 <= self.reserve_days <= 365 or min(self.minimum, self.threshold) < 0:
            raise PlatformError(ErrorCode.validation_failed, "reserve days 0 to 365; amounts not negative")
        if self.schedule == "threshold" and self.threshold <= 0:
            raise PlatformError(ErrorCode.validation_failed, "a threshold schedule needs a threshold above zero")


@dataclass(frozen=True, slots=True)
class Payout:
    """A payout as kept: `amount` (ledger units, whole minor units) moved from the merchant's wallet by
    the pending transfer `transfer_id`; created, sent (in a bank file), paid (posted) or returned (voided)."""

    id: str
    merchant: str
    currency: str
    mode: str
    amount: int
    reserve: int
    remainder: int
    transfer_id: int
    status: str
    file_id: str | None
    reason: str | None
    created_ms: int
    settled_ms: int | None


@dataclass(frozen=True, slots=True)
class Payable:
    amount: int
    """What goes to the bank now: whole minor units, in ledger units."""
    reserve: int
    """Held back against refunds and disputes."""
    remainder: int
    """Below one minor unit: stays for the next payout."""


def reserve_of(terms: Terms, received_lately: int) -> int:
    """The rolling reserve: its share of what the merchant received in its last `reserve_days` (rounded up:
    the reserve never falls short by a rounding)."""
    return -(-received_lately * terms.reserve_ppm // PPM)


def fee_floor(cur: Currency, bank_fee: int, share_ppm: int) -> int:
    """The smallest payout whose bank fee (`bank_fee`, ledger units) is at most `share_ppm` of it: the
    operator's minimum, in whole minor units (rounded up)."""
    if bank_fee <= 0 or share_ppm <= 0:
        return 0
    unit: int = 10 ** (cur.scale - cur.exponent)
    least = -(-bank_fee * PPM // share_ppm)
    return -(-least // unit) * unit


def payable(
    cur: Currency, available: int, terms: Terms, received_lately: int, disputed: int = 0, floor: int = 0
) -> Payable:
    """How much of `available` (ledger units) may be paid out now; refused under the minimum (the merchant's,
    or the operator's `floor`, whichever is higher). `disputed`: what open disputes hold from the balance
    already, which the reserve (kept for them) covers first."""
    reserve = min(max(reserve_of(terms, received_lately) - disputed, 0), max(available, 0))
    free = max(available - reserve, 0)
    unit = 10 ** (cur.scale - cur.exponent)  # one minor unit (a cent) in ledger units
    amount = free // unit * unit
    if amount <= 0:
        raise PlatformError(ErrorCode.insufficient_funds, f"nothing to pay out: {cur.format(free)} {cur.code} free")
    minimum = max(terms.minimum, floor)
    if amount < minimum:
        raise PlatformError(
            ErrorCode.validation_failed,
            f"{cur.format(amount)} {cur.code} is under the minimum payout of {cur.format(minimum)} {cur.code}",
        )
    return Payable(amount, reserve, free - amount)


def due(terms: Terms, last_ms: int | None, now_ms: int, available: int) -> bool:
    """Whether the schedule asks for a payout now, the last one made at `last_ms` (None: never)."""
    if terms.schedule == "manual":
        return False
    if terms.schedule == "threshold":
        return available >= terms.threshold
    if last_ms is None:
        return True
    if terms.schedule == "daily":
        return now_ms // DAY_MS > last_ms // DAY_MS
    if terms.schedule == "weekly":  # weeks from Monday (1970-01-01 was a Thursday)
        return (now_ms // DAY_MS + 3) // 7 > (last_ms // DAY_MS + 3) // 7
    return _month(now_ms) > _month(last_ms)


def _month(ms: int) -> int:
    """Months since 1970-01 of a UTC instant."""
    moment = EPOCH + timedelta(milliseconds=ms)
    return moment.year * 12 + moment.month - 1
