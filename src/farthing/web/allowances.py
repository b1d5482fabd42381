"""The payer's one-click allowances on its wallet page: which merchant may charge it without asking, up
to what, until when, and a button that revokes one at once (later charges wait for the payer)."""

from __future__ import annotations

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
STATUSES = {"active": "active", "revoked": "revoked", "expired": "expired"}


def allowances_of(platform: Platform, principal: Principal, lang: str) -> list[dict[str, str]]:
    """The payer's allowances, newest first, for the wallet page."""
    now = platform.clock()
    shown = []
    for a in platform.allowances.list(principal):
        cur = currency(a.currency)
        today, in_all = platform.allowances.spent(a)
        shown.append({"id": a.id, "merchant": platform.parties.display_name(a.merchant),
                      "spent_today": money(today, cur, lang), "spent_total": money(in_all, cur, lang),
                      "each": money(a.per_payment, cur, lang), "day": money(a.per_day, cur, lang),
                      "total": money(a.total, cur, lang), "until": when(a.expires_ms, lang),
                      "status": a.status(now), "says": translate(lang, STATUSES[a.status(now)])})  # fmt: skip
    return shown


@router.post("/wallet/allowances/{allowance_id}/revoke")
async def revoke(request: Request, allowance_id: str, asked: Acting) -> Response:
    visitor, _ = asked
    try:
        await run_in_threadpool(platform_of(request).allowances.revoke, visitor.principal, allowance_id)
    except PlatformError as exc:
        return problem_page(request, visitor, 404, said(request, exc))
    return RedirectResponse("/wallet?revoked=1", 303)
