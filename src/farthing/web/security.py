"""The payer's second factors and strong authentication, as pages: an authenticator app set up (its QR
code, the first code, the recovery codes shown once), passkeys (added and used by `static/passkeys.js`
through the API's ceremonies), and a payment that waits for the payer (`/wallet/payments/{id}`: a
passkey, a code from the app or a recovery code completes it; five wrong answers cancel it)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from farthing.bootstrap import Platform
from farthing.domain.money import currency
from farthing.domain.principals import Principal
from farthing.errors import PlatformError
from farthing.web.locale import money, translate, when
from farthing.web.render import language, page
from farthing.web.visitors import Acting, Visitor, local_next, platform_of, problem_page, said, visitor_of

router = APIRouter(include_in_schema=False)
KINDS = {"passkey": "Passkey", "totp": "Authenticator app"}


def factors_of(platform: Platform, principal: Principal, lang: str) -> list[dict[str, str]]:
    """The payer's confirmed second factors, for the wallet page."""
    return [{"kind": translate(lang, KINDS.get(f.kind, f.kind)), "since": when(f.confirmed_ms or f.created_ms, lang)}
            for f in platform.identity.factors.list(principal) if f.confirmed_ms is not None]  # fmt: skip


@router.post("/wallet/factors/totp")
async def set_up_app(request: Request, asked: Acting) -> Response:
    visitor, _ = asked
    made = await run_in_threadpool(platform_of(request).identity.factors.enrol_totp, visitor.principal)
    return page(request, "totp.html", user=visitor.user, csrf=visitor.csrf, factor=made.factor_id,
                qr=made.qr_svg, secret=made.secret)  # fmt: skip


@router.post("/wallet/factors/{factor_id}/confirm")
async def confirm_app(request: Request, factor_id: str, asked: Acting) -> Response:
    visitor, fields = asked
    factors = platform_of(request).identity.factors
    try:
        codes = await run_in_threadpool(factors.confirm_totp, visitor.principal, factor_id, fields.get("code", ""))
    except PlatformError as exc:
        return page(request, "totp.html", 422, user=visitor.user, csrf=visitor.csrf, factor=factor_id,
                    problem=said(request, exc))  # fmt: skip
    return page(request, "recovery.html", user=visitor.user, csrf=visitor.csrf, codes=codes)


@router.get("/wallet/payments/{payment_id}")
async def waiting_payment(request: Request, payment_id: str) -> Response:
    visitor = await run_in_threadpool(visitor_of, request)
    if visitor is None:
        return RedirectResponse("/wallet/signin", 303)
    return await _payment_page(request, visitor, payment_id, 200, next=local_next(request.query_params.get("next")))


@router.post("/wallet/payments/{payment_id}/authenticate")
async def answer(request: Request, payment_id: str, asked: Acting) -> Response:
    visitor, fields = asked
    code, recovery = fields.get("code") or None, fields.get("recovery_code") or None
    step_ups = platform_of(request).step_ups
    try:
        await run_in_threadpool(step_ups.authenticate, visitor.principal, payment_id, code, recovery)
    except PlatformError as exc:
        return await _payment_page(request, visitor, payment_id, 422, problem=said(request, exc),
                                   next=local_next(fields.get("next")))  # fmt: skip
    onward = local_next(fields.get("next"))
    return RedirectResponse(f"/wallet/payments/{payment_id}" + (f"?next={onward}" if onward else ""), 303)


@router.post("/wallet/payments/{payment_id}/decline")
async def decline(request: Request, payment_id: str, asked: Acting) -> Response:
    visitor, _ = asked
    step_ups = platform_of(request).step_ups
    try:
        await run_in_threadpool(step_ups.decline, visitor.principal, payment_id)
    except PlatformError as exc:
        return await _payment_page(request, visitor, payment_id, 409, problem=said(request, exc))
    return RedirectResponse(f"/wallet/payments/{payment_id}", 303)


async def _payment_page(request: Request, visitor: Visitor, payment_id: str, status: int, **context: Any) -> Response:
    lang = language(request)
    try:
        shown = await run_in_threadpool(_payment, platform_of(request), visitor.principal, payment_id, lang)
    except PlatformError as exc:
        return problem_page(request, visitor, 404, said(request, exc))
    return page(request, "stepup.html", status, user=visitor.user, csrf=visitor.csrf, payment=shown, **context)


def _payment(platform: Platform, principal: Principal, payment_id: str, lang: str) -> dict[str, Any]:
    """The payment as the page shows it, with what answering its challenge needs while it waits."""
    found = platform.holds.get(principal, payment_id)
    if found.status == "requires_authentication":
        found = platform.step_ups.annotate(found)
    offer = found.authentication or {}
    return {
        "id": found.id, "status": found.status, "merchant": platform.parties.display_name(found.merchant),
        "amount": money(found.amount, currency(found.currency), lang),
        "options": json.dumps(offer.get("webauthn", {})), "url": offer.get("url", ""),
        "attempts_left": offer.get("attempts_left"), "methods": offer.get("methods", []),
        "app": any(f.kind == "totp" and f.confirmed_ms is not None for f in platform.identity.factors.list(principal)),
    }  # fmt: skip
