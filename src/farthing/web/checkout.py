"""`/pay/{session}`: the hosted checkout a merchant sends a payer to. The payer sees who asks for how much
and for what, signs in if need be (and comes back here), pays with one click, confirms it is them where
the policy asks (the waiting payment's page, then back here), and returns to the merchant's registered
origin with a receipt the merchant checks offline (`farthing_receipt` in the return URL's query)."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from farthing.bootstrap import Platform
from farthing.domain.checkout import CheckoutSession, allowance_terms, origin_of
from farthing.domain.money import currency
from farthing.domain.policy.inputs import Evidence
from farthing.errors import ErrorCode, PlatformError
from farthing.web.locale import money, translate
from farthing.web.render import POLICY, language, page
from farthing.web.visitors import Acting, Visitor, platform_of, problem_page, said, visitor_of

router = APIRouter(include_in_schema=False)
RECEIPT_PARAMETER = "farthing_receipt"
_STATUS = {ErrorCode.insufficient_funds: 402, ErrorCode.checkout_paid: 409, ErrorCode.checkout_expired: 410}


def with_receipt(return_url: str, receipt: str) -> str:
    """The return URL with the receipt added to its query (what it had kept)."""
    parts = urlsplit(return_url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), (RECEIPT_PARAMETER, receipt)]
    return urlunsplit(parts._replace(query=urlencode(query)))


IP_COUNTRY_HEADER = "FARTHING_IP_COUNTRY_HEADER"
"""The environment variable naming the request header in which the operator's edge (a CDN or load
balancer that geolocates: Cloudflare's `CF-IPCountry`, CloudFront's `CloudFront-Viewer-Country`) tells
the country of the payer's IP address: a second piece of tax evidence beside the billing country. Only
an edge that removes the header from what payers send may be trusted with it."""


def seen_from(request: Request) -> Evidence | None:
    """Where the payer's request came from, as the operator's edge says (None: no header configured or
    sent, or not a country code)."""
    header = os.environ.get(IP_COUNTRY_HEADER)
    country = (request.headers.get(header) or "").strip().upper() if header else ""
    return Evidence(ip=country) if len(country) == 2 and country.isalpha() else None


@router.get("/pay/{session_id}")
async def checkout_page(request: Request, session_id: str) -> Response:
    visitor = await run_in_threadpool(visitor_of, request)
    return await _page(request, visitor, session_id, 200)


@router.post("/pay/{session_id}")
async def pay(request: Request, session_id: str, asked: Acting) -> Response:
    visitor, fields = asked
    platform = platform_of(request)
    try:
        allow = fields.get("allow") == "1"
        payment = await run_in_threadpool(platform.checkout.pay, visitor.principal, session_id, allow,
                                          seen_from(request))  # fmt: skip
    except PlatformError as exc:
        return await _page(request, visitor, session_id, _STATUS.get(exc.code, 422), problem=said(request, exc))
    if payment.status == "requires_authentication":
        return RedirectResponse(f"/wallet/payments/{payment.id}?next=/pay/{session_id}", 303)
    return await _returned(request, visitor, session_id)


async def _returned(request: Request, visitor: Visitor, session_id: str) -> Response:
    platform = platform_of(request)
    receipt, return_url = await run_in_threadpool(platform.checkout.receipt, visitor.principal, session_id)
    return RedirectResponse(with_receipt(return_url, receipt), 303)


async def _page(request: Request, visitor: Visitor | None, session_id: str, status: int, **context: Any) -> Response:
    platform = platform_of(request)
    lang = language(request)
    try:
        shown = await run_in_threadpool(_shown, platform, visitor, session_id, lang)
    except PlatformError as exc:
        title = translate(lang, "There is no such checkout.") if exc.code is ErrorCode.not_found else said(request, exc)
        return problem_page(request, visitor, 404, title)
    # The form's answer sends the browser on to the merchant: the policy lets a form go there, nowhere else.
    policy = POLICY.replace("form-action 'self'", f"form-action 'self' {shown['origin']}")
    return page(request, "checkout.html", status, headers={"content-security-policy": policy},
                user=visitor and visitor.user, csrf=visitor and visitor.csrf, checkout=shown,
                next=f"/pay/{session_id}", **context)  # fmt: skip


def _shown(platform: Platform, visitor: Visitor | None, session_id: str, lang: str) -> dict[str, Any]:
    """The session as the page shows it to this visitor: what it is, and what the visitor may do now."""
    session: CheckoutSession = platform.checkout.find(session_id)
    if visitor is not None and session.mode != visitor.principal.mode:
        raise PlatformError(ErrorCode.not_found, f"no checkout session {session_id!r}")
    cur = currency(session.currency)
    state = "open"
    if session.payment_id is not None:
        mine = visitor is not None and session.customer == visitor.principal.party_id
        if not mine:
            state = "paid_by_another"
        else:
            assert visitor is not None
            status = platform.holds.get(visitor.principal, session.payment_id).status
            state = {"succeeded": "paid", "requires_authentication": "waiting"}.get(status, "canceled")
    elif platform.clock() >= session.expires_ms:
        state = "expired"
    merchant = platform.parties.display_name(session.merchant)
    each, day, total = (money(u, cur, lang) for u in allowance_terms(session.amount_units))
    return {"id": session.id, "amount": money(session.amount_units, cur, lang), "description": session.description,
            "merchant": merchant, "state": state, "payment": session.payment_id, "allowance": session.allowance,
            "origin": origin_of(session.return_url), "each": each, "day": day, "total": total}  # fmt: skip


@router.post("/pay/{session_id}/return")
async def go_back(request: Request, session_id: str, asked: Acting) -> Response:
    """Back to the merchant with a new receipt (the paid page's button: a receipt lives minutes)."""
    visitor, _ = asked
    try:
        return await _returned(request, visitor, session_id)
    except PlatformError as exc:
        return await _page(request, visitor, session_id, 404, problem=said(request, exc))
