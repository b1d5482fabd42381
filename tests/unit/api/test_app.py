"""The assembled application: every router included, and the busiest routes answered by `LeanDispatch`."""

from __future__ import annotations

from fastapi.routing import APIRoute

from farthing.api.app import ROUTERS, create_app
from farthing.api.lean_route import LeanDispatch


def test_the_lean_routes_of_the_included_routers_are_dispatched_past_the_router() -> None:
    app = create_app(lambda: None)  # type: ignore[arg-type, return-value]
    learned = LeanDispatch(app)._learn(app)
    assert sorted(learned) == [
        ("POST", "/v1/devices/payments"), ("POST", "/v1/devices/payments/batch"), ("POST", "/v1/payments"),
        ("POST", "/v1/payments/batch"),
    ]  # fmt: skip


def test_every_route_of_every_router_is_in_the_openapi_document() -> None:
    app = create_app(lambda: None)  # type: ignore[arg-type, return-value]
    paths = app.openapi()["paths"]
    declared = {(m.lower(), r.path) for module in ROUTERS for r in module.router.routes if isinstance(r, APIRoute)
                for m in r.methods}  # fmt: skip
    assert declared and all(method in paths.get(path, {}) for method, path in declared)
