"""A page as the server renders it: Jinja2 templates (every value escaped), the reader's language, and the
headers every page carries (a content security policy that runs only this server's own scripts, no
framing, no caching of what may be personal)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from farthing.web.locale import COOKIE, LANGUAGES, NAMES, pick, translate

ENV = Environment(
    loader=PackageLoader("farthing.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
HEADERS = {
    "content-security-policy": POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}
FORM_BYTES_MAX = 16_384
"""A page's form is a few short fields; more is refused before it is read."""


def language(request: Request) -> str:
    return pick(request.query_params.get("lang"), request.cookies.get(COOKIE), request.headers.get("accept-language"))


def page(request: Request, template: str, status: int = 200, headers: Mapping[str, str] | None = None,
         **context: Any) -> HTMLResponse:  # fmt: skip
    """`template` rendered in the reader's language, with the security headers."""
    lang = language(request)
    html = ENV.get_template(template).render(
        lang=lang, _=lambda text: translate(lang, text), languages=[(c, NAMES[c]) for c in LANGUAGES], **context
    )
    response = HTMLResponse(html, status, headers={**HEADERS, **(headers or {})})
    if request.query_params.get("lang") in LANGUAGES:  # asked for: kept for the next pages
        response.set_cookie(COOKIE, lang, max_age=365 * 86_400, httponly=True, samesite="lax", path="/")
    return response


class FormRefused(Exception):
    """A form the server cannot read: not a form, or too large."""


async def form(request: Request) -> dict[str, str]:
    """The fields of a submitted form (`application/x-www-form-urlencoded`), the last of each name."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        raise FormRefused("not a form")
    body = await request.body()
    if len(body) > FORM_BYTES_MAX:
        raise FormRefused("too large")
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=32, strict_parsing=False))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormRefused("not a form") from exc
