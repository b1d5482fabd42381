"""`/v1/tax/close`: an operator closes a month's tax; `/v1/tax/returns/…`: a quarter's returns from the
closed months (by place and rate, the UK VAT return's boxes, the EU OSS upload)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field, StrictStr

from farthing.api.deps import InModel, PlatformDep, PrincipalDep
from farthing.api.mode import Moded
from farthing.domain.money import currency
from farthing.domain.policy.evaluate import percent
from farthing.domain.principals import require
from farthing.domain.tax_returns import jp_return, oss_csv, uk_boxes
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


class ReturnLineOut(BaseModel):
    place: str
    rate_percent: str
    taxable: str = Field(description="net of tax, rounded to the minor unit")
    tax: str = Field(description="the tax the closed months booked")


class QuarterOut(Moded):
    object: Literal["tax_quarter"] = "tax_quarter"
    quarter: str
    currency: str
    lines: list[ReturnLineOut]
    residue: str = Field(description="what the months' roundings left (in the rounding account)")
    uk_boxes: dict[str, str] | None = Field(description="GBP: the UK VAT return's nine boxes")
    jp_return: dict[str, int] | None = Field(description="JPY: Japan's consumption tax, in whole yen")


@router.get("/v1/tax/returns/{quarter}/{currency_code}", response_model=QuarterOut, tags=["tax"])
def quarter_return(quarter: str, currency_code: str, principal: PrincipalDep, platform: PlatformDep) -> QuarterOut:
    """A quarter's (2026-Q4) or a year's (2026) closed tax by place and rate (operator key): every month of it
    must be closed. In GBP the UK VAT return's boxes come with it, in JPY Japan's consumption tax return;
    `GET …/EUR/oss.csv` is the EU One-Stop-Shop return's upload."""
    require(principal, "operator", "read")
    cur = currency(currency_code)
    t = platform.tax.quarter(quarter, cur.code, principal.mode)
    lines = [ReturnLineOut(place=x.place, rate_percent=percent(x.rate_ppm), taxable=cur.format(x.net),
                           tax=cur.format(x.tax)) for x in t.lines]  # fmt: skip
    boxes = uk_boxes(t, cur) if cur.code == "GBP" else None
    jp = jp_return(t, cur) if cur.code == "JPY" else None
    return QuarterOut(quarter=quarter, currency=cur.code, lines=lines, residue=cur.format(t.residue), uk_boxes=boxes,
                      jp_return=jp)  # fmt: skip


@router.get(
    "/v1/tax/returns/{quarter}/EUR/oss.csv", response_class=Response, tags=["tax"],
    responses={200: {"content": {"text/csv": {}}, "description": "the Union scheme return's CSV upload"}},
)  # fmt: skip
def oss_return(
    quarter: str, principal: PrincipalDep, platform: PlatformDep,
    vat_number: Annotated[str, Query(min_length=4, max_length=20, pattern=r"^[A-Z]{2}[0-9A-Z]{2,18}$")],
    home: Annotated[str, Query(min_length=2, max_length=2, pattern=r"^[A-Z]{2}$")] = "DE",
) -> Response:  # fmt: skip
    """The EU One-Stop-Shop return (Union scheme) of a quarter as its CSV upload (semicolons, decimal
    commas): a line per member state of consumption and rate, the home state `home` left out. Lines below
    zero (refunds after a closed month) are not in it: they are named in `Farthing-Corrections`."""
    require(principal, "operator", "read")
    eur = currency("EUR")
    text, corrections = oss_csv(platform.tax.quarter(quarter, "EUR", principal.mode, leave_out=home), vat_number, eur)
    told = ", ".join(f"{c.place} {percent(c.rate_ppm)} % {eur.format(c.net)}" for c in corrections)
    headers = {"Content-Disposition": f'attachment; filename="oss-{quarter}.csv"'}
    if told:
        headers["Farthing-Corrections"] = told
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)
