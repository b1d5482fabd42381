"""What waits on people, in the operator's console: the newest payments stepped up to strong
authentication (waiting, confirmed, locked after wrong answers, or expired) and the customers whose
declined cards pause their top-ups, each pause liftable by the operator (logged)."""

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
STEP_UPS_SHOWN = 20
_STATES = {"pending": "waiting for the payer", "succeeded": "confirmed", "locked": "canceled: wrong answers",
           "expired": "expired", "declined": "declined by the payer"}  # fmt: skip


def step_ups(platform: Platform, principal: Principal, lang: str) -> list[dict[str, str]]:
    """The newest step-ups: the payment, its payer, amount and merchant, and where it stands."""
    now = platform.clock()
    out = []
    for c, code, opened_ms in platform.step_ups.recent(principal, STEP_UPS_SHOWN):
        payment = platform.holds.get(principal, c.payment_id)
        state = "expired" if c.status == "pending" and now >= c.expires_ms else c.status
        out.append({"id": c.payment_id, "customer": c.party_id, "merchant": payment.merchant,
                    "amount": money(payment.amount, currency(code), lang), "when": when(opened_ms, lang),
                    "state": state, "says": translate(lang, _STATES.get(state, state)),
                    "attempts": str(c.attempts)})  # fmt: skip
    return out


def pauses(platform: Platform, principal: Principal, lang: str) -> list[dict[str, str]]:
    return [{"customer": p.party_id, "until": when(p.until_ms, lang), "reason": p.reason}
            for p in platform.topups.paused(principal)]  # fmt: skip


@router.post("/console/topups/{customer_id}/resume")
async def resume(request: Request, customer_id: str, asked: Acting) -> Response:
    visitor, _ = asked
    try:
        await run_in_threadpool(platform_of(request).topups.resume, visitor.principal, customer_id[:64])
    except PlatformError as exc:
        return problem_page(request, visitor, 403, said(request, exc))
    return RedirectResponse("/console?resumed=1#paused", 303)
