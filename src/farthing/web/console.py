"""`/console`: the operator's page, for operators signed in: the newest merchants and customers, a search
of every party's payments by the reference a customer quotes, one customer looked at (its personal data,
wallets and latest payments) with its personal data erased on request, the security log's newest events,
and the ledger audited on demand.
The policy packs are `farthing.web.policy_pages`'s; the step-ups and paused top-ups
`farthing.web.console_queues`'s."""

from __future__ import annotations

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
from farthing.web.locale import money, translate, when
from farthing.web.render import language, page
from farthing.web.visitors import Acting, Visitor, platform_of, problem_page, said, visitor_of

router = APIRouter(include_in_schema=False)
LISTED = 20
EVENTS_SHOWN = 30
SEARCH_CURRENCIES = ("USD", "EUR", "KRW", "GBP", "JPY")


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
    reference = (request.query_params.get("reference") or "").strip()[:255]
    code = request.query_params.get("currency") or "USD"
    shown = await run_in_threadpool(_overview, platform_of(request), visitor.principal, language(request),
                                    reference, code)  # fmt: skip
    notice = translate(language(request), "Top-ups are open again.") if request.query_params.get("resumed") else None
    return page(request, "console.html", user=visitor.user, csrf=visitor.csrf, currencies=SEARCH_CURRENCIES,
                reference=reference, currency=code, notice=notice, **shown)  # fmt: skip


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


def _overview(platform: Platform, principal: Principal, lang: str, reference: str, code: str) -> dict[str, Any]:
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
            "step_ups": step_ups(platform, principal, lang), "pauses": pauses(platform, principal, lang)}  # fmt: skip


def _customer(platform: Platform, principal: Principal, customer_id: str, lang: str) -> dict[str, Any]:
    person = platform.privacy.read(principal, customer_id)
    wallets = []
    for code, account_id in platform.accounts.repo.of_party(customer_id):
        cur = currency(code)
        [state] = platform.ledger.accounts([account_id])
        dp, dpo, _, cpo = state.balances()
        lines = platform.history.page(account_id, Filters(("payment", "hold", "topup", "refund")), None, 10).entries
        wallets.append({"currency": code, "available": money(cpo - dpo - dp, cur, lang),
                        "lines": [{"when": when(e.timestamp_ms, lang), "type": e.type,
                                   "amount": money(-e.amount if e.side == "debit" else e.amount, cur, lang)}
                                  for e in lines]})  # fmt: skip
    return {"id": customer_id, "name": person.get("name"), "email": person.get("email"),
            "country": person.get("country") or "", "erased": person.get("erased_ms") is not None,
            "wallets": wallets}  # fmt: skip
