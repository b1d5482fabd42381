"""The dashboard's payouts: the bank account payouts go to (given once, shown by its country and last four
characters), a payout asked for now in a currency the merchant holds, and the latest payouts with where
each stands (created, sent to the bank, paid, returned)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from farthing.bootstrap import Platform
from farthing.domain.money import currency
from farthing.domain.principals import Principal
from farthing.errors import PlatformError
from farthing.web.locale import money, translate, when
from farthing.web.visitors import Acting, platform_of, problem_page, said

router = APIRouter(include_in_schema=False)
SHOWN = 10
STATUSES = {"created": "booked", "sent": "sent to the bank", "paid": "paid out", "returned": "returned by the bank"}


def payouts_of(platform: Platform, principal: Principal, lang: str) -> dict[str, Any]:
    """The merchant's payout account (None: none yet) and its latest payouts, for the dashboard."""
    try:
        account: dict[str, str] | None = platform.payouts.account(principal)
    except PlatformError:
        account = None
    latest = [{"id": p.id, "amount": money(p.amount, currency(p.currency), lang), "when": when(p.created_ms, lang),
               "status": translate(lang, STATUSES[p.status]), "reason": p.reason or ""}
              for p in platform.payouts.list(principal)[:SHOWN]]  # fmt: skip
    return {"payout_account": account, "payouts": latest}


@router.post("/dashboard/payout_account")
async def set_account(request: Request, asked: Acting) -> Response:
    visitor, fields = asked
    platform = platform_of(request)
    try:
        await run_in_threadpool(platform.payouts.set_account, visitor.principal, fields.get("holder", ""),
                                fields.get("iban", ""), fields.get("bic") or None)  # fmt: skip
    except PlatformError as exc:
        return problem_page(request, visitor, 422, said(request, exc))
    return RedirectResponse("/dashboard?account=1#payouts", 303)


@router.post("/dashboard/payouts")
async def pay_out(request: Request, asked: Acting) -> Response:
    visitor, fields = asked
    platform = platform_of(request)
    try:
        await run_in_threadpool(platform.payouts.create, visitor.principal, fields.get("currency", ""),
                                fields.get("once") or None)  # fmt: skip
    except PlatformError as exc:
        return problem_page(request, visitor, 422, said(request, exc))
    return RedirectResponse("/dashboard?paid_out=1#payouts", 303)
