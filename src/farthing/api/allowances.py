"""`/v1/allowances`: one-click payments. A payer lets a merchant charge its wallet within limits; the
merchant charges without asking; a charge outside the allowance waits for the payer's authentication."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictInt, StrictStr

from farthing import limits
from farthing.api.deps import (
    PRINTABLE,
    Amount,
    CurrencyCode,
    IdempotencyKey,
    InModel,
    PlatformDep,
    PrincipalDep,
    idempotency_key_of,
    replayable,
)
from farthing.api.mode import Moded
from farthing.api.payment_out import PaymentOut, payment_out
from farthing.domain.allowances import Allowance
from farthing.domain.money import currency
from farthing.domain.policy.evaluate import Evidence
from farthing.services.allowances import Allowances
from farthing.services.amounts import positive_money

router = APIRouter(tags=["allowances"])
_COUNTRY = r"^[A-Z]{2}$"


class AllowanceIn(InModel):
    merchant: StrictStr = Field(examples=["mer_0123456789abcdef01234567"])
    currency: CurrencyCode
    per_payment: Amount
    per_day: Amount
    total: Amount
    expires_in_s: StrictInt = Field(ge=1, le=limits.allowance_s_max, examples=[30 * 86_400])
    ip_country: StrictStr | None = Field(default=None, pattern=_COUNTRY, description="evidence for tax: the payer's IP")


class AllowanceOut(Moded):
    id: str
    object: Literal["allowance"] = "allowance"
    status: Literal["active", "expired", "revoked"]
    customer: str
    merchant: str
    currency: str
    per_payment: str
    per_day: str
    total: str
    spent_today: str = Field(description="charged under it this UTC day (within it, without the payer)")
    spent_total: str = Field(description="charged under it in all")
    created_ms: int
    expires_ms: int
    revoked_ms: int | None


class ChargeIn(InModel):
    amount: Amount
    reference: StrictStr | None = Field(default=None, max_length=255, pattern=PRINTABLE)


class ChargeOut(BaseModel):
    object: Literal["allowance_charge"] = "allowance_charge"
    within: bool = Field(description="false: outside the allowance, the payment waits for the payer")
    reason: str | None
    payment: PaymentOut


def _out(a: Allowance, service: Allowances) -> AllowanceOut:
    cur = currency(a.currency)
    today, in_all = service.spent(a)
    return AllowanceOut(
        id=a.id, status=a.status(service.clock()), customer=a.customer, merchant=a.merchant, currency=a.currency,  # type: ignore[arg-type]
        per_payment=cur.format(a.per_payment), per_day=cur.format(a.per_day), total=cur.format(a.total),
        spent_today=cur.format(today), spent_total=cur.format(in_all),
        created_ms=a.created_ms, expires_ms=a.expires_ms, revoked_ms=a.revoked_ms,
    )  # fmt: skip


@router.post("/v1/allowances", status_code=201, response_model=AllowanceOut)
def grant(body: AllowanceIn, principal: PrincipalDep, platform: PlatformDep) -> AllowanceOut:
    """The payer lets a merchant charge it, without asking each time, within these amounts."""
    service = platform.allowances
    each, day, whole = (positive_money(v, body.currency) for v in (body.per_payment, body.per_day, body.total))
    a = service.grant(principal, body.merchant, each, day, whole, body.expires_in_s, Evidence(ip=body.ip_country))
    return _out(a, service)


@router.get("/v1/allowances", response_model=list[AllowanceOut])
def list_allowances(principal: PrincipalDep, platform: PlatformDep) -> list[AllowanceOut]:
    """The allowances the caller granted (payer) or holds (merchant), newest first."""
    service = platform.allowances
    return [_out(a, service) for a in service.list(principal)]


@router.get("/v1/allowances/{allowance_id}", response_model=AllowanceOut)
def get_allowance(allowance_id: str, principal: PrincipalDep, platform: PlatformDep) -> AllowanceOut:
    service = platform.allowances
    return _out(service.get(principal, allowance_id), service)


@router.post("/v1/allowances/{allowance_id}/revoke", response_model=AllowanceOut)
def revoke(allowance_id: str, principal: PrincipalDep, platform: PlatformDep) -> AllowanceOut:
    """The payer withdraws it, at once: later charges wait for the payer's authentication."""
    service = platform.allowances
    return _out(service.revoke(principal, allowance_id), service)


@router.post("/v1/allowances/{allowance_id}/charges", status_code=201, response_model=ChargeOut)
def charge(
    allowance_id: str,
    body: ChargeIn,
    principal: PrincipalDep,
    platform: PlatformDep,
    idempotency_key: IdempotencyKey = None,
) -> ChargeOut | JSONResponse:
    """The merchant charges the payer: within the allowance at once (no interaction), else as a payment
    that waits for the payer (status requires_authentication)."""
    done = platform.allowances.charge(
        principal, allowance_id, body.amount, body.reference, idempotency_key_of(idempotency_key)
    )
    out = ChargeOut(within=done.within, reason=done.reason, payment=payment_out(done.payment))
    return replayable(out, done.payment.replayed)
