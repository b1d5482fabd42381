"""The merchant's webhook endpoints on its dashboard: made (the signing secret shown once), each one's
delivery log, an event delivered again on request, an endpoint deleted."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from farthing.bootstrap import Platform
from farthing.domain.principals import Principal
from farthing.errors import PlatformError
from farthing.web.locale import translate, when
from farthing.web.render import language, page
from farthing.web.visitors import Acting, platform_of, problem_page, said, visitor_of

router = APIRouter(include_in_schema=False)


def endpoints_of(platform: Platform, principal: Principal) -> list[dict[str, str]]:
    """The merchant's endpoints, for the dashboard."""
    return [
        {"id": e.id, "url": e.url, "events": ", ".join(e.events) or "*"} for e in platform.webhooks.endpoints(principal)
    ]


@router.post("/dashboard/webhooks")
async def add(request: Request, asked: Acting) -> Response:
    visitor, fields = asked
    try:
        endpoint_id, secret = await run_in_threadpool(platform_of(request).webhooks.create_endpoint,
                                                      visitor.principal, fields.get("url", ""))  # fmt: skip
    except PlatformError as exc:
        return problem_page(request, visitor, 422, said(request, exc))
    return await _endpoint_page(request, endpoint_id, 201, secret=secret)


@router.get("/dashboard/webhooks/{endpoint_id}")
async def endpoint(request: Request, endpoint_id: str) -> Response:
    redelivered = request.query_params.get("redelivered")
    notice = translate(language(request), "The event is on its way again.") if redelivered else None
    return await _endpoint_page(request, endpoint_id, 200, notice=notice)


@router.post("/dashboard/webhooks/{endpoint_id}/redeliver")
async def redeliver(request: Request, endpoint_id: str, asked: Acting) -> Response:
    visitor, fields = asked
    try:
        await run_in_threadpool(platform_of(request).webhooks.redeliver, visitor.principal, endpoint_id,
                                fields.get("event_id", ""))  # fmt: skip
    except PlatformError as exc:
        return problem_page(request, visitor, 404, said(request, exc))
    return RedirectResponse(f"/dashboard/webhooks/{endpoint_id}?redelivered=1", 303)


@router.post("/dashboard/webhooks/{endpoint_id}/delete")
async def delete(request: Request, endpoint_id: str, asked: Acting) -> Response:
    visitor, _ = asked
    try:
        await run_in_threadpool(platform_of(request).webhooks.delete_endpoint, visitor.principal, endpoint_id)
    except PlatformError as exc:
        return problem_page(request, visitor, 404, said(request, exc))
    return RedirectResponse("/dashboard", 303)


async def _endpoint_page(request: Request, endpoint_id: str, status: int, **context: object) -> Response:
    visitor = await run_in_threadpool(visitor_of, request)
    if visitor is None or visitor.principal.kind != "merchant":
        return RedirectResponse("/wallet/signin", 303)
    lang = language(request)
    webhooks = platform_of(request).webhooks
    try:
        found = await run_in_threadpool(webhooks.attempts, visitor.principal, endpoint_id)
        [here] = [e for e in await run_in_threadpool(webhooks.endpoints, visitor.principal) if e.id == endpoint_id]
    except (PlatformError, ValueError):
        title = translate(lang, "There is no such webhook endpoint.")
        return problem_page(request, visitor, 404, title)
    attempts = [{"event": a.event_id, "attempt": a.attempt, "status": a.status_code or a.error or "",
                 "when": when(a.at_ms, lang), "manual": a.manual} for a in reversed(found)]  # fmt: skip
    return page(request, "webhook.html", status, user=visitor.user, csrf=visitor.csrf, endpoint=here,
                attempts=attempts, **context)  # fmt: skip
