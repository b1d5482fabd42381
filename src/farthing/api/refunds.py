"""A payment given back: a merchant's refund, or the payer's withdrawal by right."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import Field

from farthing.api.deps import (
    Amount,
    IdempotencyKey,
    InModel,
    PlatformDep,
    PrincipalDep,
    idempotency_key_of,
    replayable,
    replays,
)
from farthing.api.mode import Moded

router = APIRouter()


class RefundIn(InModel):
    amount: Amount | None = Field(default=None, description="what to refund; all that is left when left out")


class RefundOut(Moded):
    id: str
    object: Literal["refund"] = "refund"
    payment: str
    amount: str
    currency: str
    reason: Literal["merchant", "withdrawal"] = Field(
        default="merchant", description="merchant: refunded by the merchant; withdrawal: the payer withdrew, by right"
    )


@router.post(
    "/v1/payments/{payment_id}/refunds",
    status_code=201,
    response_model=RefundOut,
    responses=replays(RefundOut),
    tags=["payments"],
)
def create_refund(
    payment_id: str,
    principal: PrincipalDep,
    platform: PlatformDep,
    body: RefundIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> RefundOut | JSONResponse:
    """Refund all or part of a payment (merchant key); refunds never pass what was paid in total.
    The platform keeps its fee."""
    done = platform.refunds.refund(
        principal,
        payment_id,
        body.amount if body else None,
        idempotency_key_of(idempotency_key),
    )
    return replayable(
        RefundOut(id=done.id, payment=done.payment, amount=done.amount, currency=done.currency), done.replayed
    )


@router.post(
    "/v1/payments/{payment_id}/withdrawal",
    status_code=201,
    response_model=RefundOut,
    responses=replays(RefundOut),
    tags=["payments"],
)
def withdraw_payment(
    payment_id: str,
    principal: PrincipalDep,
    platform: PlatformDep,
    idempotency_key: IdempotencyKey = None,
) -> RefundOut | JSONResponse:
    """Withdraw from a purchase (customer key), by the consumer's right the currency's policy gives
    (14 days in the EU, 7 in Korea): all that is left of the payment comes back, its added tax too.
    Refused with `withdrawal_not_allowed` and the reason once the period ended or when the payer
    waived the right as the content was supplied (`withdrawal_waived` on the payment)."""
    done = platform.refunds.withdraw(principal, payment_id, idempotency_key_of(idempotency_key))
    out = RefundOut(id=done.id, payment=done.payment, amount=done.amount, currency=done.currency,
                    reason="withdrawal")  # fmt: skip
    return replayable(out, done.replayed)
