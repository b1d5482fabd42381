"""Disputes, the pure part: who may dispute what, how much is held from whom, and the steps a dispute
goes through.

A payer (or, through the operator, its card processor) disputes a payment it made: up to what is left of
it (refunds and earlier disputes taken off, as the payment's refund allowance counts them). The amount
is held at once from the merchant's balance (the rolling reserve kept for this is spent first: a payout
keeps back only what of the reserve an open dispute does not already hold); what the merchant's balance
cannot cover, the platform covers, and loses if the dispute is lost. The merchant may answer with
evidence until the dispute's due date. Then it is decided: won (the hold is released to the merchant)
or lost (the amount goes back to the payer).
"""

from __future__ import annotations

from dataclasses import dataclass

from farthing.errors import ErrorCode, PlatformError

DAY_MS = 86_400_000
EVIDENCE_DAYS = 7
"""How long a merchant has to answer a dispute with evidence."""
EVIDENCE_CHARS_MAX = 20_000
REASONS = ("fraudulent", "not_received", "not_as_described", "duplicate", "unrecognized", "other")
OPEN = ("needs_response", "under_review")
"""A dispute not decided yet: waiting for the merchant's evidence, or with it."""
OUTCOMES = ("won", "lost")


@dataclass(frozen=True, slots=True)
class Dispute:
    """A dispute as kept: `amount` (ledger units) held from the merchant (`from_merchant`) and, for what its
    balance could not cover, from the platform (`from_platform`), by pending transfers decided together."""

    id: str
    payment: str
    """The disputed payment's public id."""
    customer: str
    merchant: str
    currency: str
    mode: str
    amount: int
    from_merchant: int
    from_platform: int
    reason: str
    status: str
    evidence: str | None
    opened_ms: int
    due_ms: int
    closed_ms: int | None

    @property
    def open(self) -> bool:
        return self.status in OPEN


def split(amount: int, merchant_available: int) -> tuple[int, int]:
    """(held from the merchant, covered by the platform): the merchant's balance first, all of it if need be."""
    from_merchant = min(amount, max(merchant_available, 0))
    return from_merchant, amount - from_merchant


def check_opening(amount: int, left: int, reason: str) -> None:
    """A dispute of `amount` on a payment of which `left` may still be given back."""
    if reason not in REASONS:
        raise PlatformError(ErrorCode.validation_failed, f"reason is one of {', '.join(REASONS)}")
    if left <= 0:
        raise PlatformError(ErrorCode.dispute_exceeds_payment, "nothing is left of this payment to dispute")
    if amount > left:
        raise PlatformError(
            ErrorCode.dispute_exceeds_payment, "a dispute may not pass what is left of the payment after refunds"
        )


def check_evidence(d: Dispute, text: str, now_ms: int) -> str:
    """The merchant's evidence, checked: once, while the dispute waits for it, before its due date."""
    text = text.strip()
    if not 0 < len(text) <= EVIDENCE_CHARS_MAX:
        raise PlatformError(ErrorCode.validation_failed, f"evidence is 1 to {EVIDENCE_CHARS_MAX} characters")
    if any(c < " " and c not in "\n\t\r" for c in text):
        raise PlatformError(ErrorCode.validation_failed, "evidence is text: no control characters but line breaks")
    if d.status != "needs_response":
        raise PlatformError(ErrorCode.dispute_closed, f"this dispute is {d.status.replace('_', ' ')}: no more evidence")
    if now_ms > d.due_ms:
        raise PlatformError(ErrorCode.dispute_closed, "the time to answer this dispute has passed")
    return text


def check_outcome(d: Dispute, outcome: str) -> bool:
    """Whether deciding `d` as `outcome` changes anything (False: decided so already); a dispute decided the
    other way is refused."""
    if outcome not in OUTCOMES:
        raise PlatformError(ErrorCode.validation_failed, "outcome is won or lost")
    if d.open:
        return True
    if d.status != outcome:
        raise PlatformError(ErrorCode.dispute_closed, f"this dispute was {d.status} already")
    return False


def held_from_reserve(reserve: int, held_by_disputes: int) -> int:
    """What of the rolling reserve a payout must still keep back: open disputes spend it first."""
    return max(reserve - held_by_disputes, 0)
