"""The payer's pages: open an account, sign in and out, and the wallet: balances, the latest activity with
the balance after each line, and a top-up by card. Pages call the services directly (as the API does)
with the signed-in person's principal (`farthing.web.visitors`)."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from farthing.bootstrap import Platform
from farthing.domain.money import currency
from farthing.domain.principals import Principal
from farthing.domain.statement import Entry
from farthing.errors import ErrorCode, PlatformError
from farthing.services.amounts import positive_money
from farthing.services.history_lines import Filters
from farthing.services.users import PASSWORD_LENGTH_MIN, SESSION_COOKIE
from farthing.web.allowances import allowances_of
from farthing.web.channel_pages import channels_of
from farthing.web.device_pages import devices_of, kinds
from farthing.web.locale import countries, line_kind, money, translate, when
from farthing.web.processor_page import processor_page
from farthing.web.render import language, page
from farthing.web.security import factors_of
from farthing.web.visitors import (
    Acting,
    Visitor,
    local_next,
    platform_of,
    posted,
    said,
    set_session,
    visitor_of,
)

router = APIRouter(include_in_schema=False)
LINES_SHOWN = 20
TOPUP_CURRENCIES = ("USD", "EUR", "KRW", "GBP", "JPY")
_DONE = {
    "topped": "Your top-up went through.",
    "passkey": "Your passkey is ready.",
    "revoked": "The allowance is revoked: that merchant asks you again.",
    "erased": "Your personal data is erased.",
    "closing": "The channel is closing: what the merchant did not redeem comes back after its window.",
    "device": "The device is registered: it pays from this wallet within its caps.",
}
"""What the wallet page says after a form (or the passkey script) sent the visitor back to it."""


@router.get("/")
async def home(request: Request) -> Response:
    visitor = await run_in_threadpool(visitor_of, request)
    closed = request.query_params.get("closed")
    notice = translate(language(request), "Your account is closed. Thank you for using Farthing.") if closed else None
    return page(request, "home.html", user=visitor and visitor.user, csrf=visitor and visitor.csrf, notice=notice)


@router.get("/wallet/signin")
async def signin_page(request: Request) -> Response:
    return page(request, "signin.html", next=local_next(request.query_params.get("next")))


@router.post("/wallet/signin")
async def sign_in(request: Request) -> Response:
    fields = await posted(request)
    if isinstance(fields, Response):
        return fields
    email, password = fields.get("email", ""), fields.get("password", "")
    ip = request.client.host if request.client else None
    users = platform_of(request).identity.users
    try:
        session = await run_in_threadpool(users.sign_in, email, password, ip, request.headers.get("user-agent"))
    except PlatformError as exc:
        status = 423 if exc.code is ErrorCode.account_locked else 401
        return page(request, "signin.html", status, problem=said(request, exc), email=email,
                    next=local_next(fields.get("next")))  # fmt: skip
    home = {"merchant_staff": "/dashboard", "operator": "/console"}.get(session.user.role, "/wallet")
    response = RedirectResponse(local_next(fields.get("next")) or home, 303)
    set_session(request, response, session.token)
    return response


@router.get("/wallet/signup")
async def signup_page(request: Request) -> Response:
    return page(request, "signup.html", password_min=PASSWORD_LENGTH_MIN, countries=countries(language(request)),
                next=local_next(request.query_params.get("next")))  # fmt: skip


@router.post("/wallet/signup")
async def sign_up(request: Request) -> Response:
    fields = await posted(request)
    if isinstance(fields, Response):
        return fields
    name, email, password = fields.get("name", "").strip(), fields.get("email", ""), fields.get("password", "")
    country = fields.get("country") or None
    users = platform_of(request).identity.users

    def open_account() -> str:
        users.sign_up(email, password, name, country=country)
        return users.sign_in(email, password, request.client.host if request.client else None).token

    try:
        if not name or len(name) > 200:
            raise PlatformError(ErrorCode.validation_failed, translate(language(request), "Give your name."))
        token = await run_in_threadpool(open_account)
    except PlatformError as exc:
        return page(request, "signup.html", 422, problem=said(request, exc), name=name, email=email, country=country,
                    password_min=PASSWORD_LENGTH_MIN, countries=countries(language(request)),
                    next=local_next(fields.get("next")))  # fmt: skip
    response = RedirectResponse(local_next(fields.get("next")) or "/wallet", 303)
    set_session(request, response, token)
    return response


@router.post("/wallet/signout")
async def sign_out(request: Request, asked: Acting) -> Response:
    visitor, _ = asked
    await run_in_threadpool(platform_of(request).identity.users.sign_out, visitor.token)
    response = RedirectResponse("/", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/wallet")
async def wallet(request: Request) -> Response:
    visitor = await run_in_threadpool(visitor_of, request)
    if visitor is None:
        return RedirectResponse("/wallet/signin", 303)
    done = [said for asked, said in _DONE.items() if request.query_params.get(asked)]
    notice = translate(language(request), done[0]) if done else None
    return await _wallet_page(request, visitor, 200, notice=notice)


@router.post("/wallet/topups")
async def top_up(request: Request, asked: Acting) -> Response:
    visitor, fields = asked
    amount, code = fields.get("amount", ""), fields.get("currency", "USD")
    source = fields.get("payment_method") or fields.get("card_number", "").replace(" ", "")
    platform = platform_of(request)
    once = fields.get("once") or None
    try:
        money_in = positive_money(amount, code)
        done = await run_in_threadpool(platform.topups.top_up, visitor.principal, money_in, source, once)
    except PlatformError as exc:
        return await _wallet_page(request, visitor, 402 if exc.code is ErrorCode.card_declined else 422,
                                  problem=said(request, exc), amount=amount, currency=code)  # fmt: skip
    if done.status == "requires_action":  # the card's own challenge first (3-D Secure), then the same again
        challenge = {"client_secret": done.client_secret, "once": once, "payment_method": source, "amount": amount,
                     "currency": code}  # fmt: skip
        return await _wallet_page(request, visitor, 200, challenge=challenge, amount=amount, currency=code)
    return RedirectResponse("/wallet?topped=1", 303)


async def _wallet_page(request: Request, visitor: Visitor, status: int, **context: Any) -> Response:
    lang = language(request)
    platform = platform_of(request)
    wallets = await run_in_threadpool(_wallets, platform, visitor.principal, lang)
    factors = await run_in_threadpool(factors_of, platform, visitor.principal, lang)
    allowances = await run_in_threadpool(allowances_of, platform, visitor.principal, lang)
    channels = await run_in_threadpool(channels_of, platform, visitor.principal, lang)
    devices = await run_in_threadpool(devices_of, platform, visitor.principal, lang)
    waiting = await run_in_threadpool(_waiting, platform, visitor.principal, lang)
    stripe = processor_page(platform.topups.takes(visitor.principal.mode))
    return page(request, "wallet.html", status, stripe.headers, user=visitor.user, csrf=visitor.csrf,
                wallets=wallets, waiting=waiting, factors=factors, allowances=allowances, channels=channels,
                devices=devices, device_kinds=kinds(lang), stripe=stripe.context, currencies=TOPUP_CURRENCIES,
                once=secrets.token_urlsafe(16), **context)  # fmt: skip


def _wallets(platform: Platform, principal: Principal, lang: str) -> list[dict[str, Any]]:
    """Each wallet's balances and latest lines, formatted for `lang`."""
    out = []
    for code, state in platform.accounts.wallets(principal):
        cur = currency(code)
        account_id, _ = platform.accounts.wallet_of(principal, code)
        dp, dpo, _, cpo = state.balances()
        entries = platform.history.page(account_id, Filters(), None, LINES_SHOWN).entries
        out.append({"currency": code, "available": money(cpo - dpo - dp, cur, lang),
                    "pending": money(dp, cur, lang) if dp else None,
                    "lines": [_line(e, cur, lang) for e in entries]})  # fmt: skip
    return out


def _waiting(platform: Platform, principal: Principal, lang: str) -> list[dict[str, str]]:
    """The payer's payments that wait for its approval (a device's past its exemption, a merchant's charge
    outside an allowance), each with the page where the payer answers."""
    return [{"id": p.id, "page": f"/wallet/payments/{p.id}", "merchant": platform.parties.display_name(p.merchant),
             "amount": money(p.amount, currency(p.currency), lang)}
            for p in platform.step_ups.waiting(principal) if p.status == "requires_authentication"]  # fmt: skip


def _line(e: Entry, cur: Any, lang: str) -> dict[str, str]:
    moved = e.amount if e.amount else e.pending_delta
    signed = -moved if e.side == "debit" else moved
    dp, dpo, _, cpo = e.balances
    return {"when": when(e.timestamp_ms, lang), "what": line_kind(lang, e.type),
            "amount": money(signed, cur, lang), "balance": money(cpo - dpo - dp, cur, lang)}  # fmt: skip
