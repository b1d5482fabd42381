"""Hosted checkout over HTTP: the merchant registers where its payers may return, asks to be paid
(a session whose `url` it sends the payer to) and reads the session back; anyone reads the key that
signs receipts, to check them offline (`farthing.domain.receipts.verify`)."""

from __future__ import annotations

import base64
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field, StrictStr

from farthing.api.deps import Amount, CurrencyCode, InModel, PlatformDep, PrincipalDep
from farthing.api.mode import Moded
from farthing.bootstrap import Platform
from farthing.domain.checkout import CheckoutSession
from farthing.domain.money import currency
from farthing.domain.principals import Principal
from farthing.services.amounts import positive_money

router = APIRouter(tags=["checkout"])


class OriginsIn(InModel):
    origins: list[StrictStr] = Field(max_length=20, description="https://shop.example (http only for localhost)")


class OriginsOut(BaseModel):
    object: Literal["checkout_origins"] = "checkout_origins"
    origins: list[str]


class SessionIn(InModel):
    amount: Amount
    currency: CurrencyCode
    description: StrictStr = Field(min_length=1, max_length=200, description="what the payer sees it is for")
    return_url: StrictStr = Field(max_length=2048, description="where the payer goes back, on a registered origin")


class SessionOut(Moded):
    id: str
    object: Literal["checkout_session"] = "checkout_session"
    url: str = Field(description="the page to send the payer to (on this server)")
    amount: str
    currency: str
    description: str
    return_url: str = Field(description="the payer comes back here with `farthing_receipt=` added to the query")
    status: Literal["open", "awaiting_authentication", "paid", "expired", "canceled"]
    payment: str | None
    expires_ms: int


class ReceiptKeyOut(BaseModel):
    object: Literal["receipt_key"] = "receipt_key"
    key_id: str
    algorithm: Literal["Ed25519"] = "Ed25519"
    public_key: str = Field(description="32 bytes, base64url without padding")


@router.put("/v1/checkout_origins", response_model=OriginsOut)
def set_origins(body: OriginsIn, principal: PrincipalDep, platform: PlatformDep) -> OriginsOut:
    """The origins your payers may be sent back to after a checkout (in place of those set before)."""
    return OriginsOut(origins=platform.checkout.set_origins(principal, body.origins))


@router.get("/v1/checkout_origins", response_model=OriginsOut)
def get_origins(principal: PrincipalDep, platform: PlatformDep) -> OriginsOut:
    return OriginsOut(origins=platform.checkout.origins(principal))


@router.post("/v1/checkout_sessions", status_code=201, response_model=SessionOut)
def create_session(body: SessionIn, principal: PrincipalDep, platform: PlatformDep) -> SessionOut:
    """Ask to be paid: send the payer to the answer's `url`; it comes back to `return_url` with a receipt
    (`farthing_receipt`) to check offline with the platform's receipt key. It expires in 30 minutes."""
    amount = positive_money(body.amount, body.currency)
    return _out(platform, principal, platform.checkout.create(principal, amount, body.description, body.return_url))


@router.get("/v1/checkout_sessions/{session_id}", response_model=SessionOut)
def get_session(session_id: str, principal: PrincipalDep, platform: PlatformDep) -> SessionOut:
    """One of your checkout sessions, with its status and payment."""
    return _out(platform, principal, platform.checkout.of_merchant(principal, session_id))


@router.get("/v1/platform/receipt_key", response_model=ReceiptKeyOut)
def receipt_key(platform: PlatformDep) -> ReceiptKeyOut:
    """The key checkout receipts are signed with (Ed25519): fetch it once, check receipts offline."""
    key_id, public = platform.checkout.receipt_key()
    return ReceiptKeyOut(key_id=key_id, public_key=base64.urlsafe_b64encode(public).decode().rstrip("="))


def status_of(platform: Platform, principal: Principal, s: CheckoutSession) -> str:
    if s.payment_id is None:
        return "expired" if platform.clock() >= s.expires_ms else "open"
    state = platform.holds.get(principal, s.payment_id).status
    return {"succeeded": "paid", "requires_authentication": "awaiting_authentication"}.get(state, "canceled")


def _out(platform: Platform, principal: Principal, s: CheckoutSession) -> SessionOut:
    cur = currency(s.currency)
    return SessionOut(id=s.id, url=f"/pay/{s.id}", amount=cur.format(s.amount_units), currency=cur.code,
                      description=s.description, return_url=s.return_url, status=status_of(platform, principal, s),
                      payment=s.payment_id, expires_ms=s.expires_ms)  # type: ignore[arg-type]  # fmt: skip
