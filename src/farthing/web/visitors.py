"""Who is on a page, and what a page accepts from them: the signed-in person (a session, its CSRF token and
principal) and the forms they send.

Every form that changes something carries the session's CSRF token, and every POST must come from this
server's own pages (its `Origin`, when the browser sends one, is this server's): a form on another site
can neither act for a signed-in payer nor sign a payer in to someone else's account.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from farthing.bootstrap import Platform
from farthing.domain.principals import Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.users import SESSION_COOKIE, User, session_cookie
from farthing.web.locale import translate
from farthing.web.render import FormRefused, form, language, page

SAYS = {
    ErrorCode.authentication_failed: "Wrong email or password.",
    ErrorCode.account_locked: "Too many wrong passwords: wait a minute, then try again.",
    ErrorCode.card_declined: "The card was declined; nothing was charged.",
    ErrorCode.csrf_failed: "This form expired. Open the page again and resend it.",
}
"""Refusals as a page says them (translated in `farthing.web.messages`); others in the service's words."""


@dataclass(frozen=True)
class Visitor:
    user: User
    csrf: str
    principal: Principal
    token: str


def platform_of(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def visitor_of(request: Request) -> Visitor | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    users = platform_of(request).identity.users
    found = users.session(token, request.headers.get("user-agent"))
    if found is None:
        return None
    return Visitor(found[0], found[1], users.principal(found[0], token), token)


def said(request: Request, exc: PlatformError) -> str:
    """A refusal as the reader's language says it (the service's own words where no translation is kept)."""
    known = SAYS.get(exc.code)
    return translate(language(request), known) if known else exc.detail


def own_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


def set_session(request: Request, response: Response, token: str) -> None:
    response.set_cookie(**session_cookie(token, request.url.scheme, request.url.hostname or ""))


async def posted(request: Request, visitor: Visitor | None = None) -> dict[str, str] | Response:
    """The form's fields, or the page that refuses it: not a form, not from this server, or (for a
    signed-in visitor) without the session's CSRF token."""
    try:
        fields = await form(request)
    except FormRefused:
        return problem_page(request, None, 415, translate(language(request), "That was not a form."))
    if not own_origin(request) or (
        visitor is not None and not secrets.compare_digest(fields.get("csrf_token", ""), visitor.csrf)
    ):
        title = translate(language(request), SAYS[ErrorCode.csrf_failed])
        return problem_page(request, None, 403, title)
    return fields


async def acting(request: Request) -> tuple[Visitor, dict[str, str]] | Response:
    """The signed-in visitor and the form it sent, or where to go instead: the sign-in page for no
    session, the refusal of a form that is not this session's."""
    visitor = await run_in_threadpool(visitor_of, request)
    if visitor is None:
        return RedirectResponse("/wallet/signin", 303)
    fields = await posted(request, visitor)
    return fields if isinstance(fields, Response) else (visitor, fields)


def problem_page(request: Request, visitor: Visitor | None, status: int, title: str) -> Response:
    """A page that says, as its heading, why the visitor's request was not done."""
    return page(request, "problem.html", status, user=visitor and visitor.user, csrf=visitor and visitor.csrf,
                title=title)  # fmt: skip


class PageAnswer(Exception):
    """Raised where a page must answer otherwise than its handler would (sign in first; a refused form):
    `answer`, the app's handler for it, sends the response it carries."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def answer(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageAnswer)
    return exc.response


async def _acting(request: Request) -> tuple[Visitor, dict[str, str]]:
    done = await acting(request)
    if isinstance(done, Response):
        raise PageAnswer(done)
    return done


Acting = Annotated[tuple[Visitor, dict[str, str]], Depends(_acting)]
"""A handler's parameter for the signed-in visitor and the form it sent (`acting`): the handler runs only
for a session's own form."""


def local_next(value: str | None) -> str | None:
    """Where a page may send the visitor on (`?next=`): one of this server's own pages, never elsewhere."""
    if not value or len(value) > 200 or "//" in value or "\\" in value:
        return None
    return value if value.startswith(("/pay/", "/wallet")) else None
