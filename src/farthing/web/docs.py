"""`/docs`: the API's reference, Swagger UI from this server's own files (`static/vendor/swagger-ui`, from
npm's swagger-ui-dist), so it works without the internet; "Authorize" takes an API key (the OpenAPI
document declares the bearer scheme) and "Try it out" sends it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from farthing.web.render import page

router = APIRouter(include_in_schema=False)
DOCS_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
"""Swagger UI sets element styles as it draws; it runs no script but this server's."""


@router.get("/docs")
async def docs(request: Request) -> Response:
    return page(request, "docs.html", headers={"content-security-policy": DOCS_POLICY, "cache-control": "no-cache"})
