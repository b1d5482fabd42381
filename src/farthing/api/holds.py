"""A payment that waits: capture or void a hold, answer a strong-authentication challenge."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import Field, StrictStr

from farthing.api.deps import Amount, InModel, PlatformDep, PrincipalDep, replayable
from farthing.api.payment_out import PaymentOut, payment_out

router = APIRouter()


class CaptureIn(InModel):
    amount: Amount | None = Field(default=None, description="what to capture; the whole hold when left out")


class AuthenticateIn(InModel):
    code: StrictStr | None = Field(default=None, max_length=6, description="a TOTP code", examples=["123456"])
    recovery_code: StrictStr | None = Field(default=None, max_length=19, examples=["ABCD-EFGH-IJKL-MNOP"])
    passkey: dict[str, Any] | None = Field(default=None, description="a WebAuthn assertion (PublicKeyCredential JSON)")


@router.post("/v1/payments/{payment_id}/authenticate", response_model=PaymentOut, tags=["payments"])
def authenticate_payment(
    payment_id: str, body: AuthenticateIn, principal: PrincipalDep, platform: PlatformDep
) -> PaymentOut | JSONResponse:
    """The payer answers a payment's strong-authentication challenge (status requires_authentication)
    with a TOTP code, a recovery code or a passkey assertion; the payment then completes. A retry
    after success answers the same."""
    payment = platform.step_ups.authenticate(principal, payment_id, body.code, body.recovery_code, body.passkey)
    return replayable(payment_out(payment), payment.replayed)


@router.post("/v1/payments/{payment_id}/capture", response_model=PaymentOut, tags=["payments"])
def capture_payment(
    payment_id: str, principal: PrincipalDep, platform: PlatformDep, body: CaptureIn | None = None
) -> PaymentOut | JSONResponse:
    """Capture all or part of a hold; the platform fee is taken on what is captured. A retry answers
    the same; a second capture of another amount is refused."""
    payment = platform.holds.capture(principal, payment_id, body.amount if body else None)
    return replayable(payment_out(payment), payment.replayed)


@router.post("/v1/payments/{payment_id}/void", response_model=PaymentOut, tags=["payments"])
def void_payment(payment_id: str, principal: PrincipalDep, platform: PlatformDep) -> PaymentOut | JSONResponse:
    """Release a hold: nothing is paid."""
    payment = platform.holds.void(principal, payment_id)
    return replayable(payment_out(payment), payment.replayed)
