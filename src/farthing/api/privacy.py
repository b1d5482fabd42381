"""A customer's personal data: read it, export everything held about the customer, erase it (the
operator, or the customer itself)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel

from farthing.api.deps import PlatformDep, PrincipalDep
from farthing.api.mode import Moded

router = APIRouter(tags=["privacy"])


class CustomerOut(Moded):
    id: str
    object: Literal["customer"] = "customer"
    name: str | None
    email: str | None
    phone: str | None
    address: str | None
    country: str | None
    age_band: str
    created_ms: int
    erased_ms: int | None
    closed_ms: int | None = None


class ClosureOut(BaseModel):
    id: str
    object: Literal["closure"] = "closure"
    closed_ms: int


class ErasureOut(BaseModel):
    id: str
    object: Literal["erasure"] = "erasure"
    erased_ms: int


@router.get("/v1/customers/{customer_id}", response_model=CustomerOut)
def get_customer(customer_id: str, principal: PrincipalDep, platform: PlatformDep) -> CustomerOut:
    """The customer's profile; its personal fields are null once erased."""
    return CustomerOut.model_validate(platform.privacy.read(principal, customer_id))


@router.get("/v1/customers/{customer_id}/export")
def export_customer(customer_id: str, principal: PrincipalDep, platform: PlatformDep) -> dict[str, Any]:
    """Everything held about the customer (GDPR Art. 15 and 20): profile, wallets and their lines,
    factors, allowances, channels, API keys and security events, as one JSON document."""
    return platform.privacy.export(principal, customer_id, platform.history)


@router.delete("/v1/customers/{customer_id}/personal-data", response_model=ErasureOut)
def erase_customer(customer_id: str, principal: PrincipalDep, platform: PlatformDep) -> ErasureOut:
    """Erase the customer's personal data by destroying its data key (crypto-shredding): the ledger, the
    journal and the tax records, which name the customer by id only, stay whole and verifiable."""
    return ErasureOut.model_validate(platform.privacy.erase(principal, customer_id))


@router.post("/v1/customers/{customer_id}/close", response_model=ClosureOut)
def close_customer(customer_id: str, principal: PrincipalDep, platform: PlatformDep) -> ClosureOut:
    """Close the customer's account: its keys and sessions stop at once; its personal data is kept for
    the policy's retention period after closing, then erased (`farthing privacy sweep`)."""
    return ClosureOut.model_validate(platform.privacy.close(principal, customer_id))
