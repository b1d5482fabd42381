"""`/v1/merchants` and `/v1/customers`: an operator makes the parties, each with its first API key."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictStr

from farthing import limits
from farthing.api.deps import PRINTABLE, InModel, KeyHeader, PlatformDep, PrincipalDep, replays
from farthing.api.remembered import remembered
from farthing.bootstrap import Platform
from farthing.domain.principals import PartyFilters, PartyRow, Principal
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


class PartySummaryOut(BaseModel):
    id: str
    object: Literal["merchant", "customer"]
    name: str | None = Field(description="a merchant's name; a customer's is sealed: GET /v1/customers/{id}")
    mode: Literal["test", "live"]
    country: str | None
    age_band: Literal["adult", "minor"]
    status: Literal["active", "closed", "erased"]
    created_ms: int


class PartyListOut(BaseModel):
    object: Literal["list"] = "list"
    data: list[PartySummaryOut]
    has_more: bool


def _list_route(kind: Literal["merchant", "customer"]) -> None:
    def list_parties(
        principal: PrincipalDep,
        platform: PlatformDep,
        limit: Annotated[int, Query(ge=1, le=limits.page_size_max)] = 20,
        starting_after: Annotated[str | None, Query(max_length=64, description="the last id of a page")] = None,
        country: Annotated[str | None, Query(pattern=COUNTRY)] = None,
        created_gte_ms: Annotated[int | None, Query(ge=0, le=limits.timestamp_ms_max)] = None,
        created_lte_ms: Annotated[int | None, Query(ge=0, le=limits.timestamp_ms_max)] = None,
    ) -> PartyListOut:
        filters = PartyFilters(country, created_gte_ms, created_lte_ms)
        rows, more = platform.parties.listed(principal, kind, filters, starting_after, limit)
        return PartyListOut(data=[_summary(r) for r in rows], has_more=more)

    router.get(
        f"/v1/{kind}s", response_model=PartyListOut, tags=["parties"], name=f"list_{kind}s",
        summary=f"List {kind.capitalize()}s",
        description=f"The {kind}s (operator key), newest first: `limit`, `starting_after` (a page's last id), "
        "`country`, `created_gte_ms`/`created_lte_ms`.",
    )(list_parties)  # fmt: skip


def _summary(r: PartyRow) -> PartySummaryOut:
    status = "erased" if r.erased_ms is not None else "closed" if r.closed_ms is not None else "active"
    return PartySummaryOut(
        id=r.id, object=r.kind, name=r.name or None, mode=r.mode, country=r.country,  # type: ignore[arg-type]
        age_band=r.age_band, status=status, created_ms=r.created_ms,  # type: ignore[arg-type]
    )  # fmt: skip


_list_route("merchant")
_list_route("customer")
