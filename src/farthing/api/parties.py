"""`/v1/merchants` and `/v1/customers`: an operator makes the parties, each with its first API key."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictStr

from farthing.api.deps import PRINTABLE, InModel, KeyHeader, PlatformDep, PrincipalDep, replays
from farthing.api.remembered import remembered
from farthing.bootstrap import Platform
from farthing.domain.principals import Principal
from farthing.errors import ErrorCode, PlatformError

COUNTRY = r"^[A-Z]{2}$"
router = APIRouter()


class PartyIn(InModel):
    name: StrictStr = Field(min_length=1, max_length=200, pattern=PRINTABLE, examples=["Daily Crossword"])
    country: StrictStr | None = Field(
        default=None, pattern=COUNTRY, examples=["DE"], description="ISO 3166 alpha-2: the billing country"
    )
    age_band: Literal["adult", "minor"] = Field(default="adult", description="for policies with lower caps for minors")
    email: StrictStr | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$",
                                    description="customers: sealed at rest, erasable")  # fmt: skip
    phone: StrictStr | None = Field(default=None, max_length=32, pattern=r"^\+?[0-9 ()-]{4,31}$")
    address: StrictStr | None = Field(default=None, max_length=500, pattern=PRINTABLE)


class ApiKeyOut(BaseModel):
    id: str
    secret: str | None = Field(
        description="Shown once; only its SHA-256 is stored (null in a replayed answer: secrets are never kept)."
    )


class PartyOut(BaseModel):
    id: str
    object: Literal["merchant", "customer"]
    name: str
    mode: Literal["test", "live"]
    country: str | None = None
    age_band: Literal["adult", "minor"] = "adult"
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    api_key: ApiKeyOut


def _party_route(kind: Literal["merchant", "customer"]) -> None:
    def create_party(
        body: PartyIn,
        principal: PrincipalDep,
        platform: PlatformDep,
        idempotency_key: KeyHeader = None,
    ) -> PartyOut | JSONResponse:
        return remembered(platform, principal, idempotency_key, f"{kind}s", body,
                           lambda: _party_out(kind, body, principal, platform))  # fmt: skip

    router.post(
        f"/v1/{kind}s",
        status_code=201,
        response_model=PartyOut,
        responses=replays(PartyOut),
        tags=["parties"],
        name=f"create_{kind}",
        summary=f"Create {kind.capitalize()}",
        description=f"Create a {kind} (operator key); its API key's secret is shown once.",
    )(create_party)


def _party_out(
    kind: Literal["merchant", "customer"], body: PartyIn, principal: Principal, platform: Platform
) -> PartyOut:
    personal = {"email": body.email, "phone": body.phone, "address": body.address}
    if kind == "merchant" and any(personal.values()):
        raise PlatformError(ErrorCode.validation_failed, "email, phone and address are a customer's")
    party_id, key_id, secret = platform.parties.create(
        principal, kind, body.name, body.country, body.age_band, personal
    )
    return PartyOut(
        id=party_id,
        object=kind,
        name=body.name,
        mode="live" if principal.mode == "live" else "test",
        country=body.country,
        age_band=body.age_band,
        email=body.email,
        phone=body.phone,
        address=body.address,
        api_key=ApiKeyOut(id=key_id, secret=secret),
    )


for _kind in ("merchant", "customer"):
    _party_route(_kind)  # type: ignore[arg-type]
