"""`/v1/payouts`: a merchant's balance to its bank. The merchant gives its bank account and terms and asks
for a payout (or its schedule does); the operator sends the created payouts as one SEPA credit transfer
file and marks each paid or returned as the bank reports."""

from __future__ import annotations

import datetime
import os
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field, StrictInt, StrictStr
from starlette.concurrency import run_in_threadpool

from farthing.api.deps import (
    Amount,
    CurrencyCode,
    IdempotencyKey,
    InModel,
    PlatformDep,
    PrincipalDep,
    idempotency_key_of,
)
from farthing.api.mode import Moded
from farthing.domain.money import currency
from farthing.domain.payouts import PPM, Payout, Terms
from farthing.domain.principals import require
from farthing.errors import ErrorCode, PlatformError
from farthing.services.amounts import positive_money

router = APIRouter(tags=["payouts"])
DEBTOR_ENV = "FARTHING_PAYOUT_DEBTOR"


class AccountIn(InModel):
    holder: StrictStr = Field(min_length=1, max_length=70)
    iban: StrictStr = Field(min_length=15, max_length=42, examples=["DE89 3704 0044 0532 0130 00"])
    bic: StrictStr | None = Field(default=None, min_length=8, max_length=11)


class AccountOut(Moded):
    object: Literal["payout_account"] = "payout_account"
    holder: str
    iban: str = Field(description="the IBAN's country and last four characters")
    bic: str


class TermsIn(InModel):
    schedule: Literal["manual", "daily", "weekly", "monthly", "threshold"] = "manual"
    minimum: Amount | None = None
    threshold: Amount | None = None
    reserve_percent: StrictStr = Field(default="0", pattern=r"^\d{1,3}(\.\d{1,4})?$")
    reserve_days: StrictInt = Field(default=0, ge=0, le=365)


class TermsOut(Moded):
    object: Literal["payout_terms"] = "payout_terms"
    currency: str
    schedule: str
    minimum: str
    threshold: str
    reserve_percent: str
    reserve_days: int


class PayoutIn(InModel):
    currency: CurrencyCode


class PayoutOut(Moded):
    id: str
    object: Literal["payout"] = "payout"
    merchant: str
    currency: str
    amount: str
    reserve: str = Field(description="held back against refunds and disputes (stays in the balance)")
    remainder: str = Field(description="below the currency's minor unit: stays for the next payout")
    status: Literal["created", "sent", "paid", "returned"]
    file_id: str | None
    reason: str | None
    created_ms: int
    settled_ms: int | None


class FileIn(InModel):
    currency: Literal["EUR"] = "EUR"
    execution_date: datetime.date | None = None


class ReturnIn(InModel):
    reason: StrictStr = Field(min_length=1, max_length=140, examples=["AC04 account closed"])


def _out(p: Payout) -> PayoutOut:
    cur = currency(p.currency)
    return PayoutOut(id=p.id, merchant=p.merchant, currency=p.currency, amount=cur.format(p.amount),
                     reserve=cur.format(p.reserve), remainder=cur.format(p.remainder), status=p.status,  # type: ignore[arg-type]
                     file_id=p.file_id, reason=p.reason, created_ms=p.created_ms, settled_ms=p.settled_ms)  # fmt: skip


def _terms_out(code: str, t: Terms) -> TermsOut:
    cur = currency(code)
    percent = f"{t.reserve_ppm // 10_000}.{t.reserve_ppm % 10_000:04d}".rstrip("0").rstrip(".")
    return TermsOut(currency=cur.code, schedule=t.schedule, minimum=cur.format(t.minimum),
                    threshold=cur.format(t.threshold), reserve_percent=percent,
                    reserve_days=t.reserve_days)  # fmt: skip


@router.put("/v1/payout_account", response_model=AccountOut)
def set_account(body: AccountIn, principal: PrincipalDep, platform: PlatformDep) -> AccountOut:
    """The bank account payouts go to (IBAN and BIC checked; kept sealed)."""
    return AccountOut(**platform.payouts.set_account(principal, body.holder, body.iban, body.bic))


@router.get("/v1/payout_account", response_model=AccountOut)
def get_account(principal: PrincipalDep, platform: PlatformDep) -> AccountOut:
    return AccountOut(**platform.payouts.account(principal))


@router.put("/v1/payout_terms/{currency_code}", response_model=TermsOut)
def set_terms(currency_code: str, body: TermsIn, principal: PrincipalDep, platform: PlatformDep) -> TermsOut:
    """When payouts are made in this currency, the least one may be, and the rolling reserve."""
    cur = currency(currency_code)
    units = {k: positive_money(v, cur.code).units if v is not None else 0
             for k, v in (("minimum", body.minimum), ("threshold", body.threshold))}  # fmt: skip
    whole, _, part = body.reserve_percent.partition(".")
    ppm = int(whole) * 10_000 + int((part + "0000")[:4])
    if ppm > PPM:
        raise PlatformError(ErrorCode.validation_failed, "reserve_percent is at most 100")
    terms = Terms(body.schedule, units["minimum"], units["threshold"], ppm, body.reserve_days)
    return _terms_out(cur.code, platform.payouts.set_terms(principal, cur.code, terms))


@router.get("/v1/payout_terms/{currency_code}", response_model=TermsOut)
def get_terms(currency_code: str, principal: PrincipalDep, platform: PlatformDep) -> TermsOut:
    require(principal, "merchant", "read")
    cur = currency(currency_code)
    return _terms_out(cur.code, platform.payouts.terms(str(principal.party_id), cur.code))


@router.post("/v1/payouts", status_code=201, response_model=PayoutOut)
def create(body: PayoutIn, principal: PrincipalDep, platform: PlatformDep, idempotency_key: IdempotencyKey = None
           ) -> PayoutOut:  # fmt: skip
    """Pay out the balance now: whole minor units, less the reserve; held at once, sent in the next file."""
    return _out(platform.payouts.create(principal, body.currency, idempotency_key_of(idempotency_key)))


@router.get("/v1/payouts", response_model=list[PayoutOut])
def list_payouts(principal: PrincipalDep, platform: PlatformDep) -> list[PayoutOut]:
    return [_out(p) for p in platform.payouts.list(principal)]


@router.get("/v1/payouts/{payout_id}", response_model=PayoutOut)
def get_payout(payout_id: str, principal: PrincipalDep, platform: PlatformDep) -> PayoutOut:
    return _out(platform.payouts.get(principal, payout_id))


@router.post("/v1/payout_files", response_class=Response,
             responses={200: {"content": {"application/xml": {}}, "description": "pain.001.001.09"}})  # fmt: skip
def bank_file(body: FileIn, principal: PrincipalDep, platform: PlatformDep) -> Response:
    """The operator's SEPA credit transfer file (ISO 20022 pain.001.001.09, schema-checked) of every
    payout created and not sent yet; they are marked sent with the file's id (`File-Id`)."""
    today = datetime.datetime.fromtimestamp(platform.clock() // 1000, datetime.UTC).date()
    file_id, xml = platform.payouts.bank_file(principal, os.environ.get(DEBTOR_ENV), body.execution_date or today)
    return Response(xml, media_type="application/xml", headers={"File-Id": file_id})


class ReportOut(BaseModel):
    object: Literal["payout_report"] = "payout_report"
    paid: list[str]
    returned: list[str]
    pending: list[str] = Field(description="accepted by the bank, not settled yet")
    unknown: list[str] = Field(description="end-to-end ids that name no payout here")
    already: list[str] = Field(description="settled so before: nothing changed")


@router.post("/v1/payout_reports", response_model=ReportOut, openapi_extra={
    "requestBody": {"required": True, "content": {"application/xml": {"schema": {"type": "string"}}}}})  # fmt: skip
async def payout_report(request: Request, principal: PrincipalDep, platform: PlatformDep) -> ReportOut:
    """The bank's payment status report (ISO 20022 pain.002) applied: settled payouts paid, refused ones
    returned (the money back in the merchant's balance, with the bank's reason)."""
    xml = await request.body()
    done = await run_in_threadpool(platform.payouts.apply_report, principal, xml)
    return ReportOut(**done)


class BankLineOut(BaseModel):
    ref: str
    booked: str
    amount_minor: int = Field(description="in the currency's minor units (cents); negative: money out")
    currency: str
    end_to_end: str | None
    info: str


class StatementImportOut(BaseModel):
    object: Literal["bank_statement"] = "bank_statement"
    statement: str
    lines: int
    matched: dict[str, str] = Field(description="bank line → the payout it paid")
    unmatched: list[BankLineOut]


@router.post("/v1/bank_statements", response_model=StatementImportOut, openapi_extra={
    "requestBody": {"required": True, "content": {"application/xml": {"schema": {"type": "string"}},
                                                  "text/csv": {"schema": {"type": "string"}}}}})  # fmt: skip
async def import_statement(request: Request, principal: PrincipalDep, platform: PlatformDep) -> StatementImportOut:
    """The platform's bank statement (ISO 20022 camt.053, or CSV with the columns booked, amount, currency,
    reference, info and optionally ref) reconciled against the payouts: each line of money out that names a
    payout and moves exactly its amount matches it (and marks it paid); the rest are listed. A statement is
    imported once."""
    data = await request.body()
    form = "csv" if request.headers.get("content-type", "").startswith("text/csv") else "camt.053"
    done = await run_in_threadpool(platform.reconciliation.import_statement, principal, data, form)
    return StatementImportOut(**done)  # type: ignore[arg-type]


class ReturnsOut(BaseModel):
    returned: list[str] = Field(description="payouts not paid yet: their holds voided, the money back")
    reversed: list[str] = Field(description="payouts paid already: the money booked back to the merchant")
    unknown: list[str] = Field(description="end-to-end ids that name no payout here")
    mismatched: list[str] = Field(description="payouts whose amount or currency the return does not match")
    already: list[str]


@router.post("/v1/payout_returns", response_model=ReturnsOut, openapi_extra={
    "requestBody": {"required": True, "content": {"application/xml": {"schema": {"type": "string"}}}}})  # fmt: skip
async def payout_returns(request: Request, principal: PrincipalDep, platform: PlatformDep) -> ReturnsOut:
    """The bank's notification of returned credit transfers (ISO 20022 camt.054) applied: each payout it
    returns with its reason, the money back in the merchant's balance (before or after it was paid)."""
    xml = await request.body()
    return ReturnsOut(**await run_in_threadpool(platform.payouts.apply_returns, principal, xml))


@router.get("/v1/bank_lines/unmatched", response_model=list[BankLineOut])
def unmatched_lines(principal: PrincipalDep, platform: PlatformDep) -> list[BankLineOut]:
    """The bank lines no payout explains, newest first: for a person to look at."""
    return [BankLineOut(**line) for line in platform.reconciliation.unmatched(principal)]  # type: ignore[arg-type]


@router.post("/v1/payouts/{payout_id}/paid", response_model=PayoutOut)
def paid(payout_id: str, principal: PrincipalDep, platform: PlatformDep) -> PayoutOut:
    """The bank paid it: the held amount leaves the merchant's balance for good."""
    return _out(platform.payouts.settle(principal, payout_id, paid=True))


@router.post("/v1/payouts/{payout_id}/returned", response_model=PayoutOut)
def returned(payout_id: str, body: ReturnIn, principal: PrincipalDep, platform: PlatformDep) -> PayoutOut:
    """The bank returned it (its reason code): the amount is back in the merchant's balance."""
    return _out(platform.payouts.settle(principal, payout_id, paid=False, reason=body.reason))
