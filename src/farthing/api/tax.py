"""`/v1/tax/close`: an operator closes a month's tax."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import Field, StrictStr

from farthing.api.deps import InModel, PlatformDep, PrincipalDep
from farthing.api.mode import Moded
from farthing.domain.money import currency
from farthing.domain.policy.evaluate import percent
from farthing.errors import ErrorCode, PlatformError

router = APIRouter()


class TaxCloseIn(InModel):
    period: StrictStr = Field(pattern=r"^\d{4}-\d{2}$", examples=["2026-11"])


class TaxReturnOut(Moded):
    object: Literal["tax_return"] = "tax_return"
    merchant: str
    place: str
    kind: str
    rate_percent: str
    period: str
    currency: str
    gross: str
    exact: str = Field(description="the tax on the aggregate at the ledger's scale")
    remitted: str = Field(description="rounded once to the currency's minor unit; what the liability holds")
    residue: str = Field(description="exact - remitted, booked to the rounding account")


@router.post("/v1/tax/close", response_model=list[TaxReturnOut], tags=["tax"])
def close_tax(body: TaxCloseIn, principal: PrincipalDep, platform: PlatformDep) -> list[TaxReturnOut]:
    """Close a month's tax (operator key): each merchant's of the key's mode, per place and rate, computed
    on the aggregate, rounded once and booked. Closing again books nothing twice."""
    if principal.kind != "operator":
        raise PlatformError(ErrorCode.forbidden, "closing a tax period needs an operator key")
    out = []
    for r in platform.tax.close_period(body.period, principal.mode):
        cur = currency(r.currency)
        out.append(TaxReturnOut(merchant=r.merchant, place=r.place, kind=r.kind, rate_percent=percent(r.rate_ppm),
                                period=r.period, currency=r.currency, gross=cur.format(r.gross),
                                exact=cur.format(r.exact), remitted=cur.format(r.remitted),
                                residue=cur.format(r.residue)))  # fmt: skip
    return out
