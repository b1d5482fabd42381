"""The payer's own data, from its wallet page: everything held about it downloaded as one JSON document,
its personal data erased (its data key destroyed: name and contact details gone; the payments stay, by
id), and its account closed (keys revoked, sessions ended, no more signing in; the personal data kept for
the policy's retention period, then erased by `farthing privacy sweep`)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from farthing.errors import PlatformError
from farthing.services.users import SESSION_COOKIE
from farthing.web.locale import translate
from farthing.web.render import HEADERS, language
from farthing.web.visitors import Acting, platform_of, problem_page, said, visitor_of

router = APIRouter(include_in_schema=False)


@router.get("/wallet/export")
async def export(request: Request) -> Response:
    visitor = await run_in_threadpool(visitor_of, request)
    if visitor is None or visitor.principal.party_id is None:
        return RedirectResponse("/wallet/signin", 303)
    platform = platform_of(request)
    held = await run_in_threadpool(platform.privacy.export, visitor.principal, visitor.principal.party_id,
                                   platform.history)  # fmt: skip
    body = json.dumps(held, indent=2, ensure_ascii=False).encode()
    disposition = f'attachment; filename="farthing-{visitor.principal.party_id}.json"'
    return Response(body, media_type="application/json", headers={**HEADERS, "content-disposition": disposition})


@router.post("/wallet/erase")
async def erase(request: Request, asked: Acting) -> Response:
    visitor, _ = asked
    party = visitor.principal.party_id
    try:
        await run_in_threadpool(platform_of(request).privacy.erase, visitor.principal, party or "")
    except PlatformError as exc:
        return problem_page(request, visitor, 404, said(request, exc))
    return RedirectResponse("/wallet?erased=1", 303)


@router.post("/wallet/close")
async def close(request: Request, asked: Acting) -> Response:
    visitor, fields = asked
    if fields.get("sure") != "1":
        title = translate(language(request), "Tick the box to say you mean it: nothing was closed.")
        return problem_page(request, visitor, 422, title)
    party = visitor.principal.party_id
    try:
        await run_in_threadpool(platform_of(request).privacy.close, visitor.principal, party or "")
    except PlatformError as exc:
        return problem_page(request, visitor, 404, said(request, exc))
    response = RedirectResponse("/?closed=1", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
