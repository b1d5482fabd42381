"""`/v1/factors`: a customer's second factors (TOTP for now), used to answer step-up challenges."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field, StrictStr

from farthing.api.deps import InModel, PlatformDep, PrincipalDep
from farthing.domain.factors import FactorView

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


@router.post("/v1/factors/totp", status_code=201, response_model=TotpEnrolmentOut)
def enrol_totp(principal: PrincipalDep, platform: PlatformDep) -> TotpEnrolmentOut:
    """Start a TOTP factor: scan the QR code with an authenticator app, then confirm with a code."""
    e = platform.identity.factors.enrol_totp(principal)
    return TotpEnrolmentOut(id=e.factor_id, secret=e.secret, otpauth_uri=e.uri, qr_svg=e.qr_svg)


@router.post("/v1/factors/{factor_id}/confirm", response_model=RecoveryCodesOut)
def confirm_factor(factor_id: str, body: ConfirmIn, principal: PrincipalDep, platform: PlatformDep) -> RecoveryCodesOut:
    """Confirm a TOTP factor with the code the app shows; answers ten recovery codes, once."""
    return RecoveryCodesOut(codes=platform.identity.factors.confirm_totp(principal, factor_id, body.code))


@router.get("/v1/factors", response_model=list[FactorOut])
def list_factors(principal: PrincipalDep, platform: PlatformDep) -> list[FactorOut]:
    """The customer's second factors."""
    return [_factor_out(f) for f in platform.identity.factors.list(principal)]


def _factor_out(f: FactorView) -> FactorOut:
    return FactorOut.model_validate(dataclasses.asdict(f))


class PasskeyOptionsOut(BaseModel):
    ceremony: str = Field(description="send it back with the credential")
    publicKey: dict[str, Any] = Field(description="PublicKeyCredentialCreationOptions for navigator.credentials.create")


class PasskeyIn(InModel):
    credential: dict[str, Any] = Field(description="the PublicKeyCredential the authenticator made, as JSON")


@router.post("/v1/passkey_ceremonies", status_code=201, response_model=PasskeyOptionsOut)
def passkey_options(principal: PrincipalDep, platform: PlatformDep) -> PasskeyOptionsOut:
    """Start registering a passkey: options for `navigator.credentials.create` (user verification
    required: the device's biometric or PIN). The ceremony lasts 5 minutes and is used once."""
    ceremony, options = platform.identity.passkeys.registration_options(principal)
    return PasskeyOptionsOut(ceremony=ceremony, publicKey=options)


@router.post("/v1/passkey_ceremonies/{ceremony_id}/complete", status_code=201, response_model=FactorOut)
def register_passkey(ceremony_id: str, body: PasskeyIn, principal: PrincipalDep, platform: PlatformDep) -> FactorOut:
    """Finish registering a passkey with the credential the authenticator answered: a new factor."""
    factor = platform.identity.passkeys.register(principal, ceremony_id, body.credential)
    [f] = [f for f in platform.identity.factors.list(principal) if f.id == factor]
    return FactorOut(
        id=f.id, kind=f.kind, created_ms=f.created_ms, confirmed_ms=f.confirmed_ms, flagged_ms=f.flagged_ms
    )
