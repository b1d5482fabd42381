"""A payment as the services ask for it (`PaymentItem`) and answer it (`Payment`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from farthing import limits
from farthing.domain.ledger_types import PendingStatus
from farthing.domain.money import Money, currency
from farthing.domain.policy.inputs import Evidence
from farthing.domain.quick_init import quick_init
from farthing.services.amounts import positive_money

HOLD_STATUS = {
    PendingStatus.open: "requires_capture",
    PendingStatus.posted: "succeeded",
    PendingStatus.voided: "canceled",
    PendingStatus.expired: "expired",
}
"""A payment made as a hold, by what became of its pending transfer."""


@dataclass(frozen=True, slots=True)
class SeenFrom:
    """Where a payment's request came from, as the edge saw it."""

    device: str | None = None
    """A stable mark of the payer's device or program (a digest of its user agent)."""
    network: str | None = None
    """The payer's IP network (`farthing.domain.risk.features.ip_prefix`)."""


@dataclass(frozen=True, slots=True)
class PaymentItem:
    merchant: str
    amount: Money
    """Parsed where the request came in (`farthing.services.amounts.positive_money`): more than zero, at
    most `limits.amount_max`."""
    reference: str | None = None
    idempotency_key: str | None = None
    evidence: Evidence | None = None
    """Where the payer is, beyond its billing country: IP, phone and payment-instrument countries."""
    capture: bool = True
    """False places a hold (a pending transfer) that `farthing.services.holds` captures or voids."""
    hold_s: int = limits.hold_s_default
    withdrawal_waived: bool = False
    """The payer waived its right of withdrawal when supply began (recorded with the policy's decision)."""
    channel: str = "remote"
    """remote (online), contactless (at a point of sale) or device (a device paying for its own use):
    the policy's SCA rules and limits may differ by channel (PSD2 RTS Art. 11 vs Art. 16)."""
    seen_from: SeenFrom | None = None
    """Where the request came from, for the risk engine."""
    allowance_use: float = 0.0
    """For a charge under a one-click allowance: its share of the allowance's per-payment cap, 0 to 1 (a
    feature of the risk engine's, never an amount)."""

    @property
    def currency(self) -> str:
        return self.amount.currency.code

    @classmethod
    def of(cls, merchant: str, amount: object, currency_code: str, *rest: object, **named: object) -> PaymentItem:
        """An item from an amount as a request carries it (a decimal string), parsed and checked here."""
        return cls(merchant, positive_money(amount, currency_code), *rest, **named)  # type: ignore[arg-type]


@quick_init
@dataclass(frozen=True, slots=True)
class Payment:
    id: str
    customer: str
    merchant: str
    amount: int
    """In units of the currency's ledger; formatted when answered (`formatted`)."""
    fee: int | None
    """None: not known where the payment was read (a hold read back: its fee is in the history)."""
    currency: str
    reference: str | None
    replayed: bool
    status: str = "succeeded"
    """succeeded, requires_capture (a hold), canceled (a voided hold) or expired (a hold past its time)."""
    guard_legs: int = 0
    """How many of its last ledger legs draw on a limit's headroom (internal: tells a limit from funds)."""
    policy: dict[str, object] | None = None
    """The policy's decision when one was made: version, SCA exemption, tax."""
    authentication: dict[str, object] | None = None
    """For a payment that waits for strong authentication: the challenge to answer (`farthing.services.stepup`)."""
    risk: dict[str, object] | None = None
    """The risk engine's score, outcome and reasons (`farthing.services.risk.risk_out`)."""


def formatted(payment: Payment) -> tuple[str, str]:
    """The payment's amount and fee as decimal strings, as its answers and events show them ("" for a fee
    not known)."""
    cur = currency(payment.currency)
    return cur.format(payment.amount), "" if payment.fee is None else cur.format(payment.fee)


class StepUpHook(Protocol):
    """What the payment path needs of the step-up service (`farthing.services.stepup.StepUps`)."""

    challenge_s: int

    def ready(self, party_id: str) -> bool: ...

    def annotate(self, payment: Payment) -> Payment: ...


def with_billing(evidence: Evidence | None, country: str | None) -> Evidence:
    """The payer's evidence of where it is, with the billing country its profile holds."""
    if evidence is None:
        return Evidence(country)
    return Evidence(country, evidence.ip, evidence.phone, evidence.instrument, evidence.region, evidence.site)
