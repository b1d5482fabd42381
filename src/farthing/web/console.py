"""`/console`: the operator's page, for operators signed in: the newest merchants and customers, a search
of every party's payments by the reference a customer quotes, one customer looked at (its personal data,
wallets and latest payments) with its personal data erased on request, the security log's newest events,
and the ledger audited on demand.
The policy packs are `farthing.web.policy_pages`'s; the step-ups and paused top-ups
`farthing.web.console_queues`'s."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from farthing.bootstrap import Platform
from farthing.domain.money import currency
from farthing.domain.principals import PartyFilters, Principal
from farthing.errors import PlatformError
from farthing.services.audit import verify_at
from farthing.services.history_lines import Filters, public_payment_id
from farthing.services.payment_search import by_reference
from farthing.web.console_queues import pauses, step_ups
from farthing.web.locale import line_kind, money, translate, when
from farthing.web.render import language, page
from farthing.web.risk_pages import risk_reviews
from farthing.web.visitors import Acting, Visitor, platform_of, problem_page, said, visitor_of

router = APIRouter(include_in_schema=False)
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
LISTED = 20
EVENTS_SHOWN = 30
SEARCH_CURRENCIES = ("USD", "EUR", "KRW", "GBP", "JPY")
MERCHANT_LINES = ("payment", "channel_payment", "refund", "platform_fee", "payout", "dispute_held", "dispute_lost")


async def operator(request: Request) -> Visitor | Response:
    visitor = await run_in_threadpool(visitor_of, request)
    if visitor is None:
        return RedirectResponse("/wallet/signin", 303)
    if visitor.principal.kind != "operator":
        title = translate(language(request), "This page is for the platform's operators.")
        return problem_page(request, visitor, 403, title)
    return visitor


@router.get("/console")
async def console(request: Request) -> Response:
    visitor = await operator(request)
    if isinstance(visitor, Response):
        return visitor
    reference = _printable(request.query_params.get("reference"))
    code = request.query_params.get("currency") or "USD"
    q = _printable(request.query_params.get("q"))
    shown = await run_in_threadpool(_overview, platform_of(request), visitor.principal, language(request),
                                    reference, code, q)  # fmt: skip
    notice = (
        translate(language(request), "Top-ups are open again.") if request.query_params.get("resumed")
        else translate(language(request), "The label is kept: the model learns from it.")
        if request.query_params.get("labelled") else None
    )  # fmt: skip
    return page(request, "console.html", user=visitor.user, csrf=visitor.csrf, currencies=SEARCH_CURRENCIES,
                reference=reference, currency=code, q=q, notice=notice, **shown)  # fmt: skip


def _printable(text: str | None) -> str:
    """A search box's text as the tables can hold it: no control characters (PostgreSQL's text no NUL)."""
    return CONTROL.sub("", text or "").strip()[:255]


@router.post("/console/audit")
async def audit(request: Request, asked: Acting) -> Response:
    visitor, _ = asked
    if visitor.principal.kind != "operator":
        return RedirectResponse("/console", 303)
    report = await run_in_threadpool(verify_at, platform_of(request).ledger.engine.store.url)
    return page(request, "audit.html", user=visitor.user, csrf=visitor.csrf, ok=report.ok, batches=report.batches,
                transfers=report.transfers, problems=report.problems[:20])  # fmt: skip


@router.get("/console/customers/{customer_id}")
async def customer(request: Request, customer_id: str) -> Response:
    visitor = await operator(request)
    if isinstance(visitor, Response):
        return visitor
    try:
        shown = await run_in_threadpool(_customer, platform_of(request), visitor.principal, customer_id,
                                        language(request))  # fmt: skip
    except PlatformError as exc:
        return problem_page(request, visitor, 404, said(request, exc))
    notice = (
        translate(language(request), "The personal data is erased.") if request.query_params.get("erased") else None
    )
    return page(request, "customer.html", user=visitor.user, csrf=visitor.csrf, customer=shown, notice=notice)


@router.post("/console/customers/{customer_id}/erase")
async def erase(request: Request, customer_id: str, asked: Acting) -> Response:
    visitor, _ = asked
    try:
        await run_in_threadpool(platform_of(request).privacy.erase, visitor.principal, customer_id)
    except PlatformError as exc:
        return problem_page(request, visitor, 404, said(request, exc))
    return RedirectResponse(f"/console/customers/{customer_id}?erased=1", 303)


@router.get("/console/merchants/{merchant_id}")
async def merchant(request: Request, merchant_id: str) -> Response:
    visitor = await operator(request)
    if isinstance(visitor, Response):
        return visitor
    shown = await run_in_threadpool(_merchant, platform_of(request), visitor.principal, merchant_id,
                                    language(request))  # fmt: skip
    if shown is None:
        return problem_page(request, visitor, 404, translate(language(request), "No such merchant."))
    return page(request, "merchant.html", user=visitor.user, csrf=visitor.csrf, merchant=shown)


def _overview(platform: Platform, principal: Principal, lang: str, reference: str, code: str, q: str) -> dict[str, Any]:
    listed = {}
    for kind in ("merchant", "customer"):
        rows, _ = platform.parties.listed(principal, kind, PartyFilters(), None, LISTED)
        listed[kind] = [{"id": r.id, "name": r.name, "country": r.country or "", "since": when(r.created_ms, lang),
                         "erased": r.erased_ms is not None} for r in rows]  # fmt: skip
    found: list[dict[str, str]] = []
    if reference:
        cur = currency(code)
        hits, _ = by_reference(platform.history, platform.accounts, platform.parties, principal, reference, cur, None,
                               LISTED)  # fmt: skip
        for e, merchant in hits:
            payment = platform.holds.get(principal, public_payment_id(e.payment_id) or "")
            found.append({"id": payment.id, "customer": payment.customer, "merchant": merchant,
                          "amount": money(payment.amount, cur, lang), "when": when(e.timestamp_ms, lang)})  # fmt: skip
    events = [{"when": when(at, lang), "kind": kind, "party": party or "", "key": key or "", "detail": detail[:160]}
              for at, kind, party, key, detail in platform.identity.log.recent(principal, EVENTS_SHOWN)]  # fmt: skip
    return {"merchants": listed["merchant"], "customers": listed["customer"], "found": found, "events": events,
            "parties": _parties(platform, principal, lang, q) if q else [],
            "reviews": risk_reviews(platform, principal, lang),
            "step_ups": step_ups(platform, principal, lang), "pauses": pauses(platform, principal, lang)}  # fmt: skip


def _parties(platform: Platform, principal: Principal, lang: str, q: str) -> list[dict[str, Any]]:
    """The operator's search: a party by id, merchants by name, the party whose user has this email."""
    email_party = platform.identity.users.party_with_email(principal, q)
    rows = platform.parties.find(principal, "" if email_party else q, LISTED, also=email_party)
    return [{"id": r.id, "kind": r.kind, "name": r.name, "country": r.country or "", "since": when(r.created_ms, lang),
             "erased": r.erased_ms is not None, "closed": r.closed_ms is not None} for r in rows]  # fmt: skip


def _wallets(platform: Platform, party_id: str, types: tuple[str, ...], lang: str) -> list[dict[str, Any]]:
    """Each wallet of a party: what is available, and its newest lines of these types."""
    wallets = []
    for code, account_id in platform.accounts.repo.of_party(party_id):
        cur = currency(code)
        [state] = platform.ledger.accounts([account_id])
        dp, dpo, _, cpo = state.balances()
        lines = platform.history.page(account_id, Filters(types), None, 10).entries
        wallets.append({"currency": code, "available": money(cpo - dpo - dp, cur, lang),
                        "lines": [{"when": when(e.timestamp_ms, lang), "type": line_kind(lang, e.type),
                                   "amount": money(-e.amount if e.side == "debit" else e.amount, cur, lang)}
                                  for e in lines]})  # fmt: skip
    return wallets


def _customer(platform: Platform, principal: Principal, customer_id: str, lang: str) -> dict[str, Any]:
    person = platform.privacy.read(principal, customer_id)
    return {"id": customer_id, "name": person.get("name"), "email": person.get("email"),
            "country": person.get("country") or "", "erased": person.get("erased_ms") is not None,
            "wallets": _wallets(platform, customer_id, ("payment", "hold", "topup", "refund"), lang)}  # fmt: skip


def _merchant(platform: Platform, principal: Principal, merchant_id: str, lang: str) -> dict[str, Any] | None:
    rows = [r for r in platform.parties.find(principal, merchant_id, 1) if r.kind == "merchant" and r.id == merchant_id]
    if not rows:
        return None
    return {"id": merchant_id, "name": rows[0].name, "country": rows[0].country or "",
            "since": when(rows[0].created_ms, lang), "closed": rows[0].closed_ms is not None,
            "wallets": _wallets(platform, merchant_id, MERCHANT_LINES, lang)}  # fmt: skip
