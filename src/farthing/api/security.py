"""`/v1/factors`: a customer's second factors (TOTP for now), used to answer step-up challenges."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, StrictStr

from farthing.api.deps import InModel, PrincipalDep
from farthing.services.factors import Factors

router = APIRouter(tags=["security"])


class TotpEnrolmentOut(BaseModel):
    id: str
    object: Literal["factor"] = "factor"
    kind: Literal["totp"] = "totp"
    status: Literal["unconfirmed"] = "unconfirmed"
    secret: str = Field(description="base32; shown once (for apps that cannot scan the QR code)")
    otpauth_uri: str
    qr_svg: str = Field(description="data: URI of an SVG QR code of otpauth_uri")


class ConfirmIn(InModel):
    code: StrictStr = Field(max_length=6, examples=["123456"])


class RecoveryCodesOut(BaseModel):
    object: Literal["recovery_codes"] = "recovery_codes"
    codes: list[str] = Field(description="each works once; shown once, kept only as SHA-256")


class FactorOut(BaseModel):
    id: str
    object: Literal["factor"] = "factor"
    kind: str
    created_ms: int
    confirmed_ms: int | None
    flagged_ms: int | None = Field(description="set when a passkey's sign count went back (a cloned authenticator?)")


def _factors(request: Request) -> Factors:
    factors: Factors = request.app.state.factors
    return factors


@router.post("/v1/factors/totp", status_code=201, response_model=TotpEnrolmentOut)
def enrol_totp(principal: PrincipalDep, request: Request) -> TotpEnrolmentOut:
    """Start a TOTP factor: scan the QR code with an authenticator app, then confirm with a code."""
    e = _factors(request).enrol_totp(principal)
    return TotpEnrolmentOut(id=e.factor_id, secret=e.secret, otpauth_uri=e.uri, qr_svg=e.qr_svg)


@router.post("/v1/factors/{factor_id}/confirm", response_model=RecoveryCodesOut)
def confirm_factor(factor_id: str, body: ConfirmIn, principal: PrincipalDep, request: Request) -> RecoveryCodesOut:
    """Confirm a TOTP factor with the code the app shows; answers ten recovery codes, once."""
    return RecoveryCodesOut(codes=_factors(request).confirm_totp(principal, factor_id, body.code))


@router.get("/v1/factors", response_model=list[FactorOut])
def list_factors(principal: PrincipalDep, request: Request) -> list[FactorOut]:
    """The customer's second factors."""
    return [
        FactorOut(id=f.id, kind=f.kind, created_ms=f.created_ms, confirmed_ms=f.confirmed_ms, flagged_ms=f.flagged_ms)
        for f in _factors(request).list(principal)
    ]
