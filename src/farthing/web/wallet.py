"""The payer's pages: open an account, sign in and out, and the wallet: balances, the latest activity with
the balance after each line, and a top-up by card.

Pages call the services directly (as the API does) with the signed-in person's principal. Every form
that changes something carries the session's CSRF token, and every POST must come from this server's
own pages (its `Origin`, when the browser sends one, is this server's): a form on another site can
neither act for a signed-in payer nor sign a payer in to someone else's account.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
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
from farthing.services.users import PASSWORD_LENGTH_MIN, SESSION_COOKIE, User, session_cookie
from farthing.web.locale import money, translate, when
from farthing.web.render import FormRefused, form, language, page

router = APIRouter(include_in_schema=False)
LINES_SHOWN = 20
TOPUP_CURRENCIES = ("USD", "EUR", "KRW", "GBP", "JPY")
_LABELS = {
    "topup": "Top-up", "payment": "Payment", "hold": "Held for a payment", "capture": "Payment (captured)",
    "hold_voided": "Hold released", "hold_expired": "Hold expired", "refund": "Refund", "card_fee": "Card fee",
    "platform_fee": "Platform fee", "channel_deposit": "Channel deposit", "channel_payment": "Channel payment",
    "channel_released": "Channel deposit released", "added_tax": "Tax", "added_tax_refund": "Tax refunded",
}  # fmt: skip
_SAYS = {
    ErrorCode.authentication_failed: "Wrong email or password.",
    ErrorCode.account_locked: "Too many wrong passwords: wait a minute, then try again.",
    ErrorCode.card_declined: "The card was declined; nothing was charged.",
    ErrorCode.csrf_failed: "This form expired. Open the page again and resend it.",
}


@dataclass(frozen=True)
class Visitor:
    user: User
    csrf: str
    principal: Principal
    token: str


def _platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def _visitor(request: Request) -> Visitor | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    users = _platform(request).identity.users
    found = users.session(token)
    if found is None:
        return None
    return Visitor(found[0], found[1], users.principal(found[0], token), token)


def _said(request: Request, exc: PlatformError) -> str:
    """A refusal as the reader's language says it (the service's own words where no translation is kept)."""
    known = _SAYS.get(exc.code)
    return translate(language(request), known) if known else exc.detail


def _own_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


def _session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(**session_cookie(token, request.url.scheme, request.url.hostname or ""))


async def _posted(request: Request, visitor: Visitor | None = None) -> dict[str, str] | Response:
    """The form's fields, or the page that refuses it: not a form, not from this server, or (for a
    signed-in visitor) without the session's CSRF token."""
    try:
        fields = await form(request)
    except FormRefused:
        return page(request, "problem.html", 415, title=translate(language(request), "That was not a form."))
    if not _own_origin(request) or (
        visitor is not None and not secrets.compare_digest(fields.get("csrf_token", ""), visitor.csrf)
    ):
        title = translate(language(request), _SAYS[ErrorCode.csrf_failed])
        return page(request, "problem.html", 403, title=title)
    return fields


@router.get("/")
async def home(request: Request) -> Response:
    visitor = await run_in_threadpool(_visitor, request)
    return page(request, "home.html", user=visitor and visitor.user, csrf=visitor and visitor.csrf)


@router.get("/wallet/signin")
async def signin_page(request: Request) -> Response:
    return page(request, "signin.html")


@router.post("/wallet/signin")
async def sign_in(request: Request) -> Response:
    fields = await _posted(request)
    if isinstance(fields, Response):
        return fields
    email, password = fields.get("email", ""), fields.get("password", "")
    ip = request.client.host if request.client else None
    users = _platform(request).identity.users
    try:
        session = await run_in_threadpool(users.sign_in, email, password, ip, request.headers.get("user-agent"))
    except PlatformError as exc:
        status = 423 if exc.code is ErrorCode.account_locked else 401
        return page(request, "signin.html", status, problem=_said(request, exc), email=email)
    response = RedirectResponse("/wallet", 303)
    _session_cookie(request, response, session.token)
    return response


@router.get("/wallet/signup")
async def signup_page(request: Request) -> Response:
    return page(request, "signup.html", password_min=PASSWORD_LENGTH_MIN)


@router.post("/wallet/signup")
async def sign_up(request: Request) -> Response:
    fields = await _posted(request)
    if isinstance(fields, Response):
        return fields
    name, email, password = fields.get("name", "").strip(), fields.get("email", ""), fields.get("password", "")
    users = _platform(request).identity.users

    def open_account() -> str:
        users.sign_up(email, password, name)
        return users.sign_in(email, password, request.client.host if request.client else None).token

    try:
        if not name or len(name) > 200:
            raise PlatformError(ErrorCode.validation_failed, translate(language(request), "Give your name."))
        token = await run_in_threadpool(open_account)
    except PlatformError as exc:
        return page(request, "signup.html", 422, problem=_said(request, exc), name=name, email=email,
                    password_min=PASSWORD_LENGTH_MIN)  # fmt: skip
    response = RedirectResponse("/wallet", 303)
    _session_cookie(request, response, token)
    return response


async def _acting(request: Request) -> tuple[Visitor, dict[str, str]] | Response:
    """The signed-in visitor and the form it sent, or where to go instead: the sign-in page for no
    session, the refusal of a form that is not this session's."""
    visitor = await run_in_threadpool(_visitor, request)
    if visitor is None:
        return RedirectResponse("/wallet/signin", 303)
    fields = await _posted(request, visitor)
    return fields if isinstance(fields, Response) else (visitor, fields)


@router.post("/wallet/signout")
async def sign_out(request: Request) -> Response:
    acting = await _acting(request)
    if isinstance(acting, Response):
        return acting
    visitor, _ = acting
    await run_in_threadpool(_platform(request).identity.users.sign_out, visitor.token)
    response = RedirectResponse("/", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/wallet")
async def wallet(request: Request) -> Response:
    visitor = await run_in_threadpool(_visitor, request)
    if visitor is None:
        return RedirectResponse("/wallet/signin", 303)
    notice = translate(language(request), "Your top-up went through.") if request.query_params.get("topped") else None
    return await _wallet_page(request, visitor, 200, notice=notice)


@router.post("/wallet/topups")
async def top_up(request: Request) -> Response:
    acting = await _acting(request)
    if isinstance(acting, Response):
        return acting
    visitor, fields = acting
    amount, code = fields.get("amount", ""), fields.get("currency", "USD")
    card = fields.get("card_number", "").replace(" ", "")
    platform = _platform(request)
    try:
        money_in = positive_money(amount, code)
        await run_in_threadpool(platform.topups.top_up, visitor.principal, money_in, card, fields.get("once") or None)
    except PlatformError as exc:
        return await _wallet_page(request, visitor, 402 if exc.code is ErrorCode.card_declined else 422,
                                  problem=_said(request, exc), amount=amount, currency=code)  # fmt: skip
    return RedirectResponse("/wallet?topped=1", 303)


async def _wallet_page(request: Request, visitor: Visitor, status: int, **context: Any) -> Response:
    lang = language(request)
    wallets = await run_in_threadpool(_wallets, _platform(request), visitor.principal, lang)
    return page(request, "wallet.html", status, user=visitor.user, csrf=visitor.csrf, wallets=wallets,
                currencies=TOPUP_CURRENCIES, once=secrets.token_urlsafe(16), **context)  # fmt: skip


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


def _line(e: Entry, cur: Any, lang: str) -> dict[str, str]:
    moved = e.amount if e.amount else e.pending_delta
    signed = -moved if e.side == "debit" else moved
    dp, dpo, _, cpo = e.balances
    return {"when": when(e.timestamp_ms, lang), "what": translate(lang, _LABELS.get(e.type, e.type)),
            "amount": money(signed, cur, lang), "balance": money(cpo - dpo - dp, cur, lang)}  # fmt: skip
