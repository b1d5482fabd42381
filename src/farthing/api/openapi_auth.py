"""The OpenAPI document says who must send a key: every operation that authenticates its caller names the
bearer scheme (an API key, `sk_test_…` or `sk_live_…`), the public ones none. So the docs page's
"Authorize" takes a key and "Try it out" sends it, and a generated client knows which calls need one."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

SCHEME = "apiKey"
BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key (`sk_test_…` or `sk_live_…`); a signed-in person's session cookie also works.",
}


def document(app: FastAPI, authenticates: Callable[..., Any]) -> None:
    """Declare the scheme, and on each operation whether it is needed: needed where the route depends,
    at any depth, on `authenticates` (the dependency that finds the caller)."""
    written = app.openapi

    def openapi() -> dict[str, Any]:
        spec = written()
        components = spec.setdefault("components", {})
        if SCHEME not in components.get("securitySchemes", {}):
            components.setdefault("securitySchemes", {})[SCHEME] = BEARER
            keyed = {
                (method.lower(), route.path)
                for route in _api_routes(app.routes)
                if any(d.call is authenticates for d in _walk(route.dependant))
                for method in route.methods
            }
            for path, operations in spec.get("paths", {}).items():
                for method, operation in operations.items():
                    operation["security"] = [{SCHEME: []}] if (method, path) in keyed else []
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def _api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """The API routes, inside the routers included whole (FastAPI keeps those as routers of their own)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes)


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    for child in dependant.dependencies:
        yield child
        yield from _walk(child)
