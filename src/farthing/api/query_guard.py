"""Unknown query parameters refused: `?limt=5` or `?stauts=open` answers 422 naming what the route reads,
rather than a page that silently ignored the caller's filter (Stripe answers the same way)."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from farthing.errors import ErrorCode, PlatformError

_declared: dict[int, frozenset[str]] = {}


def _names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _names(sub)
    return names


async def known_query(request: Request) -> None:
    """A route's dependency: every query parameter sent is one the route declares."""
    if not request.query_params:
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    declared = _declared.get(id(route))
    if declared is None:
        declared = _declared[id(route)] = frozenset(_names(route.dependant))
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise PlatformError(
            ErrorCode.validation_failed, f"unknown query parameters {unknown[:5]!r}; this route reads: {known}"
        )
