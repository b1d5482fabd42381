"""Lean routes: the busiest routes answer without FastAPI's per-request dependency solving.

FastAPI works out, on every request, how to fill each parameter of the endpoint: for a payment that
was a fifth of the server's time (measured with py-spy under wrk), more than the payment itself.
A `LeanRoute` is declared like any route (FastAPI reads its signature for the OpenAPI document and
the schema is unchanged), but its handler is built once, at start-up, from that signature, and
accepts only the shapes it can fill without FastAPI: one JSON body (a pydantic model, parsed and
validated from the bytes in one pass by pydantic-core), string headers, and the dependencies named
in `RESOLVERS`. Any other parameter is refused when the app is built, never at request time.
`LeanDispatch`, the app's innermost middleware, then hands such requests straight to the handler.

Errors come out as FastAPI's would, in the same order: a body that is not JSON first (400), then the
dependencies (an unknown key: 401), then the body's fields (422, `RequestValidationError`).
"""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Resolver = Callable[[Request], Awaitable[Any]]

RESOLVERS: dict[Callable[..., Any], Resolver] = {}
"""The dependencies a lean route may have: the dependency's function → how to resolve it from the
request alone (registered by the module that defines the dependency)."""


def lean_dependency(dependency: Callable[..., Any]) -> Callable[[Resolver], Resolver]:
    def register(resolve: Resolver) -> Resolver:
        RESOLVERS[dependency] = resolve
        return resolve

    return register


def _missing_body() -> RequestValidationError:
    return RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}])


def _refused(model: type[BaseModel], raw: bytes) -> tuple[BaseModel | None, RequestValidationError | None]:
    """A body pydantic-core refused, read again the way FastAPI reads it (json.loads, then validation
    of the Python object), so that a lean route's errors are FastAPI's to the letter. Raises at once
    when the body is not JSON at all; otherwise returns the body (accepted that way after all) or the
    error to raise once the dependencies are resolved."""
    try:
        received = json.loads(raw)
    except json.JSONDecodeError as exc:
        error = {"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error", "input": {},
                 "ctx": {"error": exc.msg}}  # fmt: skip
        raise RequestValidationError([error], body=exc.doc) from None
    except ValueError:  # not UTF-8, for one
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from None
    try:
        return model.model_validate(received, from_attributes=True), None
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        return None, RequestValidationError(errors, body=received)


def lean_post(
    router: APIRouter | FastAPI, path: str, **options: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`@router.post(path, **options)` for a lean route (it stays lean once the router is included)."""

    def declare(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        target = router.router if isinstance(router, FastAPI) else router
        target.add_api_route(path, endpoint, methods=["POST"], route_class_override=LeanRoute, **options)
        return endpoint

    return declare


class LeanRoute(APIRoute):
    """A route whose handler fills the endpoint's parameters itself (see the module's docstring)."""

    lean_handler: Callable[[Request], Awaitable[Response]]

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        self.lean_handler = self._handler()
        return self.lean_handler

    def _handler(self) -> Callable[[Request], Awaitable[Response]]:
        dependant = self.dependant
        where = f"lean route {self.path}"
        for kind in ("path_params", "query_params", "cookie_params"):
            if getattr(dependant, kind):
                raise TypeError(f"{where}: {kind} are not supported")
        if len(dependant.body_params) != 1:
            raise TypeError(f"{where}: needs exactly one body parameter")
        [body_field] = dependant.body_params
        model = body_field.field_info.annotation
        if not (inspect.isclass(model) and issubclass(model, BaseModel)):
            raise TypeError(f"{where}: the body must be a pydantic model, not {model!r}")
        body_name = body_field.name
        for f in dependant.header_params:  # given as they come: only optional text is taken
            if f.field_info.is_required() or set(typing.get_args(f.field_info.annotation)) != {str, type(None)}:
                raise TypeError(f"{where}: header {f.name!r} must be optional text (str | None = None)")
        headers = [(f.name, (f.alias if f.alias != f.name else f.name.replace("_", "-")).lower())
                   for f in dependant.header_params]  # fmt: skip
        resolvers: list[tuple[str, Resolver]] = []
        for sub in dependant.dependencies:
            resolve = RESOLVERS.get(sub.call)  # type: ignore[arg-type]
            if resolve is None or sub.name is None:
                raise TypeError(f"{where}: dependency {sub.call!r} has no lean resolver")
            resolvers.append((sub.name, resolve))
        request_name = dependant.request_param_name
        call = dependant.call
        assert call is not None
        is_async = inspect.iscoroutinefunction(call)
        status_code = self.status_code or 200
        dump: Callable[[Any], bytes] = TypeAdapter(self.response_model or Any).dump_json  # made once

        async def handle(request: Request) -> Response:
            raw = await request.body()
            invalid: RequestValidationError | None = None
            body: BaseModel | None = None
            if not raw:
                invalid = _missing_body()
            else:
                try:
                    body = model.model_validate_json(raw)  # bytes to model in one pass, in Rust
                except ValidationError:
                    body, invalid = _refused(model, raw)
            values: dict[str, Any] = {name: await resolve(request) for name, resolve in resolvers}
            if invalid is not None:
                raise invalid
            headers_of: Mapping[str, str] = request.headers
            for name, alias in headers:
                values[name] = headers_of.get(alias)
            if request_name is not None:
                values[request_name] = request
            values[body_name] = body
            result = await call(**values) if is_async else await run_in_threadpool(call, **values)
            if isinstance(result, Response):
                return result
            return Response(dump(result), status_code=status_code, media_type="application/json")

        return handle


class LeanDispatch:
    """Pure ASGI middleware, the innermost of the app's own: a request for a lean route goes straight
    to its handler, past Starlette's exception middleware, FastAPI's exit stacks and the router (a
    quarter of a payment's time in the server, py-spy under wrk). Errors are answered by the app's own
    exception handlers, looked up as Starlette's `ExceptionMiddleware` does; an error without one (a
    bug) propagates to the outermost `ServerErrorMiddleware`, which answers 500 and logs it, as it
    would for any route. Lean routes have fixed paths, so `(method, path)` finds them exactly."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._routes: dict[tuple[str, str], Callable[[Request], Awaitable[Response]]] | None = None
        self._handlers: dict[Any, Any] = {}

    def _learn(self, app: Starlette) -> dict[tuple[str, str], Callable[[Request], Awaitable[Response]]]:
        routes = {}
        included = getattr(app.state, "lean_routers", ())  # FastAPI includes routers lazily: named here
        for route in [*app.router.routes, *(r for router in included for r in router.routes)]:
            if isinstance(route, LeanRoute):
                for method in route.methods or ():
                    routes[(method, route.path)] = route.lean_handler
        self._handlers = {k: v for k, v in app.exception_handlers.items() if k not in (500, Exception)}
        return routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if self._routes is None:
                self._routes = self._learn(scope["app"])
            handler = self._routes.get((scope["method"], scope["path"]))
            if handler is not None:
                scope["lean"] = True  # its path is its route's template (`farthing.api.observe`)
                await self._serve(handler, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _serve(
        self, handler: Callable[[Request], Awaitable[Response]], scope: Scope, receive: Receive, send: Send
    ) -> None:
        request = Request(scope, receive, send)
        try:
            response = await handler(request)
        except Exception as exc:
            answer = None
            if isinstance(exc, StarletteHTTPException):
                answer = self._handlers.get(exc.status_code)
            if answer is None:
                answer = next((self._handlers[c] for c in type(exc).__mro__ if c in self._handlers), None)
            if answer is None:
                raise
            response = await answer(request, exc) if inspect.iscoroutinefunction(answer) else answer(request, exc)
            exc.__traceback__ = None
        await response(scope, receive, send)
