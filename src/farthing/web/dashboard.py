"""`/dashboard`: the merchant's page, for its staff signed in: balances, the last 14 days' money received,
taken in fees and refunded (a chart and a table), the payments received (newest first, a page at a
time), a refund of any of them, its webhook endpoints (`farthing.web.webhook_pages`) and the API keys
(made with scopes, rolled, revoked; a new secret shown once), and the paywall snippet. The payments'
filters and the refund's confirmation are `farthing.web.merchant_payments`'s. Later: payouts."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.responses import RedirectResponse, Response

from farthing.bootstrap import Platform
from farthing.domain.money import Currency, currency
from farthing.domain.principals import Principal
from farthing.errors import PlatformError
from farthing.web.locale import day as day_of
from farthing.web.locale import money, translate, when
from farthing.web.merchant_payments import payments_shown
from farthing.web.payout_pages import payouts_of
from farthing.web.render import language, page
from farthing.web.visitors import Acting, Visitor, platform_of, problem_page, said, visitor_of
from farthing.web.webhook_pages import endpoints_of

router = APIRouter(include_in_schema=False)
ROLL_OVERLAP_S = 3_600
CHART_DAYS = 14
DAY_MS = 86_400_000
BAR_HEIGHT = 120
_DONE = {
    "refunded": "The refund went through.",
    "revoked": "The key is revoked.",
    "account": "Payouts go to this account now.",
    "paid_out": "The payout is booked; it goes in the next bank file.",
}


def _staff(visitor: Visitor | None) -> Response | None:
    """Where a visitor who is not the merchant's staff goes instead."""
    if visitor is None:
        return RedirectResponse("/wallet/signin?next=/wallet", 303)
    return None


@router.get("/dashboard")
async def dashboard(request: Request) -> Response:
    visitor = await run_in_threadpool(visitor_of, request)
    elsewhere = _staff(visitor)
    if elsewhere is not None:
        return elsewhere
    assert visitor is not None
    if visitor.principal.kind != "merchant":
        title = translate(language(request), "This page is for a merchant's staff.")
        return problem_page(request, visitor, 403, title)
    done = [said for asked, said in _DONE.items() if request.query_params.get(asked)]
    notice = translate(language(request), done[0]) if done else None
    return await _page(request, visitor, 200, notice=notice)


@router.post("/dashboard/keys")
async def new_key(request: Request, asked: Acting) -> Response:
    """A new key, of the scopes ticked (all of the merchant's when none is)."""
    visitor, fields = asked
    scopes = [s for s in sorted(visitor.principal.scopes) if fields.get(f"scope:{s}") == "1"] or None
    try:
        key_id, secret = await run_in_threadpool(platform_of(request).keys.new, visitor.principal, scopes)
    except PlatformError as exc:
        return await _page(request, visitor, 422, problem=said(request, exc))
    return await _page(request, visitor, 201, made=(key_id, secret))


@router.post("/dashboard/keys/{key_id}/roll")
async def roll_key(request: Request, key_id: str, asked: Acting) -> Response:
    """A key in place of this one, which keeps working an hour more (time to deploy the new one)."""
    visitor, _ = asked
    try:
        made = await run_in_threadpool(platform_of(request).keys.roll, visitor.principal, key_id, ROLL_OVERLAP_S)
    except PlatformError as exc:
        return await _page(request, visitor, 404, problem=said(request, exc))
    return await _page(request, visitor, 201, made=made)


@router.post("/dashboard/keys/{key_id}/revoke")
async def revoke_key(request: Request, key_id: str, asked: Acting) -> Response:
    visitor, _ = asked
    try:
        await run_in_threadpool(platform_of(request).keys.revoke, visitor.principal, key_id)
    except PlatformError as exc:
        return await _page(request, visitor, 404, problem=said(request, exc))
    return RedirectResponse("/dashboard?revoked=1", 303)


async def _page(request: Request, visitor: Visitor, status: int, **context: Any) -> Response:
    lang = language(request)
    platform = platform_of(request)
    try:
        shown = await run_in_threadpool(_shown, platform, visitor.principal, lang, request.query_params)
    except PlatformError as exc:  # a filter or page token the payments cannot be read by
        status, context["problem"] = 422, said(request, exc)
        shown = await run_in_threadpool(_shown, platform, visitor.principal, lang, QueryParams())
    return page(request, "dashboard.html", status, user=visitor.user, csrf=visitor.csrf, once=secrets.token_urlsafe(16),
                scopes=sorted(visitor.principal.scopes), platform_url=str(request.base_url).rstrip("/"),
                **shown, **context)  # fmt: skip


def _chart(platform: Platform, account_id: int, cur: Currency, lang: str) -> list[dict[str, Any]]:
    """The last `CHART_DAYS` UTC days: received, fees and refunds each, and each day's bar height in pixels
    (received, scaled to the largest day)."""
    today = platform.clock() // DAY_MS
    first = today - CHART_DAYS + 1
    totals = {(day, name): amount for day, name, amount in platform.history.daily(account_id, first * DAY_MS)}
    peak = max((totals.get((d, "received"), 0) for d in range(first, today + 1)), default=0) or 1
    days = []
    for n, day in enumerate(range(first, today + 1)):
        received = totals.get((day, "received"), 0)
        active = received or totals.get((day, "fees"), 0) or totals.get((day, "refunds"), 0)
        days.append({"x": n * 24, "height": received * BAR_HEIGHT // peak, "label": day_of(day * DAY_MS, lang),
                     "received": money(received, cur, lang), "fees": money(totals.get((day, "fees"), 0), cur, lang),
                     "refunds": money(totals.get((day, "refunds"), 0), cur, lang), "active": bool(active)})  # fmt: skip
    return days


def _shown(platform: Platform, principal: Principal, lang: str, asked: QueryParams) -> dict[str, Any]:
    """The merchant's balances and charts, a page of its payments (`merchant_payments`), and its keys."""
    assert principal.party_id is not None
    wallets = []
    for code, state in platform.accounts.wallets(principal):
        cur = currency(code)
        dp, dpo, _, cpo = state.balances()
        account_id, _ = platform.accounts.wallet_of(principal, code)
        wallets.append({"currency": code, "available": money(cpo - dpo - dp, cur, lang),
                        "chart": _chart(platform, account_id, cur, lang)})  # fmt: skip
    keys = [{"id": k.id, "prefix": (k.prefix or "") + "…", "made": when(k.created_ms, lang), "scopes": k.scopes,
             "used": when(k.last_used_ms, lang) if k.last_used_ms else "", "revoked": k.revoked_ms is not None}
            for k in platform.keys.keys(principal)]  # fmt: skip
    month = datetime.fromtimestamp(platform.clock() // 1000, UTC).strftime("%Y-%m")
    expiring = [{"id": c.id, "deposit": money(c.deposit, currency(c.currency), lang),
                 "redeemed": money(c.redeemed, currency(c.currency), lang), "deadline": when(c.deadline_ms, lang)}
                for c in platform.channel_deadlines.near(principal)]  # fmt: skip
    return {"merchant": platform.parties.display_name(principal.party_id), "wallets": wallets, "keys": keys,
            "month": month, "expiring": expiring,
            "endpoints": endpoints_of(platform, principal), "merchant_id": principal.party_id,
            **payments_shown(platform, principal, lang, asked), **payouts_of(platform, principal, lang)}  # fmt: skip
