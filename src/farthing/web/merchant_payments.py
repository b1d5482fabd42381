"""The dashboard's payments: those received in one currency at a time, filtered by kind, reference and
days, newest first a page at a time (the page token carries the filters); and a refund, confirmed on a
page of its own that shows the payment and takes an amount (the whole payment when none is given)."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.responses import RedirectResponse, Response

from farthing.bootstrap import Platform
from farthing.domain.money import currency
from farthing.domain.periods import day_start_ms
from farthing.domain.principals import Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.history_lines import Filters, public_payment_id
from farthing.web.locale import money, translate, when
from farthing.web.render import language, page
from farthing.web.visitors import Acting, Visitor, platform_of, problem_page, said, visitor_of

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 20
DAY_MS = 86_400_000
KINDS = {"all": ("payment", "hold"), "payment": ("payment",), "hold": ("hold",)}
_STATES = {"succeeded": "paid", "requires_capture": "held", "requires_authentication": "waiting for the payer",
           "canceled": "canceled", "expired": "expired"}  # fmt: skip


def payments_shown(platform: Platform, principal: Principal, lang: str, asked: QueryParams) -> dict[str, Any]:
    """A page of the merchant's payments in the currency asked (its first wallet's by default), as the
    filter form asked or as the page token carries on; the form's values, to show them again."""
    held = [code for code, _ in platform.accounts.wallets(principal)]
    code = asked.get("currency") or (held[0] if held else "USD")
    form = {"currency": code, "kind": asked.get("kind") or "all", "reference": (asked.get("reference") or "")[:255],
            "from": asked.get("from") or "", "to": asked.get("to") or ""}  # fmt: skip
    shown: dict[str, Any] = {"held": held, "asked": form, "payments": [], "next_page": None}
    if code not in held:
        return shown
    token = asked.get("page")
    if token:
        filters, before = Filters.from_token(token)
    else:
        if form["kind"] not in KINDS:
            raise PlatformError(ErrorCode.validation_failed, f"kind is one of {sorted(KINDS)}")
        gte = _day_ms(form["from"], "from") if form["from"] else None
        lte = _day_ms(form["to"], "to") + DAY_MS - 1 if form["to"] else None
        filters, before = Filters(KINDS[form["kind"]], form["reference"] or None, gte, lte), None
    cur = currency(code)
    account_id, _ = platform.accounts.wallet_of(principal, code)
    found = platform.history.page(account_id, filters, before, PAGE_SIZE)
    for e in found.entries:
        public = public_payment_id(e.payment_id) or ""
        on_hold = e.type == "hold"
        state = platform.holds.get(principal, public).status if on_hold else "succeeded"
        shown["payments"].append({
            "id": public, "amount": money(e.pending_delta if on_hold else e.amount, cur, lang),
            "when": when(e.timestamp_ms, lang), "reference": e.reference or "",
            "status": translate(lang, _STATES.get(state, state)), "refundable": state == "succeeded",
        })  # fmt: skip
    shown["next_page"] = found.next_page
    return shown


def _day_ms(text: str, field: str) -> int:
    """The first moment (Unix ms) of the UTC day written as 2026-11-01."""
    return day_start_ms(text, field)


@router.get("/dashboard/payments/{payment_id}/refund")
async def confirm_refund(request: Request, payment_id: str) -> Response:
    visitor = await run_in_threadpool(visitor_of, request)
    if visitor is None or visitor.principal.kind != "merchant":
        return RedirectResponse("/dashboard", 303)
    return await _refund_page(request, visitor, payment_id[:64], 200)


@router.post("/dashboard/payments/{payment_id}/refund")
async def refund(request: Request, payment_id: str, asked: Acting) -> Response:
    visitor, fields = asked
    refunds = platform_of(request).refunds
    try:
        await run_in_threadpool(refunds.refund, visitor.principal, payment_id, fields.get("amount") or None,
                                fields.get("once") or None)  # fmt: skip
    except PlatformError as exc:
        status = 409 if exc.code is ErrorCode.refund_conflict else 422
        return await _refund_page(request, visitor, payment_id[:64], status, problem=said(request, exc),
                                  amount=fields.get("amount", ""))  # fmt: skip
    return RedirectResponse("/dashboard?refunded=1", 303)


async def _refund_page(request: Request, visitor: Visitor, payment_id: str, status: int, **context: Any) -> Response:
    lang = language(request)
    try:
        paid = await run_in_threadpool(platform_of(request).holds.get, visitor.principal, payment_id)
    except PlatformError as exc:
        return problem_page(request, visitor, 404, said(request, exc))
    if paid.merchant != visitor.principal.party_id:
        return problem_page(request, visitor, 404, translate(lang, "There is no such payment."))
    cur = currency(paid.currency)
    shown = {"id": paid.id, "amount": money(paid.amount, cur, lang), "plain": cur.format(paid.amount),
             "currency": cur.code, "reference": paid.reference or ""}  # fmt: skip
    return page(request, "refund.html", status, user=visitor.user, csrf=visitor.csrf, payment=shown,
                once=secrets.token_urlsafe(16), **context)  # fmt: skip
