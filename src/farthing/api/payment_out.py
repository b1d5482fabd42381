"""The payment as the API answers it, shared by the payments, allowances and step-up routes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from farthing.api.mode import Moded, request_mode
from farthing.services.payments.model import Payment, formatted


class TaxOut(BaseModel):
    place: str
    kind: str
    amount: str = Field(description="exact at the ledger's scale; rounded once per period when it is closed")
    inclusive: bool


class DecisionOut(BaseModel):
    version: str = Field(description="SHA-256 of the policy packs that decided")
    decided_ms: int | None = Field(
        default=None, description="when it was decided (Unix ms): its refund and withdrawal windows count from here"
    )
    day: str | None = Field(default=None, description="the day it counts in, in the policy's calendar")
    month: str | None = Field(default=None, description="the month it counts in (its tax base's period)")
    sca_exemption: str | None
    tax: TaxOut | None
    withdrawal_waived: bool = Field(default=False, description="the payer waived its right of withdrawal")


class RiskReasonOut(BaseModel):
    rule: str = Field(description="the risk rule (or risk.model) that raised the score")
    says: str


class RiskOut(BaseModel):
    score: int = Field(ge=0, le=100, description="0 (nothing seen) to 100")
    outcome: Literal["allow", "step_up", "deny"]
    reasons: list[RiskReasonOut] = Field(description="what raised the score, the weightiest first")


class PaymentOut(Moded):
    id: str
    object: Literal["payment"] = "payment"
    status: Literal["succeeded", "requires_capture", "requires_authentication", "canceled", "expired"] = "succeeded"
    customer: str
    merchant: str
    amount: str
    fee: str
    currency: str
    reference: str | None
    policy: DecisionOut | None = Field(default=None, description="the policy's decision, when a policy decided")
    authentication: dict[str, Any] | None = Field(
        default=None,
        description="status requires_authentication: the challenge to answer (url, methods, WebAuthn options); "
        "the payment waits as a hold until then",
    )
    risk: RiskOut | None = Field(default=None, description="the risk engine's score of the payment and its reasons")


def payment_dict(p: Payment) -> dict[str, object]:
    amount, fee = formatted(p)
    return {
        "id": p.id, "object": "payment", "status": p.status, "customer": p.customer, "merchant": p.merchant,
        "amount": amount, "fee": fee, "currency": p.currency, "reference": p.reference, "policy": p.policy,
        "authentication": p.authentication, "risk": p.risk, "mode": request_mode(),
    }  # fmt: skip


def payment_out(payment: Payment) -> PaymentOut:
    return PaymentOut.model_validate(payment_dict(payment))
