"""The payer's payment channels on its wallet page: each one not yet closed, with its merchant, its
deposit, what the merchant redeemed of it so far and until when it runs, and a button that asks to close
it (the merchant keeps the dispute window to redeem what it was paid; then the rest comes back)."""

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
_STATES = {"open": "open", "closing": "closing"}


def channels_of(platform: Platform, principal: Principal, lang: str) -> list[dict[str, str]]:
    """The payer's channels still open or closing, newest first."""
    shown = []
    for ch in platform.channels.list(principal):
        if ch.status == "closed" or ch.customer != principal.party_id:
            continue
        cur = currency(ch.currency)
        back = ch.settle_after_ms if ch.settle_after_ms is not None else ch.expires_ms + ch.dispute_ms
        shown.append({"id": ch.id, "merchant": platform.parties.display_name(ch.merchant),
                      "deposit": money(ch.deposit, cur, lang), "redeemed": money(ch.redeemed, cur, lang),
                      "until": when(ch.expires_ms, lang), "back": when(back, lang), "status": ch.status,
                      "says": translate(lang, _STATES[ch.status])})  # fmt: skip
    return shown


@router.post("/wallet/channels/{channel_id}/close")
async def close(request: Request, channel_id: str, asked: Acting) -> Response:
    visitor, _ = asked
    try:
        await run_in_threadpool(platform_of(request).channels.close_channel, visitor.principal, channel_id[:64])
    except PlatformError as exc:
        return problem_page(request, visitor, 404, said(request, exc))
    return RedirectResponse("/wallet?closing=1#channels", 303)
