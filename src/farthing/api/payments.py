"""`/v1/payments`: pay a merchant, many at once, and read a payment back."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr
from pydantic_core import to_json

from farthing import limits
from farthing.api.deps import (
    PRINTABLE,
    Amount,
    CurrencyCode,
    IdempotencyKey,
    InModel,
    PlatformDep,
    PrincipalDep,
    SeenFromDep,
    idempotency_key_of,
    replayable,
    replays,
)
from farthing.api.lean_route import lean_post
from farthing.api.parties import COUNTRY
from farthing.api.payment_out import PaymentOut, payment_dict, payment_out
from farthing.domain.policy.inputs import Evidence
from farthing.errors import PlatformError
from farthing.services.accounts import payment_transfer_id
from farthing.services.amounts import positive_money
from farthing.services.payments.model import PaymentItem, SeenFrom

router = APIRouter()


class EvidenceIn(InModel):
    """Where the payer is, as the merchant's app knows it: one piece of location evidence each."""

    ip: StrictStr | None = Field(default=None, pattern=COUNTRY, description="country of the payer's IP address")
    phone: StrictStr | None = Field(default=None, pattern=COUNTRY, description="country of the payer's phone number")
    instrument: StrictStr | None = Field(default=None, pattern=COUNTRY, description="country of the payment instrument")
    region: StrictStr | None = Field(default=None, pattern=r"^[A-Z0-9]{1,3}$", description="e.g. a US state: WA")


class PaymentIn(InModel):
    merchant: StrictStr = Field(examples=["mer_0123456789abcdef01234567"])
    amount: Amount
    currency: CurrencyCode
    reference: StrictStr | None = Field(default=None, max_length=255, pattern=PRINTABLE, examples=["article-42"])
    capture: StrictBool = Field(default=True, description="false places a hold, to capture or void later")
    hold_expires_s: StrictInt = Field(
        default=limits.hold_s_default, ge=1, le=limits.hold_s_max, description="how long a hold lasts"
    )
    evidence: EvidenceIn | None = Field(default=None, description="the payer's location, for tax and policy")
    channel: Literal["remote", "contactless", "device"] = Field(
        default="remote",
        description="remote (online), contactless (at a point of sale) or device (a device paying for its own "
        "use): the policy's SCA thresholds and limits may differ by channel",
    )
    withdrawal_waived: StrictBool = Field(
        default=False,
        description="the payer asked for the content at once and acknowledged losing the right of withdrawal "
        "(Directive 2011/83/EU Art. 16(m)); without it the payer may withdraw within the policy's period",
    )


class BatchPaymentIn(PaymentIn):
    """An item's amount or currency that is refused is that item's answer, not the batch's (the batch
    answers 200, one result each): the schema leaves them open, as the server does."""

    amount: Any = Field(description='A decimal string in major units, e.g. "0.001"', examples=["0.001"])
    currency: StrictStr = Field(examples=["USD"])
    idempotency_key: StrictStr | None = Field(default=None, min_length=1, max_length=255)


class BatchIn(InModel):
    payments: list[BatchPaymentIn] = Field(min_length=1, max_length=limits.payments_per_batch_max)


class ItemError(BaseModel):
    code: str
    detail: str


class BatchItemOut(BaseModel):
    payment: PaymentOut | None = None
    error: ItemError | None = None


class BatchOut(BaseModel):
    object: Literal["list"] = "list"
    data: list[BatchItemOut]


# The busiest route first: Starlette tries routes in order, and matching them was 8 % of the loop's time.
@lean_post(
    router,
    "/v1/payments",
    status_code=201,
    response_model=PaymentOut,
    responses=replays(PaymentOut),
    tags=["payments"],
)
async def create_payment(
    body: PaymentIn,
    principal: PrincipalDep,
    platform: PlatformDep,
    seen_from: SeenFromDep,
    idempotency_key: IdempotencyKey = None,
) -> PaymentOut | JSONResponse:
    """Pay a merchant from the customer's wallet; sub-cent amounts welcome. Retries with the same
    `Idempotency-Key` and body answer the first result and move nothing again."""
    item = PaymentItem(
        body.merchant,
        positive_money(body.amount, body.currency),
        body.reference,
        capture=body.capture,
        hold_s=body.hold_expires_s,
        evidence=_evidence(body.evidence),
        withdrawal_waived=body.withdrawal_waived,
        channel=body.channel,
        seen_from=seen_from,
    )
    payment = await platform.payments.pay_async(principal, item, idempotency_key_of(idempotency_key))
    return replayable(payment_out(payment), payment.replayed)


# Before the /v1/payments/{payment_id} routes, so that 'batch' is never taken for a payment id.
@lean_post(router, "/v1/payments/batch", response_model=BatchOut, tags=["payments"])
def create_payments(
    body: BatchIn,
    principal: PrincipalDep,
    platform: PlatformDep,
    seen_from: SeenFromDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Up to 8,000 payments in one call, each applied or refused on its own: one result per item, in
    order. Items take their own `idempotency_key`, or `Idempotency-Key` plus their index."""
    items = [_item(p, seen_from) for p in body.payments]
    answers = platform.batches.pay(principal, items, idempotency_key_of(idempotency_key))
    # Plain dicts in the documented shape (BatchOut): thousands of items are not worth a model each.
    data = [
        {"payment": None, "error": {"code": a.code.value, "detail": a.detail}}
        if isinstance(a, PlatformError)
        else {"payment": payment_dict(a), "error": None}
        for a in answers
    ]
    # Encoded by pydantic-core: json.dumps of thousands of items was 7 % of the batch route's time.
    return Response(to_json({"object": "list", "data": data}), media_type="application/json")


@router.get("/v1/payments/{payment_id}", response_model=PaymentOut, tags=["payments"])
def get_payment(payment_id: str, principal: PrincipalDep, platform: PlatformDep) -> PaymentOut:
    """A payment the caller made or received, with its status (a hold's: requires_capture, succeeded,
    canceled or expired)."""
    payment = platform.holds.get(principal, payment_id)
    fee, reference = platform.history.payment_details(payment_transfer_id(payment_id))
    decided, risk = platform.decisions.decision_and_risk(payment_id)
    payment = dataclasses.replace(payment, fee=fee, reference=reference, policy=decided, risk=risk)
    if payment.status == "requires_authentication":
        payment = platform.step_ups.annotate(payment)
    return payment_out(payment)


def _item(p: BatchPaymentIn, seen_from: SeenFrom) -> PaymentItem | PlatformError:
    """A batch's item, or (its amount or currency refused) the error that is its answer."""
    try:
        amount = positive_money(p.amount, p.currency)
    except PlatformError as refused:
        return refused
    return PaymentItem(p.merchant, amount, p.reference, p.idempotency_key, _evidence(p.evidence),
                       withdrawal_waived=p.withdrawal_waived, channel=p.channel, seen_from=seen_from)  # fmt: skip


def _evidence(e: EvidenceIn | None) -> Evidence | None:
    return None if e is None else Evidence(ip=e.ip, phone=e.phone, instrument=e.instrument, region=e.region)
